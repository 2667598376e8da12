"""The bot's administrator rights in a group, as Telegram reports and enforces them: what
getChatMember says, what deleteMessage allows, and the update sent when they change."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot, ChatMemberAdministrator
from telegram.error import BadRequest

from bot.emulator import BotApiEmulator

TOKEN = "123456:TEST-TOKEN"


def test_deleting_others_messages_in_a_supergroup_needs_the_can_delete_messages_right() -> None:
    async def main() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start(port=0)
        try:
            owner, member = emu.make_user("Ann"), emu.make_user("Bob")
            group = emu.group_chat("g")
            emu.add_bot_to_group(group, by=owner)
            bot = Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url)
            async with bot:
                first = emu.send_text(group, member, "one")
                with pytest.raises(BadRequest, match="can't be deleted"):
                    await bot.delete_message(group["id"], first["message_id"])  # a member
                emu.set_admins(group, [emu.bot_user], owner=owner)
                me = await bot.get_chat_member(group["id"], bot.id)
                assert isinstance(me, ChatMemberAdministrator) and me.can_delete_messages
                changed = emu.set_bot_rights(group, owner, can_delete_messages=False)
                old, new = (
                    changed["my_chat_member"][k] for k in ("old_chat_member", "new_chat_member")
                )
                assert old["can_delete_messages"] and not new["can_delete_messages"]
                me = await bot.get_chat_member(group["id"], bot.id)
                assert isinstance(me, ChatMemberAdministrator) and not me.can_delete_messages
                with pytest.raises(BadRequest, match="can't be deleted"):
                    await bot.delete_message(group["id"], first["message_id"])
                [admin] = [
                    m for m in await bot.get_chat_administrators(group["id"]) if m.user.is_bot
                ]
                assert isinstance(admin, ChatMemberAdministrator) and not admin.can_delete_messages
                emu.set_bot_rights(group, owner, can_delete_messages=True)
                assert await bot.delete_message(group["id"], first["message_id"])
                assert [m["text"] for m in emu.deleted_messages(group)] == ["one"]
                with pytest.raises(ValueError, match="no such rights"):
                    emu.set_bot_rights(group, owner, can_fly=True)
            # Only the two refusals above: every other request was valid.
            refused = [(q.method, q.description) for q in emu.invalid_requests]
            assert refused == [("deleteMessage", "Bad Request: message can't be deleted")] * 2
        finally:
            await emu.stop()

    asyncio.run(main())
