"""Feedback and reports carry the verdict they answer, read from the hit of the reply."""

from __future__ import annotations

import asyncio

from bot.storage.db import database
from bot.storage.hits import HitRecord, insert_hits
from bot.storage.models import Report, utcnow
from bot.storage.moderation import (
    Answered,
    add_answered_report,
    answered_by_hit,
    open_reports,
    rule_counts,
)
from bot.storage.queries import add_feedback

ME, OTHER = "a" * 64, "b" * 64


def _hit(rule: str | None, risk: str, shadow: bool = False, who: str = ME) -> HitRecord:
    return HitRecord(
        created_at=utcnow(),
        rule_id=rule,
        rule_version=3 if rule else None,
        family="f" if rule else None,
        stages=(),
        furthest_stage=None,
        risk=risk,
        lang="zh-hans",
        chat_type="private",
        input_kind="text",
        user_pseudonym=who,
        domains=(),
        shadow=shadow,
    )


def test_a_vote_and_a_report_carry_the_rule_and_version_of_their_reply(db_url: str) -> None:
    async def go() -> None:
        async with database(db_url) as sessions:
            shown = _hit("fake-courier-cs", "high")
            async with sessions() as s, s.begin():
                await insert_hits(s, [shown])
            answered = await answered_by_hit(sessions, shown.event_id, ME)
            assert answered == Answered("fake-courier-cs", 3, "high")
            # Someone else's reply, or no such hit: nothing is attached.
            assert await answered_by_hit(sessions, shown.event_id, OTHER) is None
            assert await answered_by_hit(sessions, "no-such-hit", ME) is None

            await add_feedback(
                sessions,
                pseudonym=ME,
                hit_event_id=shown.event_id,
                rule_id=answered.rule_id,
                rule_version=answered.rule_version,
                vote="wrong",
            )
            assert (await rule_counts(sessions))["fake-courier-cs"] == (1, 1)
            report_id = await add_answered_report(
                sessions,
                pseudonym=ME,
                text="加我QQ 12345678 办理理赔",
                answered=answered,
                hit_event_id=shown.event_id,
                lang="zh-hans",
            )
            [report] = await open_reports(sessions)
            assert isinstance(report, Report) and report.id == report_id
            assert (report.rule_id, report.rule_version, report.risk) == (
                "fake-courier-cs",
                3,
                "high",
            )
            assert report.hit_event_id == shown.event_id and "12345678" not in report.redacted_text

    asyncio.run(go())
