"""End to end through the Bot API emulator with the real python-telegram-bot: what a person
sees when they forward a message, a screenshot or a QR code, in private chats and groups."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import configure_logging
from tests.tg.conftest import joined_group, qr_png, render_png, running_bot

FAKE_CS_ZH = "您好，我是快递理赔专员，您的包裹在运输途中丢失了，我们按三倍价格给您理赔，请加一下客服微信办理。"
FAKE_CS_HANT = (
    "您好，我是快遞理賠專員，您的包裹在運送途中遺失了，我們按三倍價格給您理賠，請加客服微信辦理。"
)
FAKE_CS_EN = (
    "Hello, this is customer service. Your parcel was damaged in transit and we will refund you "
    "twice the price. Please add me on WhatsApp to process the claim."
)
# Medium risk: a lost parcel and a compensation offer, no contact to move to yet.
MEDIUM_ZH = "您的包裹在运输途中丢失了，我们三倍理赔"
COURIER_NOTICE = "【菜鸟驿站】您的包裹已到达小区驿站，凭取件码 6-2-1033 取件，营业时间 8:00-21:00。"


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def buttons(msg: dict) -> list[str]:
    markup = msg.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def details_of(emu: Any, chat: dict, user: dict, reply: dict, timeout: float = 60) -> dict:
    """``reply`` after ``user`` pressed its "Details" button (it is edited in place)."""
    markup = reply.get("reply_markup") or {}
    data = next(
        b["callback_data"]
        for row in markup.get("inline_keyboard", [])
        for b in row
        if b["callback_data"].startswith("dt:d:")
    )
    emu.press_button(chat, user, reply, data)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        now = next(
            m for m in emu.sent_messages(chat["id"]) if m["message_id"] == reply["message_id"]
        )
        if now["text"] != reply["text"]:
            return now
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the reply was not edited into its details")
        await asyncio.sleep(0.02)


def test_forwarded_scam_in_three_languages(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            for code, text, expect in (
                (
                    "zh-hans",
                    FAKE_CS_ZH,
                    ["高风险", "冒充快递或电商客服", "你已到第 3 步", "接下来对方可能会", "96110"],
                ),
                (
                    "zh-hant",
                    FAKE_CS_HANT,
                    ["高風險", "冒充快遞或電商客服", "你已經到第 3 步", "接下來對方可能會", "165"],
                ),
                (
                    "en",
                    FAKE_CS_EN,
                    [
                        "High risk",
                        "Fake courier or online-shop customer service",
                        "You are at step 3",
                        "What they will ask next",
                    ],
                ),
            ):
                user = r.emu.make_user(first_name="A", language_code=code)
                chat = r.emu.private_chat(user)
                r.emu.send_text(chat, user, text, forwarded=True)
                [reply] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
                # The first screen names the risk and the type; "Details" the step and what
                # comes next, in the same message.
                for piece in expect[:2]:
                    assert piece in reply["text"], (code, reply["text"])
                assert reply["reply_to_message"]["message_id"]
                assert len(buttons(reply)) == 5  # details, family card, 👍, 👎, report
                details = await details_of(r.emu, chat, user, reply)
                for piece in expect:
                    assert piece in details["text"], (code, details["text"])

    run(go())


def test_benign_courier_notice_is_not_called_safe(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            r.emu.send_text(chat, user, COURIER_NOTICE)
            [reply] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            assert "未匹配到已知的诈骗模式" in reply["text"]
            assert "安全" not in reply["text"]
            en = r.emu.make_user(language_code="en")
            en_chat = r.emu.private_chat(en)
            r.emu.send_text(
                en_chat,
                en,
                "Your parcel has been delivered to your safe place. Thanks for shopping with us.",
            )
            [en_reply] = await r.emu.wait_for_messages(en_chat["id"], count=1, timeout=60)
            assert "No known scam pattern matched" in en_reply["text"]
            assert "is safe" not in en_reply["text"]

    run(go())


def test_screenshot_and_qr_code(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            shot = render_png(
                [
                    "您好，我是快递理赔专员，您的包裹丢失了，",
                    "我们按三倍价格给您理赔，",
                    "请加客服微信办理退款。",
                ]
            )
            r.emu.send_photo(chat, user, shot)
            [reply] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=30)
            assert "高风险" in reply["text"] and "冒充快递" in reply["text"]  # the words were read

            r.emu.send_photo(
                chat, user, qr_png("http://jd-lipei.cn/sanbei-lipei/refund?kefu=weixin")
            )
            replies = await r.emu.wait_for_messages(chat["id"], count=2, timeout=30)
            assert "风险" in replies[1]["text"] and "未匹配" not in replies[1]["text"], replies[1][
                "text"
            ]

    run(go())


def test_three_forwarded_messages_get_one_reply_with_the_furthest_stage(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            for text in (
                "您好，我是京东客服，您买的商品检测出质量问题，需要给您办理退款。",
                "我们按订单金额的三倍给您赔偿，请您加一下理赔专员的微信。",
                "请下载会议软件并开启屏幕共享，我一步步教您操作激活退款通道。",
            ):
                r.emu.send_text(chat, user, text, forwarded=True)
            replies = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            await asyncio.sleep(1.5)  # nothing more may arrive
            replies = r.emu.sent_messages(chat["id"])
            assert len(replies) == 1
            details = await details_of(r.emu, chat, user, replies[0])
            assert "第 4 步" in details["text"], details["text"]

    run(go())


def test_groups_warn_once_on_scams_and_stay_quiet_otherwise(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            _, group, hello = await joined_group(r, "邻居群")
            members = [r.emu.make_user(language_code="zh-hans") for _ in range(5)]
            chatter = [
                "今晚小区停水吗？",
                "快递到了，我下楼拿一下",
                "周末一起去爬山吧",
                "谁家的猫跑出来了",
                "物业说明天修电梯",
                "这家奶茶不错，推荐",
                "孩子的作业写完了吗",
                "我的快递好像丢了，明天去问问",
                "收到，谢谢",
                "哈哈哈哈",
                "早上好",
                "有人拼车去机场吗",
            ]
            for i in range(204):
                r.emu.send_text(
                    group, members[i % 5], chatter[i % len(chatter)] + ("" if i < 12 else f" {i}")
                )
            scam = r.emu.send_text(group, members[0], FAKE_CS_ZH)
            warnings = await r.emu.wait_for_messages(group["id"], count=2, timeout=60)
            await asyncio.sleep(1.0)
            sent = r.emu.sent_messages(group["id"])
            assert len(sent) == 2, [m["text"][:40] for m in sent]
            assert sent[0]["message_id"] == hello["message_id"]
            assert sent[1]["reply_to_message"]["message_id"] == scam["message_id"]
            assert "提醒" in warnings[1]["text"]

    run(go())


def test_posts_signed_by_an_anonymous_admin_or_a_channel_are_checked_but_channels_get_silence(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            admin, group, _ = await joined_group(r)
            anonymous = r.emu.post_as_chat(group, FAKE_CS_ZH)
            channel = r.emu.channel_chat("频道")
            signed = r.emu.post_as_chat(group, FAKE_CS_EN, as_chat=channel)
            warnings = await r.emu.wait_for_messages(group["id"], count=3, timeout=60)
            answered = {w["reply_to_message"]["message_id"] for w in warnings[1:]}
            assert answered == {anonymous["message_id"], signed["message_id"]}
            # In a channel itself the bot never speaks, whatever is posted there.
            r.emu.channel_post(channel, FAKE_CS_ZH)
            r.emu.send_text(group, admin, "收到")  # handled after the channel post
            await asyncio.sleep(1.0)
            assert r.emu.sent_messages(channel["id"]) == []
            assert len(r.emu.sent_messages(group["id"])) == 3

    run(go())


def test_check_or_a_mention_in_reply_to_a_group_post_checks_that_post(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            _, group, _ = await joined_group(r)
            poster, asker = r.emu.make_user(), r.emu.make_user(language_code="zh-hans")
            # Medium risk: the bot does not speak up in a group on its own.
            post = r.emu.send_text(group, poster, "我是你领导，换了个号，明天来我办公室一趟")
            r.emu.send_text(group, asker, "/check", reply_to=post)
            msgs = await r.emu.wait_for_messages(group["id"], count=2, timeout=60)
            assert msgs[1]["text"].startswith("🔎 检查的是你回复"), msgs[1]["text"][:80]
            assert "中风险" in msgs[1]["text"]
            # For the whole group: only "Details", no one person's feedback or report buttons.
            assert buttons(msgs[1]) == ["🔎 详细分析"]
            username = r.emu.bot_user["username"]
            r.emu.send_text(group, asker, f"@{username} 这个可信吗", reply_to=post)
            msgs = await r.emu.wait_for_messages(group["id"], count=3, timeout=60)
            assert "中风险" in msgs[2]["text"]
            r.emu.send_text(group, asker, "/check")  # pointing at nothing: how to use it
            msgs = await r.emu.wait_for_messages(group["id"], count=4, timeout=60)
            assert "/check" in msgs[3]["text"] and "回复" in msgs[3]["text"]

    run(go())


def test_commands_for_other_bots_in_a_group_are_not_counted_against_the_poster(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with running_bot(tmp_path, SENTINEL_TELEGRAM__FLOOD_BURST="3") as r:
            _, group, _ = await joined_group(r)
            member = r.emu.make_user(language_code="zh-hans")
            for _ in range(10):
                r.emu.send_text(group, member, "/roll@dice_bot")
            scam = r.emu.send_text(group, member, FAKE_CS_ZH)
            msgs = await r.emu.wait_for_messages(group["id"], count=2, timeout=60)
            # No "you're sending quickly" notice: the post after them is warned about.
            assert msgs[1]["reply_to_message"]["message_id"] == scam["message_id"]
            assert "提醒" in msgs[1]["text"]

    run(go())


def test_forwards_from_a_user_a_group_and_a_channel_with_the_legacy_fields_are_answered(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            scammer = r.emu.make_user(first_name="客服")
            group = r.emu.group_chat(title="群")
            channel = r.emu.channel_chat("频道")
            origins = [
                {"type": "user", "sender_user": scammer, "date": 1700000000},
                {"type": "chat", "sender_chat": group, "date": 1700000000},
                {"type": "channel", "chat": channel, "message_id": 9, "date": 1700000000},
            ]
            for i, origin in enumerate(origins, start=1):
                sent = r.emu.send_text(chat, user, FAKE_CS_ZH, forwarded=origin)
                assert "forward_date" in sent  # as Telegram still sends it
                replies = await r.emu.wait_for_messages(chat["id"], count=i, timeout=60)
                assert "高风险" in replies[-1]["text"]
                assert replies[-1]["reply_to_message"]["message_id"] == sent["message_id"]
                await asyncio.sleep(0.6)  # past the conversation window: one check each

    run(go())


def test_429_and_5xx_still_deliver_exactly_once(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="en")
            chat = r.emu.private_chat(user)
            r.emu.inject_fault(status=429, retry_after=1, methods={"sendMessage"}, count=1)
            r.emu.inject_fault(status=500, methods={"sendMessage"}, count=2)
            r.emu.send_text(chat, user, FAKE_CS_EN)
            await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            await asyncio.sleep(1.0)
            assert len(r.emu.sent_messages(chat["id"])) == 1

    run(go())


def test_a_group_post_edited_into_a_scam_is_caught(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            _, group, _ = await joined_group(r)
            poster = r.emu.make_user(language_code="zh-hans")
            post = r.emu.send_text(group, poster, "大家好，新人报到")
            await asyncio.sleep(0.5)
            r.emu.edit_text(group, poster, post, FAKE_CS_ZH)
            warnings = await r.emu.wait_for_messages(group["id"], count=2, timeout=60)
            assert warnings[1]["reply_to_message"]["message_id"] == post["message_id"]
            r.emu.edit_text(group, poster, post, FAKE_CS_ZH + "。")
            await asyncio.sleep(1.0)
            assert len(r.emu.sent_messages(group["id"])) == 2  # still once per message

    run(go())


UNREADABLE = {
    "message": {
        "message_id": 1,
        "date": 1700000000,
        "chat": {"id": 0, "type": "private", "first_name": "Zhangsecretname"},
        "from": {"id": 0, "is_bot": False, "first_name": "Zhangsecretname"},
        # An older poll shape: python-telegram-bot 22 cannot build a Poll from it.
        "poll": {"id": "1", "question": "私密问题内容"},
    }
}


@pytest.mark.usefixtures("logging_restored")
def test_an_update_the_library_cannot_read_is_skipped_without_stalling_or_leaking(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging("DEBUG")  # as the bot runs with --log-level DEBUG

    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="zh-hans", first_name="Zhangsecretname")
            chat = r.emu.private_chat(user)
            bad = json.loads(json.dumps(UNREADABLE))
            bad["message"]["chat"]["id"] = bad["message"]["from"]["id"] = user["id"]
            r.emu.enqueue_unchecked(bad)
            r.emu.send_text(chat, user, FAKE_CS_ZH)  # queued behind it
            [warning] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            assert "高风险" in warning["text"]
            polls = [q for q in r.emu.requests if q.method.lower() == "getupdates"]
            assert len(polls) < 20, len(polls)  # not the same batch fetched again and again

    run(go())
    assert "skipped: it cannot be read (TypeError)" in caplog.text
    # Not a name or a text in any log line, at any level (the library's own loggers included).
    leaks = {
        (r.name, r.levelname, r.lineno)
        for r in caplog.records
        if "Zhangsecretname" in r.getMessage() or "私密问题内容" in r.getMessage()
    }
    assert leaks == set()


def test_a_business_account_owner_is_warned_privately_and_the_customer_never_answered(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            owner = r.emu.make_user(language_code="zh-hans")
            own_chat = r.emu.private_chat(owner)  # the owner started the bot
            customer = r.emu.make_user(language_code="zh-hans")
            connection = r.emu.connect_business(owner)
            r.emu.send_business_message(connection, customer, "你好，请问几点营业？")
            r.emu.send_business_message(connection, owner, FAKE_CS_ZH, customer=customer)
            r.emu.send_business_message(connection, customer, FAKE_CS_ZH)
            [warning] = await r.emu.wait_for_messages(own_chat["id"], count=1, timeout=60)
            assert "客户" in warning["text"] and "冒充快递" in warning["text"]
            r.emu.send_business_message(connection, customer, FAKE_CS_ZH + "快点")
            # Commands typed in the business chat are the owner's and the customer's talk,
            # not requests to the bot.
            r.emu.send_business_message(connection, customer, "/help")
            r.emu.send_business_message(connection, owner, "/rules", customer=customer)
            await asyncio.sleep(1.5)
            # One warning for that customer for a while; nothing said in the business chat.
            assert len(r.emu.sent_messages(own_chat["id"])) == 1
            assert r.emu.sent_messages(customer["id"]) == []

    run(go())


def test_a_business_message_edited_into_a_scam_warns_the_owner_once_unless_it_got_worse(
    tmp_path: Path,
) -> None:
    """Edits of customers' messages are checked like new ones ("say hello, then edit in the
    scam"); a customer already warned about is not warned about again for a while, unless the
    risk got worse (medium, then high)."""

    async def go() -> None:
        async with running_bot(tmp_path) as r:
            owner = r.emu.make_user(language_code="zh-hans")
            own_chat = r.emu.private_chat(owner)
            connection = r.emu.connect_business(owner)
            first, second = (r.emu.make_user(language_code="zh-hans") for _ in range(2))
            hello = r.emu.send_business_message(connection, first, "你好，请问几点营业？")
            r.emu.edit_business_message(hello, "你好，请问周末营业吗？")  # still harmless
            r.emu.edit_business_message(hello, FAKE_CS_ZH)
            [warning] = await r.emu.wait_for_messages(own_chat["id"], count=1, timeout=60)
            assert "冒充快递" in warning["text"]
            r.emu.edit_business_message(hello, FAKE_CS_ZH + "快点")  # already warned: quiet
            # Another customer: a medium-risk message, then an edit that makes it high risk.
            medium = r.emu.send_business_message(connection, second, MEDIUM_ZH)
            r.emu.send_business_message(connection, second, MEDIUM_ZH + "。")  # same: quiet
            await r.emu.wait_for_messages(own_chat["id"], count=2, timeout=60)
            r.emu.edit_business_message(medium, FAKE_CS_ZH)
            warnings = await r.emu.wait_for_messages(own_chat["id"], count=3, timeout=60)
            await asyncio.sleep(1.5)
            assert len(r.emu.sent_messages(own_chat["id"])) == 3
            assert "冒充快递" in warnings[1]["text"] and "冒充快递" in warnings[2]["text"]
            assert r.emu.sent_messages(first["id"]) == r.emu.sent_messages(second["id"]) == []

    run(go())
