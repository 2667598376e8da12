"""Moderators change the rules from Telegram, end to end through the emulator: only they can,
every bad input is refused with the live rules untouched, a confirmed edit reaches another
process within seconds, rollback restores the old behaviour, and everything is audited."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.storage.models import AuditLog, Hit
from tests.tg.conftest import Running, running_bot
from tests.tg.test_e2e import FAKE_CS_ZH, run

ADMIN, MOD, OTHER, MOD2 = 900001, 900002, 900003, 900004
ENV = {"SENTINEL_MODERATION__ADMINS": f"[{ADMIN}]"}
RULE = "fake-courier-cs"
# An answer to an edit waits for the whole rule set to be built and checked (examples, the
# baseline, the cost on it): seconds on a quiet machine, several times that on a busy one.
WAIT = 180


class Chat:
    """One person's private chat with the bot."""

    def __init__(self, r: Running, user_id: int) -> None:
        self.r = r
        self.user = r.emu.make_user(first_name="M", language_code="en", user_id=user_id)
        self.chat = r.emu.private_chat(self.user)

    def seen(self) -> int:
        return len(self.r.emu.sent_messages(self.chat["id"]))

    async def say(self, text: str, n: int = 1) -> list[dict[str, Any]]:
        before = self.seen()
        self.r.emu.send_text(self.chat, self.user, text)
        msgs = await self.r.emu.wait_for_messages(self.chat["id"], count=before + n, timeout=WAIT)
        return msgs[before:]

    async def upload(self, data: bytes, name: str, caption: str | None = "why: test") -> str:
        before = self.seen()
        self.r.emu.send_document(self.chat, self.user, data, file_name=name, caption=caption)
        msgs = await self.r.emu.wait_for_messages(self.chat["id"], count=before + 1, timeout=WAIT)
        return str(msgs[before]["text"])

    async def press(self, msg: dict[str, Any], index: int, n: int = 1) -> list[dict[str, Any]]:
        data = [b["callback_data"] for row in msg["reply_markup"]["inline_keyboard"] for b in row]
        before = self.seen()
        self.r.emu.press_button(self.chat, self.user, msg, data[index])
        msgs = await self.r.emu.wait_for_messages(self.chat["id"], count=before + n, timeout=WAIT)
        return msgs[before:]


async def _actions(r: Running) -> list[tuple[str, str]]:
    async with r.deps.sessions() as s:
        rows = await s.execute(select(AuditLog.action, AuditLog.target).order_by(AuditLog.id))
        return [(a, t) for a, t in rows.all()]


async def rules_list(mod: Chat) -> dict[str, Any]:
    """/rules, its messages joined: the 44 bundled rules with their titles take two."""
    parts = await mod.say("/rules", n=2)
    return {"text": "\n".join(m["text"] for m in parts)}


async def _moderator(r: Running, user_id: int = MOD) -> Chat:
    mod = Chat(r, user_id)  # they have started the bot, so it can set their command menu
    admin = Chat(r, ADMIN)
    [answer] = await admin.say(f"/mod add {user_id}")
    assert "Moderator added" in answer["text"]
    return mod


def test_a_non_moderator_can_read_or_change_nothing_and_is_audited(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path, **ENV) as r:
            other = Chat(r, OTHER)
            before = copy.deepcopy(r.deps.live.files)
            for command in (
                "/rules",
                f"/rule {RULE}",
                f"/history {RULE}",
                f"/disable {RULE}\nwhy: x",
                f"/rollback {RULE}",
                "/reviews",
                f"/mod add {OTHER}",
            ):
                [answer] = await other.say(command)
                assert "moderators" in answer["text"] or "Only admins" in answer["text"]
                assert RULE not in answer["text"]
            text = await other.upload(b"id: x\n", f"{RULE}.yaml")
            assert "for moderators" in text
            assert r.deps.live.files == before
            refused = [t for a, t in await _actions(r) if a == "refused"]
            assert refused == [
                "rules",
                "rule",
                "history",
                "disable",
                "rollback",
                "reviews",
                "mod",
                "on_rule_file",
            ]

    run(go())


