"""A person's rights (/mydata, /forget) and the operator's duties (retention) on both databases."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from sqlalchemy import select

from bot.storage import HitWriter
from bot.storage.db import database
from bot.storage.models import AuditLog, Report
from bot.storage.moderation import audit
from bot.storage.queries import (
    add_feedback,
    add_report,
    forget,
    my_data,
    purge_expired,
    set_preference,
)
from tests.storage.test_hits import record

ALICE = "a" * 64
BOB = "b" * 64


def test_mydata_and_forget(db_url: str) -> None:
    async def go() -> tuple[
        dict[str, object], dict[str, int], dict[str, object], dict[str, object]
    ]:
        async with database(db_url) as sessions:
            writer = HitWriter(sessions)
            alice = [dataclasses.replace(record(i), user_pseudonym=ALICE) for i in range(3)]
            writer.record(alice)
            writer.record(record(99))
            assert await writer.flush()
            await set_preference(sessions, ALICE, lang="zh-hant", region="TW")
            await add_feedback(
                sessions,
                pseudonym=ALICE,
                hit_event_id=alice[0].event_id,
                rule_id="x",
                rule_version=1,
                vote="wrong",
            )
            await add_report(
                sessions, pseudonym=ALICE, text="加微信 abc", rule_id=None, risk="none", lang="zh"
            )
            # Alice tried two moderator commands; a moderator's own action stays hers.
            await audit(sessions, ALICE, "refused", "rules")
            await audit(sessions, ALICE, "refused", "mod")
            await audit(sessions, BOB, "rule.disable", "x")
            before = await my_data(sessions, ALICE)
            deleted = await forget(sessions, ALICE)
            after = await my_data(sessions, ALICE)
            other = await my_data(sessions, f"{99:064x}")
            return before, deleted, after, other

    before, deleted, after, other = asyncio.run(go())
    assert before["counts"] == {
        "hits": 3,
        "feedback": 1,
        "reports": 1,
        "user_prefs": 1,
        "subscriptions": 0,
        "pending_edits": 0,
        "shared_state": 0,
        "audit_log": 2,
    }
    assert before["language"] == "zh-hant" and before["region"] == "TW"
    assert len(before["recent_hits"]) == 3  # type: ignore[arg-type]
    assert deleted == {
        "hits": 3,
        "feedback": 1,
        "reports": 1,
        "user_prefs": 1,
        "subscriptions": 0,
        "pending_edits": 0,
        "shared_state": 0,
        "audit_log": 2,
    }
    assert all(v == 0 for v in after["counts"].values())  # type: ignore[attr-defined]
    assert other["counts"]["hits"] == 1  # type: ignore[index]


def test_forget_unlinks_a_moderators_audit_trail_and_drops_refused_attempts(db_url: str) -> None:
    """The audit log keeps what was done to the rules, not who a user was."""

    async def go() -> list[tuple[str, str]]:
        async with database(db_url) as sessions:
            await audit(sessions, ALICE, "rule.disable", "x")
            await audit(sessions, ALICE, "refused", "mod")
            await audit(sessions, BOB, "refused", "rules")
            await forget(sessions, ALICE)
            async with sessions() as s:
                rows = await s.execute(
                    select(AuditLog.actor_pseudonym, AuditLog.action).order_by(AuditLog.id)
                )
                return [(a, b) for a, b in rows.all()]

    assert asyncio.run(go()) == [("forgotten", "rule.disable"), (BOB, "refused")]


def test_retention_purges_only_what_expired(db_url: str) -> None:
    now = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)

    async def go() -> tuple[dict[str, int], int]:
        async with database(db_url) as sessions:
            writer = HitWriter(sessions)
            writer.record(record(1, now - dt.timedelta(days=200)))
            writer.record(record(2, now - dt.timedelta(days=179)))
            writer.record(record(3, now - dt.timedelta(days=1)))
            assert await writer.flush()
            async with sessions() as s, s.begin():
                for days, action in ((91, "refused"), (89, "refused"), (400, "rule.disable")):
                    at = now - dt.timedelta(days=days)
                    s.add(AuditLog(created_at=at, actor_pseudonym=BOB, action=action))
            counts = await purge_expired(sessions, hit_days=180, report_days=90, now=now)
            data = await my_data(sessions, f"{2:064x}")
            return counts, data["counts"]["hits"]  # type: ignore[index,return-value]

    counts, kept = asyncio.run(go())
    assert counts["hits"] == 1 and kept == 1
    assert counts["audit_log"] == 1  # the old refused attempt; what moderators did is kept


def test_reports_are_redacted_before_they_are_written(db_url: str) -> None:
    async def go() -> str:
        async with database(db_url) as sessions:
            await add_report(
                sessions,
                pseudonym=ALICE,
                text="王先生您好，您的快递丢失，请拨打13812345678，卡号6222021234567894，访问 http://jd-lipei.cn/x?u=42",
                rule_id="fake-courier-cs",
                risk="high",
                lang="zh",
            )
            async with sessions() as s:
                return (await s.execute(select(Report.redacted_text))).scalar_one()

    text = asyncio.run(go())
    assert "13812345678" not in text and "6222021234567894" not in text and "王" not in text
    assert "jd-lipei.cn" in text and "u=42" not in text
