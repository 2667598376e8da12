"""Queries a person's rights and the operator's duties rely on.

Owns: /mydata (what is stored under a pseudonym), /forget (delete it all), retention purges,
preferences, feedback and review reports. The audit log keeps what moderators did, not who a
user was: /forget deletes a person's refused attempts and unlinks their other entries. A
report's text is redacted *here*, before any write, so no caller can store unredacted text by
mistake.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.privacy import redact
from bot.storage.models import (
    FORGOTTEN,
    PERSONAL_TABLES,
    REFUSED,
    AuditLog,
    ChatSetting,
    Feedback,
    Hit,
    ProcessedUpdate,
    Report,
    SharedState,
    Subscription,
    UserPref,
    utcnow,
)

Sessions = async_sessionmaker[AsyncSession]


async def my_data(sessions: Sessions, pseudonym: str) -> dict[str, Any]:
    """Everything stored under ``pseudonym``, summarised for the person to read."""
    async with sessions() as s:
        counts = {}
        for model, column in PERSONAL_TABLES:
            q = select(func.count()).select_from(model).where(getattr(model, column) == pseudonym)
            counts[model.__tablename__] = int((await s.execute(q)).scalar_one())
        q = select(func.count()).select_from(AuditLog).where(AuditLog.actor_pseudonym == pseudonym)
        counts[AuditLog.__tablename__] = int((await s.execute(q)).scalar_one())
        hits = (
            await s.execute(
                select(Hit.created_at, Hit.family, Hit.risk)
                .where(Hit.user_pseudonym == pseudonym, Hit.shadow.is_(False))
                .order_by(Hit.created_at.desc())
                .limit(20)
            )
        ).all()
        pref = await s.get(UserPref, pseudonym)
    return {
        "counts": counts,
        "recent_hits": [{"at": h.created_at, "family": h.family, "risk": h.risk} for h in hits],
        "language": pref.lang if pref else None,
        "region": pref.region if pref else None,
    }


async def forget(sessions: Sessions, pseudonym: str) -> dict[str, int]:
    """Delete every row keyed to ``pseudonym``; returns how many per table."""
    deleted: dict[str, int] = {}
    async with sessions() as s, s.begin():
        for model, column in PERSONAL_TABLES:
            result = await s.execute(delete(model).where(getattr(model, column) == pseudonym))
            deleted[model.__tablename__] = int(result.rowcount or 0)  # type: ignore[attr-defined]
        # A refused attempt records only who tried: it goes. What a moderator did stays in the
        # log (rules changed, reviews handled), no longer linked to the person.
        mine = AuditLog.actor_pseudonym == pseudonym
        result = await s.execute(delete(AuditLog).where(mine, AuditLog.action == REFUSED))
        gone = int(result.rowcount or 0)  # type: ignore[attr-defined]
        result = await s.execute(update(AuditLog).where(mine).values(actor_pseudonym=FORGOTTEN))
        deleted[AuditLog.__tablename__] = gone + int(result.rowcount or 0)  # type: ignore[attr-defined]
    return deleted


async def purge_expired(
    sessions: Sessions,
    *,
    hit_days: int,
    report_days: int,
    update_days: int = 3,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Delete hits, feedback, reports, refused attempts in the audit log, processed update ids
    and expired shared state past their retention."""
    now = now or utcnow()
    plan: list[tuple[Any, Any, int]] = [
        (Hit, Hit.created_at, hit_days),
        (Feedback, Feedback.created_at, hit_days),
        (Report, Report.created_at, report_days),
        (ProcessedUpdate, ProcessedUpdate.received_at, update_days),
        (SharedState, SharedState.expires_at, 0),  # short-lived: gone once expired
    ]
    out: dict[str, int] = {}
    async with sessions() as s, s.begin():
        for model, column, days in plan:
            cutoff = now - dt.timedelta(days=days)
            result = await s.execute(delete(model).where(column < cutoff))
            out[model.__tablename__] = int(result.rowcount or 0)  # type: ignore[attr-defined]
        cutoff = now - dt.timedelta(days=report_days)
        result = await s.execute(
            delete(AuditLog).where(AuditLog.action == REFUSED, AuditLog.created_at < cutoff)
        )
        out[AuditLog.__tablename__] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return out