def test_disable_then_rollback_through_confirm_with_history_and_audit(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path, **ENV) as r:
            mod = await _moderator(r)
            assert r.deps.engine().check(FAKE_CS_ZH).rule.id == RULE  # type: ignore[union-attr]
            live_version = r.deps.live.get(RULE).version  # type: ignore[union-attr]

            [refused] = await mod.say(f"/disable {RULE}")
            assert "Say why" in refused["text"]
            [preview] = await mod.say(f"/disable {RULE}\nwhy: too many false alarms this week")
            assert f"version {live_version} → {live_version + 1}" in preview["text"]
            assert "+status: disabled" in preview["text"]
            # Nothing changes before Confirm.
            assert r.deps.engine().check(FAKE_CS_ZH).rule.id == RULE  # type: ignore[union-attr]
            [done] = await mod.press(preview, 0)
            assert f"version {live_version + 1} is live" in done["text"]
            verdict = r.deps.engine().check(FAKE_CS_ZH)
            assert verdict.rule is None or verdict.rule.id != RULE

            [preview] = await mod.say(f"/rollback {RULE}\nwhy: back to the bundled rule")
            [done] = await mod.press(preview, 0)
            assert f"version {live_version + 2} is live" in done["text"]
            assert r.deps.engine().check(FAKE_CS_ZH).rule.id == RULE  # type: ignore[union-attr]

            [history] = await mod.say(f"/history {RULE}")
            assert f"v{live_version + 2}" in history["text"] and "bundled file" in history["text"]
            assert "too many false alarms" in history["text"]
            actions = await _actions(r)
            assert ("rule.status.disabled", f"{RULE}@{live_version + 1}") in actions
            assert (f"rule.rollback.v{live_version}", f"{RULE}@{live_version + 2}") in actions

            # A double tap on an old Confirm changes nothing.
            [again] = await mod.press(preview, 0)
            assert "no longer waiting" in again["text"]

    run(go())


def _alias_bomb() -> bytes:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    return ("\n".join(lines) + "\n").encode()


def test_bad_edits_are_refused_with_a_specific_error_and_nothing_changes(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path, **ENV) as r:
            mod = await _moderator(r)
            original = r.deps.live.get(RULE)
            assert original is not None
            good = original.text
            cases = {
                "malformed": (good.replace("stages:", "stages: [", 1), f"{RULE}.yaml", ":"),
                "alias bomb": (_alias_bomb(), f"{RULE}.yaml", "alias"),
                "huge": (good + "#" * 70_000, f"{RULE}.yaml", "too large"),
                "re2": (
                    good.replace("regex:", "regex:\n          - '(?<=x)理赔'", 1),
                    f"{RULE}.yaml",
                    "regex",
                ),
                "examples": (
                    good.replace(
                        "  scam:\n", "  scam:\n    - 今天天气很好，我们去公园散步吧。\n", 1
                    ),
                    f"{RULE}.yaml",
                    "scam example did not reach low risk",
                ),
                "duplicate id": (good, "another-rule.yaml", "must equal the file name"),
                "stale version": (
                    good.replace(f"version: {original.version}", "version: 1", 1),
                    f"{RULE}.yaml",
                    "Conflict",
                ),
            }
            before = copy.deepcopy(r.deps.live.files)
            for name, (content, file_name, expected) in cases.items():
                data = content.encode() if isinstance(content, str) else content
                text = await mod.upload(data, file_name)
                assert expected in text, (name, text)
                assert "Confirm" not in text, name
                assert r.deps.live.files == before, name
            malformed = await mod.upload(cases["malformed"][0].encode(), f"{RULE}.yaml")
            assert f"{RULE}.yaml:" in malformed  # names the file and line

    run(go())


def test_racing_edits_the_second_sees_a_conflict(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path, **ENV) as r:
            first = await _moderator(r)
            second = await _moderator(r, MOD2)
            [p1] = await first.say(f"/addphrase {RULE} compensation 十倍理赔\nwhy: seen this week")
            [p2] = await second.say(f"/status {RULE} testing\nwhy: checking it quietly")
            assert "Confirm" in str(p1["reply_markup"]) and "Confirm" in str(p2["reply_markup"])
            [ok] = await first.press(p1, 0)
            assert "is live" in ok["text"]
            [clash] = await second.press(p2, 0)
            assert "Conflict" in clash["text"]
            rule = r.deps.live.get(RULE)
            assert rule is not None and "十倍理赔" in rule.text and "status: active" in rule.text

    run(go())


def test_an_edit_in_one_process_is_in_force_in_another_within_seconds(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path, **ENV) as a, running_bot(tmp_path, **ENV) as b:
            assert b.deps.engine().check(FAKE_CS_ZH).rule.id == RULE  # type: ignore[union-attr]
            mod = await _moderator(a)
            [preview] = await mod.say(f"/disable {RULE}\nwhy: pause it")
            await mod.press(preview, 0)
            loop = asyncio.get_running_loop()
            start = loop.time()
            while (v := b.deps.engine().check(FAKE_CS_ZH)).rule is not None and v.rule.id == RULE:
                assert loop.time() - start < 5.0, "process B still uses the old rule"
                await asyncio.sleep(0.1)

    run(go())


