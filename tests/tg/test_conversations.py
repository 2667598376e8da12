"""Commands, buttons, bad input and flood control, as a person meets them."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import update

from bot.storage.models import Subscription, utcnow
from tests.tg.conftest import joined_group, running_bot
from tests.tg.test_e2e import FAKE_CS_EN, FAKE_CS_ZH, buttons, details_of, run


def test_start_help_privacy_and_language_choice(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="en")
            chat = r.emu.private_chat(user)
            r.emu.send_text(chat, user, "/start")
            [start] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            assert "Forward" in start["text"] and "don't keep your messages" in start["text"]
            assert "Region: United Kingdom" in start["text"] and "/region" in start["text"]
            assert buttons(start) == ["简体中文", "繁體中文", "English"]
            r.emu.press_button(chat, user, start, "lang:zh-hant")
            await r.emu.wait_for_messages(chat["id"], count=2, timeout=60)
            r.emu.send_text(chat, user, "/privacy")
            msgs = await r.emu.wait_for_messages(chat["id"], count=3, timeout=60)
            assert "我不保存" in msgs[2]["text"] and "訊息原文" in msgs[2]["text"]
            r.emu.send_text(chat, user, "/help")
            msgs = await r.emu.wait_for_messages(chat["id"], count=4, timeout=60)
            assert "轉傳" in msgs[3]["text"]
            commands = [q for q in r.emu.requests if q.method.lower() == "setmycommands"]
            assert len(commands) >= 3

    run(go())


def test_a_reader_of_a_language_the_bot_does_not_speak_is_answered_in_english(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="ru")
            chat = r.emu.private_chat(user)
            r.emu.send_text(chat, user, "/start")
            [start] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            assert "Forward" in start["text"], start["text"]

    run(go())


def test_mydata_and_forget(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            r.emu.send_text(chat, user, FAKE_CS_ZH)
            await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            r.emu.send_text(chat, user, "/mydata")
            msgs = await r.emu.wait_for_messages(chat["id"], count=2, timeout=60)
            assert "检查记录 1 条" in msgs[1]["text"]
            # /forget asks first; Cancel keeps everything, the delete button deletes it.
            r.emu.send_text(chat, user, "/forget")
            msgs = await r.emu.wait_for_messages(chat["id"], count=3, timeout=60)
            assert "无法恢复" in msgs[2]["text"]
            assert buttons(msgs[2]) == ["🗑 全部删除", "✖ 取消"]
            r.emu.press_button(chat, user, msgs[2], "fg:no")
            msgs = await r.emu.wait_for_messages(chat["id"], count=4, timeout=60)
            assert "没有删除" in msgs[3]["text"]
            assert not msgs[2].get("reply_markup")  # answered: its buttons are gone
            r.emu.send_text(chat, user, "/mydata")
            msgs = await r.emu.wait_for_messages(chat["id"], count=5, timeout=60)
            assert "检查记录 1 条" in msgs[4]["text"]
            r.emu.send_text(chat, user, "/forget")
            msgs = await r.emu.wait_for_messages(chat["id"], count=6, timeout=60)
            r.emu.press_button(chat, user, msgs[5], "fg:yes")
            msgs = await r.emu.wait_for_messages(chat["id"], count=7, timeout=60)
            assert "已删除" in msgs[6]["text"]
            r.emu.send_text(chat, user, "/mydata")
            msgs = await r.emu.wait_for_messages(chat["id"], count=8, timeout=60)
            assert "检查记录 0 条" in msgs[7]["text"]

    run(go())


def test_feedback_and_report_with_consent_store_only_redacted_text(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            r.emu.send_text(chat, user, FAKE_CS_ZH + "联系电话13812345678")
            [verdict] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            data = {
                b["text"]: b["callback_data"]
                for row in verdict["reply_markup"]["inline_keyboard"]
                for b in row
            }
            r.emu.press_button(chat, user, verdict, data["👍 有帮助"])
            r.emu.press_button(chat, user, verdict, data["📨 提交给审核员"])
            for _ in range(600):
                current = r.emu.sent_messages(chat["id"])[0]
                if "确认" in "".join(buttons(current)):
                    break
                await asyncio.sleep(0.1)
            confirm = {
                b["text"]: b["callback_data"]
                for row in current["reply_markup"]["inline_keyboard"]
                for b in row
            }
            r.emu.press_button(chat, user, current, confirm["✅ 确认提交（去除个人信息）"])
            for _ in range(600):
                if len(r.emu.callback_answers) >= 3:
                    break
                await asyncio.sleep(0.1)
            assert any("已提交" in (a.get("text") or "") for a in r.emu.callback_answers)
            await r.deps.writer.flush()
            from sqlalchemy import select

            from bot.storage.models import Feedback, Report

            # The 👍 is acknowledged at once and stored just after: wait for it (a busy
            # machine may store it after the report).
            for _ in range(600):
                async with r.deps.sessions() as s:
                    reports = (await s.execute(select(Report.redacted_text))).scalars().all()
                    votes = (await s.execute(select(Feedback.vote))).scalars().all()
                if votes:
                    break
                await asyncio.sleep(0.1)
            assert votes == ["helpful"]
            assert len(reports) == 1 and "13812345678" not in reports[0] and "[phone]" in reports[0]

    run(go())


def test_bad_input_gets_a_specific_answer(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path, SENTINEL_ENGINE__MAX_TEXT_CHARS="500") as r:
            user = r.emu.make_user(language_code="en")
            chat = r.emu.private_chat(user)
            expected = []
            r.emu.send_text(chat, user, "x" * 600)
            expected.append("too long")
            r.emu.send_sticker(chat, user)
            expected.append("stickers")
            r.emu.send_voice(chat, user, duration=3)
            expected.append("voice")
            r.emu.send_document(
                chat, user, b"%PDF-1.4 ...", file_name="a.pdf", mime_type="application/pdf"
            )
            expected.append("only read pictures")
            r.emu.send_document(
                chat, user, b"not really a png", file_name="a.png", mime_type="image/png"
            )
            expected.append("couldn't open that image")
            r.emu.send_text(chat, user, "\u200b \u200b")
            expected.append("empty")
            msgs = await r.emu.wait_for_messages(chat["id"], count=len(expected), timeout=60)
            texts = sorted(m["text"] for m in msgs)
            for piece in expected:
                assert any(piece in t for t in texts), (piece, texts)

    run(go())


def test_flooding_is_slowed_with_one_polite_notice(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(
            tmp_path,
            SENTINEL_TELEGRAM__FLOOD_BURST="3",
            SENTINEL_TELEGRAM__FLOOD_EVERY_SECONDS="30",
        ) as r:
            user = r.emu.make_user(language_code="en")
            chat = r.emu.private_chat(user)
            for i in range(8):
                r.emu.send_text(chat, user, f"hello there number {i}")
            await r.emu.wait_for_messages(chat["id"], count=4, timeout=60)
            await asyncio.sleep(1.0)
            texts = [m["text"] for m in r.emu.sent_messages(chat["id"])]
            assert len(texts) == 4
            assert sum("sending messages quickly" in t for t in texts) == 1

    run(go())


def test_group_admins_can_switch_the_bot_off(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            admin, group, _ = await joined_group(r)
            other = r.emu.make_user(language_code="zh-hans")
            r.emu.set_admins(group, [admin])
            r.emu.send_text(group, other, "/sentinel off")
            msgs = await r.emu.wait_for_messages(group["id"], count=2, timeout=60)
            assert "只有群管理员" in msgs[1]["text"]
            r.emu.send_text(group, admin, "/sentinel off")
            msgs = await r.emu.wait_for_messages(group["id"], count=3, timeout=60)
            assert "off" in msgs[2]["text"]
            r.emu.send_text(group, other, FAKE_CS_ZH)
            await asyncio.sleep(1.0)
            assert len(r.emu.sent_messages(group["id"])) == 3

    run(go())


def test_hidden_links_are_checked(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="en")
            chat = r.emu.private_chat(user)
            text = "Details here"
            entities = [
                {
                    "type": "text_link",
                    "offset": 8,
                    "length": 4,
                    "url": "http://jd-lipei.cn/refund/claim",
                }
            ]
            r.emu.send_text(chat, user, text, entities=entities)
            [reply] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            # "Details here" alone matches nothing; the hidden look-alike link does.
            assert "Phishing link dressed up as a well-known brand" in reply["text"], reply["text"]

    run(go())


def test_an_image_over_the_size_limit_is_refused_before_download(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path, SENTINEL_TELEGRAM__MAX_IMAGE_MB="1") as r:
            user = r.emu.make_user(language_code="zh-hant")
            chat = r.emu.private_chat(user)
            big = b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024)
            r.emu.send_document(chat, user, big, file_name="huge.png", mime_type="image/png")
            [reply] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            assert "太大" in reply["text"] and "1 MB" in reply["text"]
            assert not [q for q in r.emu.requests if q.method.lower() == "getfile"]

    run(go())


def test_a_failure_inside_still_gets_an_answer(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:

            def broken() -> object:
                raise RuntimeError("engine exploded")

            r.deps.engine = broken  # type: ignore[assignment]
            user = r.emu.make_user(language_code="en")
            chat = r.emu.private_chat(user)
            r.emu.send_text(chat, user, "Is this message a scam?")
            [reply] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            assert "something went wrong" in reply["text"]
            assert "don't pay anything" in reply["text"]

    run(go())


def test_a_forwarded_conversation_with_a_screenshot_gets_one_reply(tmp_path: Path) -> None:
    from tests.tg.conftest import render_png

    async def go() -> None:
        async with running_bot(tmp_path, SENTINEL_TELEGRAM__FLOOD_BURST="3") as r:
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            r.emu.send_text(
                chat,
                user,
                "您好，我是京东客服，您买的商品检测出质量问题，需要给您办理退款。",
                forwarded=True,
            )
            shot = render_png(["我们按订单金额的三倍给您赔偿，", "请您加一下理赔专员的微信。"])
            r.emu.send_photo(chat, user, shot, forwarded=True)
            for text in (
                "好的",
                "请下载会议软件并开启屏幕共享，我一步步教您操作激活退款通道。",
                "嗯",
                "然后呢",
            ):
                r.emu.send_text(chat, user, text, forwarded=True)
            await r.emu.wait_for_messages(chat["id"], count=1, timeout=30)
            await asyncio.sleep(2.0)
            sent = r.emu.sent_messages(chat["id"])
            assert len(sent) == 1, [m["text"][:30] for m in sent]  # no flood notice, no split
            details = await details_of(r.emu, chat, user, sent[0])
            # The screenshot counted: its offer of compensation is a stage of the same reply.
            assert "第 4 步" in details["text"] and "高额赔偿" in details["text"], details["text"]

    run(go())


def test_digest_command_sends_the_chart_with_the_digest_as_caption(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="en")
            chat = r.emu.private_chat(user)
            r.emu.send_text(chat, user, FAKE_CS_ZH)
            await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            r.emu.send_text(chat, user, "/digest")
            msgs = await r.emu.wait_for_messages(chat["id"], count=2, timeout=30)
            await asyncio.sleep(0.5)
            assert len(r.emu.sent_messages(chat["id"])) == 2  # short enough for one message
            assert "photo" in msgs[1]
            assert "messages were checked this week" in msgs[1]["caption"]

    run(go())


def test_a_database_outage_never_costs_a_warning(tmp_path: Path) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.storage.db import session_factory

    async def go() -> None:
        async with running_bot(tmp_path) as r:
            gone = create_async_engine("sqlite+aiosqlite:////proc/no-such-dir/x.db")
            good_sessions = r.deps.sessions
            r.deps.sessions = session_factory(gone)
            r.deps.writer.sessions = session_factory(gone)
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            r.emu.send_text(chat, user, FAKE_CS_ZH)
            [reply] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            assert "高风险" in reply["text"]
            # The database returns: the hit that waited is written, once.
            r.deps.sessions = good_sessions
            r.deps.writer.sessions = good_sessions
            assert await r.deps.writer.flush()
            from sqlalchemy import func, select

            from bot.storage.models import Hit

            async with good_sessions() as s:
                stored = (await s.execute(select(func.count()).select_from(Hit))).scalar_one()
            assert stored == 1
            await gone.dispose()

    run(go())


def test_subscribe_and_unsubscribe(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="en")
            chat = r.emu.private_chat(user)
            r.emu.send_text(chat, user, "/subscribe")
            msgs = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            assert "Subscribed to the weekly scam report: every Monday at 09:00" in msgs[0]["text"]
            r.emu.send_text(chat, user, "/unsubscribe")
            msgs = await r.emu.wait_for_messages(chat["id"], count=2, timeout=60)
            assert "Unsubscribed" in msgs[1]["text"]
            member, group, _ = await joined_group(r)
            r.emu.send_text(group, member, "/subscribe")
            msgs = await r.emu.wait_for_messages(group["id"], count=2, timeout=60)
            assert "只有群管理员" in msgs[1]["text"]

    run(go())


def test_the_scheduled_broadcast_delivers_once_through_telegram(tmp_path: Path) -> None:
    from bot.tg.app import _digest

    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            r.emu.send_text(chat, user, "/subscribe")
            await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            # Subscribed before last Monday's send time, so last week's digest is due now.
            async with r.deps.sessions() as s, s.begin():
                await s.execute(
                    update(Subscription).values(created_at=utcnow() - dt.timedelta(days=8))
                )
            assert r.app.job_queue is not None
            r.app.job_queue.run_once(_digest, 0)
            msgs = await r.emu.wait_for_messages(chat["id"], count=2, timeout=30)
            assert "反诈速报" in msgs[1]["caption"] and "photo" in msgs[1]
            assert r.deps.broadcasting is not None
            await r.deps.broadcasting
            r.app.job_queue.run_once(_digest, 0)
            await asyncio.sleep(1.0)
            assert r.deps.broadcasting is not None
            await r.deps.broadcasting
            assert len(r.emu.sent_messages(chat["id"])) == 2  # not twice in one week

    run(go())


def test_a_reply_asking_is_this_a_scam_checks_the_message_it_points_at(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            pasted = r.emu.send_text(chat, user, "朋友发来的：" + FAKE_CS_ZH)
            await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            r.emu.send_text(chat, user, "这是诈骗吗？", reply_to=pasted)
            msgs = await r.emu.wait_for_messages(chat["id"], count=2, timeout=60)
            assert msgs[1]["text"].startswith("🔎 检查的是你回复"), msgs[1]["text"][:80]
            assert "高风险" in msgs[1]["text"]
            # A quote of part of a message is what gets checked, in English too.
            other = r.emu.make_user(language_code="en")
            chat2 = r.emu.private_chat(other)
            long = r.emu.send_text(chat2, other, "Weather is nice today. " + FAKE_CS_EN)
            await r.emu.wait_for_messages(chat2["id"], count=1, timeout=60)
            r.emu.send_text(chat2, other, "is this a scam?", reply_to=long, quote=FAKE_CS_EN)
            msgs2 = await r.emu.wait_for_messages(chat2["id"], count=2, timeout=60)
            assert msgs2[1]["text"].startswith("🔎 I checked the message you replied to")
            assert "High risk" in msgs2[1]["text"]
            # The same question about the bot's own reply is just a message to check.
            r.emu.send_text(chat2, other, "is this a scam?", reply_to=msgs2[1])
            msgs2 = await r.emu.wait_for_messages(chat2["id"], count=3, timeout=60)
            assert not msgs2[2]["text"].startswith("🔎")

    run(go())


def test_start_and_digest_in_a_group_and_sentinel_in_private_each_get_an_answer(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            admin, group, _ = await joined_group(r)
            r.emu.send_text(group, admin, "/start")
            msgs = await r.emu.wait_for_messages(group["id"], count=2, timeout=60)
            assert "/sentinel" in msgs[1]["text"] and "/check" in msgs[1]["text"]
            r.emu.send_text(group, admin, "/digest")
            msgs = await r.emu.wait_for_messages(group["id"], count=3, timeout=60)
            assert "photo" in msgs[2] or "本周" in msgs[2].get("text", "")
            chat = r.emu.private_chat(admin)
            r.emu.send_text(chat, admin, "/sentinel on")
            [answer] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            assert "群组设置" in answer["text"]

    run(go())


def test_an_album_gets_one_check_and_one_reply(tmp_path: Path) -> None:
    from tests.tg.conftest import render_png

    async def go() -> None:
        # A burst of 2: an album of 3 pictures still counts as one request, read whole.
        async with running_bot(tmp_path, SENTINEL_TELEGRAM__FLOOD_BURST="2") as r:
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            # A chat shown in three screenshots, sent as one album (one message each).
            shots = [
                ["您好，我是快递理赔专员"],
                ["您的包裹在运输途中丢失了"],
                ["我们三倍理赔，请加客服微信办理"],
            ]
            for lines in shots:
                r.emu.send_photo(chat, user, render_png(lines), media_group_id="album-1")
            await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            # Two files that cannot be checked, in one album: one refusal.
            for name in ("a.pdf", "b.pdf"):
                r.emu.send_document(
                    chat, user, b"%PDF-1.4 ...", file_name=name, media_group_id="album-2"
                )
            await r.emu.wait_for_messages(chat["id"], count=2, timeout=60)
            await asyncio.sleep(2.0)
            texts = [m["text"] for m in r.emu.sent_messages(chat["id"])]
            assert len(texts) == 2, [t[:40] for t in texts]
            assert "快递" in texts[0] and "风险" in texts[0]
            assert "图片" in texts[1]

    run(go())


def test_region_is_chosen_with_region_and_survives_a_change_of_language(tmp_path: Path) -> None:
    """An English reader in Australia is not sent to Action Fraud: /region offers every region
    with a hotline, the choice shows in every warning, and choosing a language later keeps it."""

    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="en")
            chat = r.emu.private_chat(user)
            r.emu.send_text(chat, user, "/region")
            [ask] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            offered = buttons(ask)
            assert "Australia" in offered and "Taiwan" in offered and len(offered) >= 10
            assert "United Kingdom" in ask["text"]  # plain "en" starts as the UK
            r.emu.press_button(chat, user, ask, "rg:AU")
            _, done = await r.emu.wait_for_messages(chat["id"], count=2, timeout=60)
            assert "Australia" in done["text"] and "scamwatch.gov.au" in done["text"]
            r.emu.send_text(chat, user, FAKE_CS_EN)
            *_, verdict = await r.emu.wait_for_messages(chat["id"], count=3, timeout=60)
            assert "scamwatch.gov.au" in verdict["text"] and "Action Fraud" not in verdict["text"]
            r.emu.send_text(chat, user, "/lang")
            *_, lang = await r.emu.wait_for_messages(chat["id"], count=4, timeout=60)
            r.emu.press_button(chat, user, lang, "lang:zh-hant")
            await r.emu.wait_for_messages(chat["id"], count=5, timeout=60)
            r.emu.send_text(chat, user, FAKE_CS_ZH)
            *_, zh = await r.emu.wait_for_messages(chat["id"], count=6, timeout=60)
            assert "scamwatch.gov.au" in zh["text"] and "165" not in zh["text"]

    run(go())