async def set_preference(
    sessions: Sessions, pseudonym: str, *, lang: str | None = None, region: str | None = None
) -> None:
    async with sessions() as s, s.begin():
        pref = await s.get(UserPref, pseudonym)
        if pref is None:
            pref = UserPref(user_pseudonym=pseudonym, updated_at=utcnow())
            s.add(pref)
        if lang is not None:
            pref.lang = lang
        if region is not None:
            pref.region = region
        pref.updated_at = utcnow()


async def get_preference(sessions: Sessions, pseudonym: str) -> UserPref | None:
    async with sessions() as s:
        return await s.get(UserPref, pseudonym)


async def add_feedback(
    sessions: Sessions,
    *,
    pseudonym: str,
    hit_event_id: str | None,
    rule_id: str | None,
    rule_version: int | None,
    vote: str,
) -> None:
    """Record "helpful" or "wrong"; a second vote on the same verdict replaces the first."""
    if vote not in ("helpful", "wrong"):
        raise ValueError(f"unknown vote {vote!r}")
    async with sessions() as s, s.begin():
        existing = (
            await s.execute(
                select(Feedback).where(
                    Feedback.hit_event_id == hit_event_id, Feedback.user_pseudonym == pseudonym
                )
            )
        ).scalar_one_or_none()
        if existing is not None and hit_event_id is not None:
            existing.vote = vote
            existing.created_at = utcnow()
            return
        s.add(
            Feedback(
                created_at=utcnow(),
                hit_event_id=hit_event_id,
                user_pseudonym=pseudonym,
                rule_id=rule_id,
                rule_version=rule_version,
                vote=vote,
            )
        )


async def add_report(
    sessions: Sessions,
    *,
    pseudonym: str,
    text: str,
    rule_id: str | None,
    risk: str,
    lang: str,
    redacted: bool = False,
    rule_version: int | None = None,
    hit_event_id: str | None = None,
) -> int:
    """Store a message the user chose to send to moderators, redacted first (unless the caller
    says it already is: the bot redacts in a worker thread, off the event loop), with the rule,
    version and hit of the verdict it answers when they are known."""
    async with sessions() as s, s.begin():
        report = Report(
            created_at=utcnow(),
            user_pseudonym=pseudonym,
            redacted_text=text if redacted else redact(text),
            rule_id=rule_id,
            rule_version=rule_version,
            hit_event_id=hit_event_id,
            risk=risk,
            lang=lang,
            status="open",
        )
        s.add(report)
        await s.flush()
        return int(report.id)


async def get_chat_mode(sessions: Sessions, chat_pseudonym: str) -> str | None:
    async with sessions() as s:
        row = await s.get(ChatSetting, chat_pseudonym)
        return row.mode if row else None


async def set_chat_mode(sessions: Sessions, chat_pseudonym: str, mode: str) -> None:
    if mode not in ("on", "quiet", "delete", "off"):
        raise ValueError(f"unknown group mode {mode!r}")
    async with sessions() as s, s.begin():
        row = await s.get(ChatSetting, chat_pseudonym)
        if row is None:
            s.add(ChatSetting(chat_pseudonym=chat_pseudonym, mode=mode, updated_at=utcnow()))
        else:
            row.mode = mode
            row.updated_at = utcnow()


async def subscribe(
    sessions: Sessions,
    *,
    chat_pseudonym: str,
    chat_sealed: str,
    chat_type: str,
    lang: str,
    timezone: str,
    now: dt.datetime | None = None,
) -> bool:
    """Subscribe a chat to the weekly digest (or update its language). True if it is new."""
    async with sessions() as s, s.begin():
        row = (
            await s.execute(
                select(Subscription).where(Subscription.chat_pseudonym == chat_pseudonym)
            )
        ).scalar_one_or_none()
        if row is None:
            s.add(
                Subscription(
                    chat_pseudonym=chat_pseudonym,
                    chat_sealed=chat_sealed,
                    chat_type=chat_type,
                    lang=lang,
                    timezone=timezone,
                    active=True,
                    created_at=now or utcnow(),
                )
            )
            return True
        was_active = row.active
        row.active, row.lang, row.chat_sealed = True, lang, chat_sealed
        return not was_active


async def unsubscribe(sessions: Sessions, chat_pseudonym: str) -> bool:
    async with sessions() as s, s.begin():
        row = (
            await s.execute(
                select(Subscription).where(Subscription.chat_pseudonym == chat_pseudonym)
            )
        ).scalar_one_or_none()
        if row is None or not row.active:
            return False
        row.active = False
        return True
