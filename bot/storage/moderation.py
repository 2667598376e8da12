"""What moderation keeps: moderators, rule revisions, pending edits, the audit log, the review
queue, and the per-rule numbers moderators see.

Owns: the queries behind roles and rule history. Rule *content* is validated elsewhere
(``bot.moderation``); here a revision is committed only if it was made against the version
that is still live, so two moderators editing one rule never overwrite each other silently.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import (
    AuditLog,
    Feedback,
    Hit,
    Moderator,
    PendingEdit,
    Report,
    RuleRevision,
    utcnow,
)
from bot.storage.queries import add_report

Sessions = async_sessionmaker[AsyncSession]


class Conflict(Exception):
    """The rule changed since the edit started: ``live`` is the version in force now."""

    def __init__(self, rule_id: str, live: int) -> None:
        super().__init__(f"{rule_id} is at version {live} now")
        self.rule_id = rule_id
        self.live = live


# -- roles and audit ----------------------------------------------------------------------------


async def is_moderator(sessions: Sessions, pseudonym: str) -> bool:
    async with sessions() as s:
        q = select(Moderator.id).where(Moderator.pseudonym == pseudonym, Moderator.active)
        return (await s.execute(q)).first() is not None


async def add_moderator(sessions: Sessions, pseudonym: str, chat_sealed: str, by: str) -> bool:
    """Make someone a moderator. False if they already are one."""
    async with sessions() as s, s.begin():
        row = (
            await s.execute(select(Moderator).where(Moderator.pseudonym == pseudonym))
        ).scalar_one_or_none()
        if row is None:
            s.add(
                Moderator(
                    pseudonym=pseudonym,
                    chat_sealed=chat_sealed,
                    added_by=by,
                    created_at=utcnow(),
                    active=True,
                )
            )
            return True
        was = row.active
        row.active, row.added_by, row.chat_sealed = True, by, chat_sealed
        return not was


async def remove_moderator(sessions: Sessions, pseudonym: str) -> bool:
    async with sessions() as s, s.begin():
        result = await s.execute(
            update(Moderator)
            .where(Moderator.pseudonym == pseudonym, Moderator.active)
            .values(active=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def list_moderators(sessions: Sessions) -> list[Moderator]:
    async with sessions() as s:
        q = select(Moderator).where(Moderator.active).order_by(Moderator.created_at)
        return list((await s.execute(q)).scalars())


async def audit(
    sessions: Sessions, actor: str, action: str, target: str = "", **detail: Any
) -> None:
    async with sessions() as s, s.begin():
        s.add(
            AuditLog(
                created_at=utcnow(),
                actor_pseudonym=actor,
                action=action,
                target=target,
                detail=detail,
            )
        )


async def already_done(sessions: Sessions, action: str, target: str) -> bool:
    """Whether a once-only job (``action`` for ``target``, e.g. a day) was recorded as done."""
    async with sessions() as s:
        q = select(AuditLog.id).where(AuditLog.action == action, AuditLog.target == target)
        return (await s.execute(q.limit(1))).first() is not None


async def audit_entries(sessions: Sessions, limit: int = 100) -> list[AuditLog]:
    async with sessions() as s:
        q = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
        return list((await s.execute(q)).scalars())


# -- revisions ----------------------------------------------------------------------------------


async def latest_revisions(sessions: Sessions) -> dict[str, RuleRevision]:
    """The newest revision of every rule that has one."""
    async with sessions() as s:
        newest = (
            select(RuleRevision.rule_id, func.max(RuleRevision.version).label("v"))
            .group_by(RuleRevision.rule_id)
            .subquery()
        )
        q = select(RuleRevision).join(
            newest,
            (RuleRevision.rule_id == newest.c.rule_id) & (RuleRevision.version == newest.c.v),
        )
        return {r.rule_id: r for r in (await s.execute(q)).scalars()}


async def rule_history(sessions: Sessions, rule_id: str) -> list[RuleRevision]:
    async with sessions() as s:
        q = (
            select(RuleRevision)
            .where(RuleRevision.rule_id == rule_id)
            .order_by(RuleRevision.version.desc())
        )
        return list((await s.execute(q)).scalars())


@dataclass(frozen=True)
class NewRevision:
    rule_id: str
    base_version: int  # the live version the change was made against
    version: int  # the version it becomes (base + 1, or a new rule's own version)
    yaml_text: str
    diff: str


async def commit_revision(
    sessions: Sessions,
    *,
    rule_id: str,
    base_version: int,
    yaml_text: str,
    diff: str,
    reason: str,
    author: str,
    action: str,
    version: int | None = None,
) -> int:
    """Store a new version of a rule and its audit entry, in one transaction. Raises Conflict
    if another revision landed since ``base_version`` was live."""
    change = NewRevision(rule_id, base_version, version or base_version + 1, yaml_text, diff)
    await commit_revisions(sessions, [change], reason=reason, author=author, action=action)
    return change.version


async def commit_revisions(
    sessions: Sessions, changes: list[NewRevision], *, reason: str, author: str, action: str
) -> None:
    """Store several revisions (and their audit entries) in one transaction: all or none."""
    try:
        async with sessions() as s, s.begin():
            for c in changes:
                newest = (
                    await s.execute(
                        select(func.max(RuleRevision.version)).where(
                            RuleRevision.rule_id == c.rule_id
                        )
                    )
                ).scalar_one()
                # Any revision at or past the one being made means someone else got there
                # first. (A bundled file newer than the last revision is fine: live is newer.)
                if newest is not None and newest >= c.version:
                    raise Conflict(c.rule_id, int(newest))
                s.add(
                    RuleRevision(
                        rule_id=c.rule_id,
                        version=c.version,
                        yaml_text=c.yaml_text,
                        diff=c.diff,
                        reason=reason,
                        author_pseudonym=author,
                        created_at=utcnow(),
                    )
                )
                s.add(
                    AuditLog(
                        created_at=utcnow(),
                        actor_pseudonym=author,
                        action=f"rule.{action}",
                        target=f"{c.rule_id}@{c.version}",
                        detail={"reason": reason, "from_version": c.base_version},
                    )
                )
    except IntegrityError:
        # Two confirmations raced: the unique (rule, version) key let only one through.
        raise Conflict(changes[0].rule_id, changes[0].version) from None


async def revision_marker(sessions: Sessions) -> tuple[int, int]:
    """Changes whenever a revision is committed: every process polls this to reload its rules.
    (The count as well as the highest id: ids may commit out of order on PostgreSQL.)"""
    async with sessions() as s:
        row = (
            await s.execute(
                select(func.count(RuleRevision.id), func.coalesce(func.max(RuleRevision.id), 0))
            )
        ).one()
        return int(row[0]), int(row[1])


# -- pending edits ------------------------------------------------------------------------------


async def create_pending(sessions: Sessions, **fields: Any) -> int:
    async with sessions() as s, s.begin():
        row = PendingEdit(created_at=utcnow(), state="pending", **fields)
        s.add(row)
        await s.flush()
        return int(row.id)


async def get_pending(sessions: Sessions, pending_id: int) -> PendingEdit | None:
    async with sessions() as s:
        return await s.get(PendingEdit, pending_id)


async def take_pending(sessions: Sessions, pending_id: int, author: str, state: str) -> bool:
    """Move a pending edit out of "pending" (once: a double tap or a second process loses)."""
    async with sessions() as s, s.begin():
        result = await s.execute(
            update(PendingEdit)
            .where(
                PendingEdit.id == pending_id,
                PendingEdit.author_pseudonym == author,
                PendingEdit.state == "pending",
            )
            .values(state=state)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def set_pending_state(sessions: Sessions, pending_id: int, state: str) -> None:
    async with sessions() as s, s.begin():
        await s.execute(update(PendingEdit).where(PendingEdit.id == pending_id).values(state=state))


# -- what feedback and reports answer ----------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    """The verdict a reply showed, from its hit: what a 👎 or a 📨 under that reply is about."""

    rule_id: str | None
    rule_version: int | None
    risk: str


async def answered_by_hit(sessions: Sessions, event_id: str, pseudonym: str) -> Answered | None:
    """The shown (not shadow) verdict of hit ``event_id``, if it was this person's check."""
    async with sessions() as s:
        q = select(Hit.rule_id, Hit.rule_version, Hit.risk).where(
            Hit.event_id == event_id, Hit.user_pseudonym == pseudonym, Hit.shadow.is_(False)
        )
        row = (await s.execute(q.limit(1))).first()
    return Answered(row[0], row[1], row[2]) if row is not None else None


