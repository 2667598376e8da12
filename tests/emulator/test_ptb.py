"""The real python-telegram-bot works against the emulator, as it would against Telegram."""

from __future__ import annotations

import asyncio

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot.emulator import BotApiEmulator

TOKEN = "123456:TEST-TOKEN"


def test_bot_calls_get_me_and_send_message_with_keyboard() -> None:
    async def main() -> None:
        emu = BotApiEmulator(token=TOKEN, bot_username="sentinel_demo_bot")
        await emu.start(port=0)
        try:
            chat = emu.private_chat(emu.make_user("Ann", language_code="zh-hans"))
            bot = Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url)
            async with bot:
                me = await bot.get_me()
                assert me.username == "sentinel_demo_bot" and me.is_bot
                keyboard = InlineKeyboardMarkup(
                    [[InlineKeyboardButton("为什么？", callback_data="why:1")]]
                )
                sent = await bot.send_message(
                    chat["id"],
                    "<b>高风险</b>：冒充客服",
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard,
                )
                assert sent.text == "高风险：冒充客服"
                assert sent.entities[0].type == "bold"
            [stored] = emu.sent_messages(chat["id"])
            assert stored["message_id"] == sent.message_id
            assert stored["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "why:1"
            assert emu.invalid_requests == []
        finally:
            await emu.stop()

    asyncio.run(main())


def test_application_polling_receives_a_message_and_replies() -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(f"收到：{update.message.text}", do_quote=True)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("Hi")

    async def main() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start(port=0)
        app = (
            Application.builder()
            .token(TOKEN)
            .base_url(emu.base_url)
            .base_file_url(emu.base_file_url)
            .build()
        )
        app.add_handler(CommandHandler("start", start))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
        try:
            user = emu.make_user("Ann", language_code="zh-hans")
            chat = emu.private_chat(user)
            async with app:
                await app.start()
                assert app.updater is not None
                await app.updater.start_polling(poll_interval=0.0, timeout=1)
                emu.send_text(chat, user, "/start")
                emu.send_text(chat, user, "请加微信", forwarded=True)
                replies = await emu.wait_for_messages(chat["id"], count=2, timeout=5)
                await app.updater.stop()
                await app.stop()
            by_text = {m["text"]: m for m in replies}
            assert by_text.keys() == {"Hi", "收到：请加微信"}
            quoted = by_text["收到：请加微信"]["reply_to_message"]
            assert (
                quoted["text"] == "请加微信" and quoted["forward_origin"]["type"] == "hidden_user"
            )
            assert emu.invalid_requests == []
            assert emu.pending_updates == []  # PTB confirmed what it handled
        finally:
            await emu.stop()

    asyncio.run(main())


def test_every_simulated_message_kind_parses_in_ptb_and_files_download() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (64).to_bytes(4, "big") * 2 + b"\x00\r\n"

    async def main() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start(port=0)
        try:
            user = emu.make_user("Ann", language_code="en")
            chat = emu.private_chat(user)
            group = emu.group_chat(title="Neighbours")
            emu.add_bot_to_group(group, by=user)
            emu.send_text(chat, user, "see https://bit.ly/x and @someone_else /help")
            emu.send_photo(chat, user, png, caption="pay here", forwarded=True)
            emu.send_document(chat, user, b"%PDF-1.4", file_name="invoice.pdf")
            emu.send_sticker(chat, user)
            emu.send_voice(chat, user, duration=7)
            bot = Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url)
            async with bot:
                updates = await bot.get_updates()
                member, text, photo, document, sticker, voice = updates
                assert member.my_chat_member is not None
                assert member.my_chat_member.new_chat_member.status == "member"
                assert text.message is not None
                kinds = [e.type for e in text.message.entities]
                assert kinds == ["url", "mention", "bot_command"]
                assert photo.message is not None and photo.message.forward_origin is not None
                assert photo.message.caption == "pay here"
                assert document.message is not None and document.message.document is not None
                assert document.message.document.mime_type == "application/pdf"
                pdf = await (await document.message.document.get_file()).download_as_bytearray()
                assert bytes(pdf) == b"%PDF-1.4"
                assert sticker.message is not None and sticker.message.sticker is not None
                assert voice.message is not None and voice.message.voice is not None
                assert voice.message.voice.file_size == 64
        finally:
            await emu.stop()

    asyncio.run(main())
