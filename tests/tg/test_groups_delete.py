"""Groups in "delete" mode, through the Bot API emulator: an admin chooses it with /sentinel,
a high-risk post is deleted and the admins told with a Restore button that only admins may
press; without the right to delete, the bot says so once and replies instead."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.tg.removed import RemovedPosts
from tests.tg.conftest import Running, joined_group, render_png, running_bot

FAKE_CS_EN = (
    "Hello, this is customer service. Your parcel was damaged in transit and we will refund you "
    "twice the price. Please add me on WhatsApp to process the claim."
)
FAKE_CS_EN_2 = (
    "Hi, customer service here: your parcel was lost in transit, we will compensate you three "
    "times the price. Please add me on WhatsApp to get the refund."
)
FAKE_CS_ZH = "您好，我是快递理赔专员，您的包裹在运输途中丢失了，我们按三倍价格给您理赔，请加一下客服微信办理。"
ONCE_NOTE = "(I say this only once.)"


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


async def until(what: Callable[[], Any], timeout: float = 60.0) -> Any:
    """The first truthy value of ``what()``, polled until ``timeout`` (conditions, not sleeps)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := what()):
        if asyncio.get_running_loop().time() >= deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)
    return found


def answer_to(r: Running, query_id: str) -> Callable[[], dict[str, Any] | None]:
    def found() -> dict[str, Any] | None:
        return next((a for a in r.emu.callback_answers if a["callback_query_id"] == query_id), None)

    return found


def restore_data(notice: dict[str, Any]) -> str:
    [[button]] = notice["reply_markup"]["inline_keyboard"]
    assert button["text"] == "↩️ Restore"
    return str(button["callback_data"])


def transcript(r: Running, group: dict[str, Any], posts: list[dict[str, Any]]) -> str:
    """The group as its members see it now, in order (edits applied); what the bot deleted
    is marked so."""
    deleted = {m["message_id"] for m in r.emu.deleted_messages(group)}
    seen = [*posts, *r.emu.sent_messages(group)]
    lines = []
    for m in sorted(seen, key=lambda m: m["message_id"]):
        who = m["from"]["first_name"] if m["from"]["id"] != r.emu.bot_user["id"] else "Sentinel"
        if "sender_chat" in m:
            who = f"{m['sender_chat']['title']} (anonymous admin)"
        body = m.get("text") or f"[{'photo' if 'photo' in m else 'file'}] {m.get('caption', '')}"
        gone = "  [deleted by the bot]" if m["message_id"] in deleted else ""
        keys = [
            b["text"] for row in m.get("reply_markup", {}).get("inline_keyboard", []) for b in row
        ]
        lines.append(f"{who}: {body}{gone}" + (f"  {keys}" if keys else ""))
    return "\n".join(lines)


def test_an_admin_chooses_delete_a_scam_post_goes_and_only_admins_restore_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")

    async def go() -> None:
        async with running_bot(tmp_path) as r:
            emu = r.emu
            admin = emu.make_user("Ann", language_code="en")
            _, group, hello = await joined_group(r, "Neighbours", by=admin)
            assert "Delete messages" in hello["text"] and "privacy mode" in hello["text"]
            emu.set_admins(group, [admin, emu.bot_user])
            member = emu.make_user("Tom <b>&", language_code="en")
            posts = [
                emu.send_text(group, member, "/sentinel delete"),
            ]
            msgs = await emu.wait_for_messages(group, count=2)
            assert msgs[1]["text"] == "Only group admins can change this."
            posts.append(emu.send_text(group, member, "/sentinel"))
            msgs = await emu.wait_for_messages(group, count=3)
            modes = msgs[2]["text"]
            for mode in ("on —", "quiet —", "delete —", "off —", "Now: on"):
                assert mode in modes, modes
            assert "“Delete messages” right" in modes
            posts.append(emu.send_text(group, admin, "/sentinel delete"))
            msgs = await emu.wait_for_messages(group, count=4)
            assert msgs[3]["text"].startswith("Set to: delete (I delete high-risk scam posts")
            assert "not allowed" not in msgs[3]["text"]

            posts.append(emu.send_text(group, member, "see you at the meeting tonight"))
            scam = emu.send_text(group, member, FAKE_CS_EN)
            posts.append(scam)
            msgs = await emu.wait_for_messages(group, count=5)
            notice = msgs[4]
            assert [m["message_id"] for m in emu.deleted_messages(group)] == [scam["message_id"]]
            assert notice["text"].startswith("🛡 I deleted a post that looks like a “Fake courier")
            assert "(high risk)" in notice["text"] and "press Restore" in notice["text"]
            # Neither the scam's words nor its contact channel are repeated.
            assert "WhatsApp" not in notice["text"] and "reply_to_message" not in notice
            data = restore_data(notice)

            query = emu.press_button(group, member, notice, data)
            refused = await until(answer_to(r, query))
            assert refused["text"] == "Only the group's admins can restore a deleted post."
            assert refused["show_alert"] is True
            assert len(emu.sent_messages(group)) == 5

            query = emu.press_button(group, admin, notice, data)
            assert (await until(answer_to(r, query)))["text"] == "Restored."
            msgs = await emu.wait_for_messages(group, count=6)
            restored = msgs[5]["text"]
            # The name is shown as written, not read as markup.
            assert restored == (
                "↩️ Restored by an admin — originally posted by Tom <b>&\n\n" + FAKE_CS_EN
            )
            edited = await until(
                lambda: next(
                    (m for m in emu.sent_messages(group) if "restored this post" in m["text"]),
                    None,
                )
            )
            assert edited["message_id"] == notice["message_id"]
            assert "reply_markup" not in edited
            posts.append(emu.send_text(group, member, "/help"))
            msgs = await emu.wait_for_messages(group, count=7)
            assert "Make me an admin" in msgs[6]["text"] and "privacy mode" in msgs[6]["text"]
            assert "“Delete messages” right" in msgs[6]["text"]
            print("\n" + transcript(r, group, posts))

    run(go())
    # Kept in memory only: neither the post nor the poster's name reached a log or a file.
    assert "WhatsApp" not in caplog.text and "Tom" not in caplog.text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"WhatsApp" not in data and b"Tom <b>" not in data, path