async def add_answered_report(
    sessions: Sessions,
    *,
    pseudonym: str,
    text: str,
    answered: Answered | None,
    hit_event_id: str | None,
    lang: str,
    redacted: bool = False,
) -> int:
    """Store a message a person sent to moderators (see ``queries.add_report``) with the rule
    and version of the verdict it answers, so /reviews can offer it as an example of that rule."""
    return await add_report(
        sessions,
        pseudonym=pseudonym,
        text=text,
        redacted=redacted,
        rule_id=answered.rule_id if answered else None,
        rule_version=answered.rule_version if answered else None,
        hit_event_id=hit_event_id,
        risk=answered.risk if answered else "unknown",
        lang=lang,
    )


# -- numbers and the review queue ---------------------------------------------------------------


async def rule_counts(sessions: Sessions, days: int = 7) -> dict[str, tuple[int, int]]:
    """Per rule id: (hits, "wrong" votes) over the last ``days`` days (shadow hits included)."""
    since = utcnow() - dt.timedelta(days=days)
    async with sessions() as s:
        hits = await s.execute(
            select(Hit.rule_id, func.count())
            .where(Hit.created_at >= since, Hit.rule_id.is_not(None), Hit.risk != "none")
            .group_by(Hit.rule_id)
        )
        wrong = await s.execute(
            select(Feedback.rule_id, func.count())
            .where(Feedback.created_at >= since, Feedback.vote == "wrong")
            .group_by(Feedback.rule_id)
        )
        out: dict[str, list[int]] = {}
        for rule_id, n in hits.all():
            out.setdefault(str(rule_id), [0, 0])[0] = int(n)
        for rule_id, n in wrong.all():
            if rule_id is not None:
                out.setdefault(str(rule_id), [0, 0])[1] = int(n)
        return {k: (v[0], v[1]) for k, v in out.items()}