def test_a_testing_rule_warns_nobody_but_its_hits_are_counted(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path, **ENV) as r:
            mod = await _moderator(r)
            [preview] = await mod.say(f"/status {RULE} testing\nwhy: shadow mode first")
            await mod.press(preview, 0)
            user = Chat(r, 900100)
            [answer] = await user.say(FAKE_CS_ZH)
            assert "冒充快递" not in answer["text"] and "理赔" not in answer["text"].split("\n")[0]
            await r.deps.writer.flush()
            async with r.deps.sessions() as s:
                shadow = (
                    (await s.execute(select(Hit.rule_id).where(Hit.shadow.is_(True))))
                    .scalars()
                    .all()
                )
            assert RULE in shadow
            rules = await rules_list(mod)
            assert f"{RULE} testing" in rules["text"]
            assert "Fake courier or online-shop customer service" in rules["text"]  # its title
            # A moderator's /help lists the moderator commands; an admin's /mod says how to
            # find the id it needs.
            [help_text] = await mod.say("/help")
            assert "/reviews" in help_text["text"] and "/rollback" in help_text["text"]
            [usage] = await Chat(r, ADMIN).say("/mod")
            assert "@userinfobot" in usage["text"]
            [ordinary] = await user.say("/help")
            assert "/reviews" not in ordinary["text"]

    run(go())


def test_a_report_becomes_an_example_in_one_tap_through_the_same_checks(tmp_path: Path) -> None:
    from bot.storage.models import Report
    from bot.storage.queries import add_report

    async def go() -> None:
        async with running_bot(tmp_path, **ENV) as r:
            mod = await _moderator(r)
            [empty] = await mod.say("/reviews")
            assert "Nothing to review" in empty["text"]
            report_id = await add_report(
                r.deps.sessions,
                pseudonym="0" * 64,
                text="您好，我是快递理赔专员，包裹丢失了，给您双倍理赔，请加客服QQ 12345678 办理。",
                rule_id=RULE,
                risk="high",
                lang="zh-hans",
            )
            [item] = await mod.say("/reviews")
            assert f"Report #{report_id}" in item["text"] and "12345678" not in item["text"]
            [preview] = await mod.press(item, 0)  # scam example of fake-courier-cs
            assert "+    - " in preview["text"] and "Confirm" in str(preview["reply_markup"])
            [done] = await mod.press(preview, 0)
            assert "is live" in done["text"]
            async with r.deps.sessions() as s:
                report = await s.get(Report, report_id)
            assert report is not None and report.status == "accepted"
            rule = r.deps.live.get(RULE)
            assert rule is not None and "双倍理赔" in rule.text
            [after] = await mod.say("/reviews")
            assert "Nothing to review" in after["text"]

    run(go())


def test_moderators_hear_weekly_about_rules_past_their_review_date(tmp_path: Path) -> None:
    from bot.tg.moderation import review_reminder

    async def go() -> None:
        async with running_bot(tmp_path, **ENV) as r:
            mod = await _moderator(r)
            rule = r.deps.live.get(RULE)
            assert rule is not None
            overdue = rule.text.replace("severity:", "review_by: 2020-01-01\nseverity:", 1)
            preview = await mod.upload(overdue.encode(), rule.name, "why: ask for a review")
            assert "Confirm" in preview
            last = r.emu.sent_messages(mod.chat["id"])[-1]
            await mod.press(last, 0)
            assert r.app.job_queue is not None
            before = mod.seen()
            r.app.job_queue.run_once(review_reminder, 0)
            await r.emu.wait_for_messages(mod.chat["id"], count=before + 1, timeout=60)
            assert "past their review date" in r.emu.sent_messages(mod.chat["id"])[-1]["text"]
            assert RULE in r.emu.sent_messages(mod.chat["id"])[-1]["text"]
            r.app.job_queue.run_once(review_reminder, 0)  # the same week: not again
            await asyncio.sleep(1.0)
            assert mod.seen() == before + 1

    run(go())