def test_a_scam_picture_is_restored_with_its_caption_and_a_lost_copy_is_said_to_be_gone(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            emu = r.emu
            admin = emu.make_user("Lin", language_code="zh-hans")
            _, group, _ = await joined_group(r, "邻居群", by=admin)
            emu.set_admins(group, [admin, emu.bot_user])
            emu.send_text(group, admin, "/sentinel delete")
            msgs = await emu.wait_for_messages(group, count=2)
            assert msgs[1]["text"].startswith("已设置：delete（删除高风险诈骗消息")
            member = emu.make_user("阿明", language_code="zh-hans")
            picture = emu.send_photo(group, member, render_png(["包裹理赔"]), caption=FAKE_CS_ZH)
            msgs = await emu.wait_for_messages(group, count=3)
            notice = msgs[2]
            assert notice["text"].startswith("🛡 我删除了一条很像“冒充快递或电商客服")
            assert "（高风险）" in notice["text"] and "理赔" not in notice["text"].split("”")[-1]
            assert [m["message_id"] for m in emu.deleted_messages(group)] == [picture["message_id"]]
            [[button]] = notice["reply_markup"]["inline_keyboard"]
            assert button["text"] == "↩️ 恢复"
            query = emu.press_button(group, admin, notice, button["callback_data"])
            assert (await until(answer_to(r, query)))["text"] == "已恢复。"
            msgs = await emu.wait_for_messages(group, count=4)
            # The same picture, sent again by its file_id (nothing was downloaded or kept).
            [sent] = [q.params for q in emu.requests if q.method == "sendPhoto"]
            assert sent["photo"] == picture["photo"][-1]["file_id"] and "photo" in msgs[3]
            assert msgs[3]["caption"] == "↩️ 管理员已恢复——原发送者：阿明\n\n" + FAKE_CS_ZH

            # A copy this process no longer has (an hour later, a restart, another worker).
            emu.send_text(group, member, FAKE_CS_ZH)
            msgs = await emu.wait_for_messages(group, count=5)
            r.deps.removed = RemovedPosts()
            [[button]] = msgs[4]["reply_markup"]["inline_keyboard"]
            query = emu.press_button(group, admin, msgs[4], button["callback_data"])
            gone = await until(answer_to(r, query))
            assert gone["text"].startswith("抱歉，这条消息的副本已经不在了") and gone["show_alert"]
            assert len(emu.sent_messages(group)) == 5

    run(go())


def test_without_the_right_to_delete_the_bot_says_so_once_and_replies_instead(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            emu = r.emu
            admin = emu.make_user("Ann", language_code="en")
            _, group, _ = await joined_group(r, "Neighbours", by=admin)
            emu.set_admins(group, [admin, emu.bot_user])
            emu.set_bot_rights(group, admin, can_delete_messages=False)
            # The group's anonymous admin chooses the mode (answered in the bot's default
            # language: @GroupAnonymousBot has none); told at once that it cannot work yet.
            anonymous = emu.post_as_chat(group, "/sentinel delete")
            msgs = await emu.wait_for_messages(group, count=2)
            assert msgs[1]["text"].startswith("已设置：delete")
            assert "我在这里还没有删除消息的权限" in msgs[1]["text"]
            member = emu.make_user("Bob", language_code="en")
            first = emu.send_text(group, member, FAKE_CS_EN)
            second = emu.send_text(group, member, FAKE_CS_EN_2)
            posts = [first, second]
            msgs = await emu.wait_for_messages(group, count=4)
            replies = {m["reply_to_message"]["message_id"]: m["text"] for m in msgs[2:]}
            assert set(replies) == {first["message_id"], second["message_id"]}
            assert all("Heads up" in text and ONCE_NOTE not in text for text in replies.values())
            assert emu.deleted_messages(group) == []

            # Given the right, it deletes; the right taken away again: said once more, once.
            emu.set_bot_rights(group, admin, can_delete_messages=True)
            posts.append(emu.send_text(group, member, FAKE_CS_EN))
            msgs = await emu.wait_for_messages(group, count=5)
            assert msgs[4]["text"].startswith("🛡 I deleted a post")
            emu.set_bot_rights(group, admin, can_delete_messages=False)
            later = [emu.send_text(group, member, text) for text in (FAKE_CS_EN, FAKE_CS_EN_2)]
            msgs = await emu.wait_for_messages(group, count=7)
            replies = {m["reply_to_message"]["message_id"]: m["text"] for m in msgs[5:]}
            assert set(replies) == {m["message_id"] for m in later}
            assert sum(ONCE_NOTE in text for text in replies.values()) == 1
            assert len(emu.deleted_messages(group)) == 1
            # An admin's own post (quoting a scam to warn the group) is only warned about.
            emu.set_bot_rights(group, admin, can_delete_messages=True)
            quoted = emu.send_text(group, admin, FAKE_CS_EN_2)
            msgs = await emu.wait_for_messages(group, count=8)
            assert msgs[7]["reply_to_message"]["message_id"] == quoted["message_id"]
            assert len(emu.deleted_messages(group)) == 1
            print("\n" + transcript(r, group, [anonymous, *posts, *later, quoted]))

    run(go())