async def open_reports(sessions: Sessions, limit: int = 10) -> list[Report]:
    async with sessions() as s:
        q = select(Report).where(Report.status == "open").order_by(Report.id.desc()).limit(limit)
        return list((await s.execute(q)).scalars())


async def get_report(sessions: Sessions, report_id: int) -> Report | None:
    async with sessions() as s:
        return await s.get(Report, report_id)


async def set_report_status(sessions: Sessions, report_id: int, status: str) -> bool:
    async with sessions() as s, s.begin():
        result = await s.execute(
            update(Report)
            .where(Report.id == report_id, Report.status == "open")
            .values(status=status)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def open_wrong_votes(sessions: Sessions, limit: int = 10) -> list[Feedback]:
    async with sessions() as s:
        q = (
            select(Feedback)
            .where(Feedback.vote == "wrong", Feedback.reviewed.is_(False))
            .order_by(Feedback.id.desc())
            .limit(limit)
        )
        return list((await s.execute(q)).scalars())


async def dismiss_wrong_vote(sessions: Sessions, feedback_id: int) -> bool:
    async with sessions() as s, s.begin():
        result = await s.execute(
            update(Feedback)
            .where(Feedback.id == feedback_id, Feedback.reviewed.is_(False))
            .values(reviewed=True)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