def test_feedback_and_reports_carry_the_rule_they_answer(tmp_path: Path) -> None:
    """Before: 👎 was stored with no rule and a report with risk "unknown", so /rules showed
    👎0 after a vote and /reviews could not offer the report as an example of its rule."""
    from bot.storage.models import Feedback, Report

    async def go() -> None:
        async with running_bot(tmp_path, **ENV) as r:
            mod = await _moderator(r)
            user = Chat(r, 900200)
            [verdict] = await user.say(FAKE_CS_ZH)
            live_version = r.deps.live.get(RULE).version  # type: ignore[union-attr]
            data = [
                b["callback_data"]
                for row in verdict["reply_markup"]["inline_keyboard"]
                for b in row
            ]
            wrong = next(d for d in data if d.startswith("fb:w:"))
            ask = next(d for d in data if d.startswith("rp:ask:"))
            r.emu.press_button(user.chat, user.user, verdict, wrong)
            r.emu.press_button(user.chat, user.user, verdict, ask)
            for _ in range(600):
                current = r.emu.sent_messages(user.chat["id"])[0]
                yes = [
                    b["callback_data"]
                    for row in current["reply_markup"]["inline_keyboard"]
                    for b in row
                    if b["callback_data"].startswith("rp:yes:")
                ]
                if yes:
                    break
                await asyncio.sleep(0.1)
            r.emu.press_button(user.chat, user.user, current, yes[0])
            for _ in range(600):
                async with r.deps.sessions() as s:
                    reports = (await s.execute(select(Report))).scalars().all()
                    votes = (await s.execute(select(Feedback))).scalars().all()
                if reports and votes:
                    break
                await asyncio.sleep(0.1)
            assert [(v.vote, v.rule_id, v.rule_version) for v in votes] == [
                ("wrong", RULE, live_version)
            ]
            [report] = reports
            assert (report.rule_id, report.rule_version, report.risk) == (
                RULE,
                live_version,
                "high",
            )
            rules = await rules_list(mod)
            line = next(
                ln for ln in rules["text"].splitlines() if f"{RULE}</code>" in ln or RULE in ln
            )
            assert "👎1" in line, line
            items = await mod.say("/reviews", n=2)
            [item] = [m for m in items if "Report #" in m["text"]]
            assert f"matched: {RULE} v{live_version}, risk high" in item["text"]
            labels = [b["text"] for row in item["reply_markup"]["inline_keyboard"] for b in row]
            assert f"➕ scam example of {RULE}" in labels

    run(go())


def test_hostile_uploads_are_refused_and_a_broken_revision_blocks_nothing(tmp_path: Path) -> None:
    """Before: ``id : x`` previewed "0 of 0 scam examples", was stored under the id '' and
    made every later rebuild fail, so another moderator's confirmed /disable never took
    effect; 800 bytes of nested YAML answered "something went wrong"; a rule of costly RE2
    patterns was accepted."""
    from bot.storage.moderation import commit_revision

    other_rule = "pay-to-account-lures"

    async def go() -> None:
        async with running_bot(tmp_path, **ENV) as r:
            mod = await _moderator(r)
            original = r.deps.live.get(RULE)
            assert original is not None
            before = copy.deepcopy(r.deps.live.files)

            spaced = original.text.replace(f"id: {RULE}", f"id : {RULE}", 1)
            preview = await mod.upload(
                spaced.replace("severity:", "review_by: 2030-01-01\nseverity:", 1).encode(),
                f"{RULE}.yaml",
            )
            assert "Confirm" in preview and "0 of 0 scam" not in preview, preview
            assert (
                f"Change to {RULE}: version {original.version} → {original.version + 1}" in preview
            )

            deep = "id: deep-rule\nversion: 1\nstages:\n  - " + "[" * 400 + "]" * 400 + "\n"
            text = await mod.upload(deep.encode(), "deep-rule.yaml")
            assert "deep-rule.yaml:4: YAML: nested more than 32 levels deep" in text, text
            costly = original.text.replace(
                "regex:", "regex:\n          - '[\\p{L}\\p{N}]{1000}x'", 1
            )
            text = await mod.upload(costly.encode(), f"{RULE}.yaml")
            assert "too costly" in text and "Confirm" not in text, text
            assert r.deps.live.files == before

            # A revision stored by the old code under the id '' (it cannot be built).
            await commit_revision(
                r.deps.sessions,
                rule_id="",
                base_version=0,
                yaml_text=original.text.replace(f"id: {RULE}", f"id : {RULE}-2", 1),
                diff="",
                reason="old upload",
                author="x" * 64,
                action="upload",
                version=1,
            )
            await r.deps.live.refresh(r.deps.sessions)
            other = r.deps.live.get(other_rule)
            assert other is not None
            [preview] = await mod.say(f"/disable {other_rule}\nwhy: too many false alarms")
            [done] = await mod.press(preview, 0)
            assert f"{other_rule} version {other.version + 1} is live" in done["text"]
            assert all(cr.rule.id != other_rule for cr in r.deps.engine().rules.rules)
            rules = await rules_list(mod)
            assert "cannot be built, so it is NOT in force" in rules["text"]

    run(go())
