"""Database models: anonymized facts only.

Owns: the tables and their constraints. No column holds message text (except the *redacted*
text a user explicitly submits for review), a name, a username, a phone number or a raw
Telegram id: people are pseudonyms (keyed HMAC), chats to deliver to are sealed (AES-GCM).

Every datetime is stored and returned as UTC and timezone-aware, on SQLite (which keeps naive
values) as on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PSEUDONYM = 64  # hex HMAC-SHA256


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes everywhere: SQLite returns naive values, PostgreSQL aware ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Hit(Base):
    """One check that matched (or was checked in a group/private chat and matched a testing
    rule). ``event_id`` makes replays after an outage idempotent."""

    __tablename__ = "hits"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    rule_id: Mapped[str | None] = mapped_column(String(64))
    rule_version: Mapped[int | None] = mapped_column(Integer)
    family: Mapped[str | None] = mapped_column(String(64), index=True)
    stages: Mapped[list[str]] = mapped_column(JSON, default=list)
    furthest_stage: Mapped[str | None] = mapped_column(String(64))
    risk: Mapped[str] = mapped_column(String(8))
    lang: Mapped[str] = mapped_column(String(8))
    chat_type: Mapped[str] = mapped_column(String(8))  # private | group
    input_kind: Mapped[str] = mapped_column(String(8))  # text | photo | link | qr
    user_pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM), index=True)
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    shadow: Mapped[bool] = mapped_column(Boolean, default=False)  # a ``testing`` rule's hit


class UserPref(Base):
    """What a person chose: reply language and region (for the hotline)."""

    __tablename__ = "user_prefs"

    user_pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM), primary_key=True)
    lang: Mapped[str | None] = mapped_column(String(8))
    region: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ChatSetting(Base):
    """A group's choice: ``on`` (warn on high risk), ``quiet`` (warn silently), ``delete``
    (delete a high-risk post and tell the admins) or ``off``. A plain string: a new mode
    needs no migration."""

    __tablename__ = "chat_settings"

    chat_pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM), primary_key=True)
    mode: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Subscription(Base):
    """A weekly digest subscriber. ``chat_pseudonym`` finds it; ``chat_sealed`` is the
    encrypted chat id the bot needs to deliver (never stored in the clear)."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM), unique=True)
    chat_sealed: Mapped[str] = mapped_column(String(128))
    chat_type: Mapped[str] = mapped_column(String(16))
    lang: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Feedback(Base):
    """ "helpful" or "wrong" on a verdict, tied to the hit (not to the message)."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    hit_event_id: Mapped[str | None] = mapped_column(String(36), index=True)
    user_pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM), index=True)
    rule_id: Mapped[str | None] = mapped_column(String(64), index=True)
    rule_version: Mapped[int | None] = mapped_column(Integer)
    vote: Mapped[str] = mapped_column(String(8))  # helpful | wrong
    # A moderator looked at this "wrong" vote in /reviews (and dismissed it).
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (UniqueConstraint("hit_event_id", "user_pseudonym"),)


class Report(Base):
    """A message a user chose to send to moderators: stored only after redaction."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    user_pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM), index=True)
    redacted_text: Mapped[str] = mapped_column(Text)
    # The verdict the report answers (the hit under whose reply 📨 was pressed).
    rule_id: Mapped[str | None] = mapped_column(String(64))
    rule_version: Mapped[int | None] = mapped_column(Integer)
    hit_event_id: Mapped[str | None] = mapped_column(String(36))
    risk: Mapped[str] = mapped_column(String(8))
    lang: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | accepted | dismissed


class RuleRevision(Base):
    """A moderator's version of a rule, overlaid on the bundled files. Never deleted."""

    __tablename__ = "rule_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    yaml_text: Mapped[str] = mapped_column(Text)
    diff: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    author_pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("rule_id", "version"),)


class Moderator(Base):
    """Someone an admin made a moderator. Found by pseudonym; the sealed id lets the bot send
    them the weekly list of rules due for review."""

    __tablename__ = "moderators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM), unique=True)
    chat_sealed: Mapped[str] = mapped_column(String(128))
    added_by: Mapped[str] = mapped_column(String(PSEUDONYM))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PendingEdit(Base):
    """A validated rule change shown to its moderator with Confirm / Cancel; nothing is live
    until it is confirmed. Kept in the database so any bot process can take the button press."""

    __tablename__ = "pending_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    author_pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM), index=True)
    action: Mapped[str] = mapped_column(String(32))  # upload | addphrase | status | rollback …
    rule_id: Mapped[str] = mapped_column(String(64))
    base_version: Mapped[int] = mapped_column(Integer)  # the live version the edit started from
    yaml_text: Mapped[str] = mapped_column(Text)
    diff: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    effect: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|cancelled|…


# Audit actions and actors the privacy queries rely on.
REFUSED = "refused"  # someone without the role tried a moderator command
FORGOTTEN = "forgotten"  # the actor of a person's entries after /forget


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    actor_pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DigestRun(Base):
    """One week's broadcast; the row is claimed by the process that runs it."""

    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(10), unique=True)  # ISO week, e.g. 2026-W47
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    owner: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="running")


class DigestDelivery(Base):
    """At most one digest per subscriber per week: the row is claimed before sending."""

    __tablename__ = "digest_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(10))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(
        String(16), default="claimed"
    )  # claimed|sent|failed|blocked
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("week", "subscription_id"),
        Index("ix_digest_deliveries_week_status", "week", "status"),
    )


class ProcessedUpdate(Base):
    """Telegram update ids taken by a webhook worker (Telegram redelivers): "processing" while a
    worker answers it, "done" after. Not personal data."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    state: Mapped[str] = mapped_column(String(12), default="done", server_default="done")
    owner: Mapped[str] = mapped_column(String(64), default="", server_default="")


class SharedState(Base):
    """Short-lived state that webhook workers share, so that two workers behave as one bot: a
    person's flood counter per time window, "warned once" marks of group messages, and what the
    engine concluded so far in a forwarded conversation. Keyed by pseudonyms; the values are
    counts and signal names, never message text. Rows live for seconds to minutes; a matched
    reply's view state (keyed by the reply's reference) for a day."""

    __tablename__ = "shared_state"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(PSEUDONYM), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


# Tables with rows keyed to a person's pseudonym: what /mydata shows and /forget deletes.
PERSONAL_TABLES: tuple[tuple[type[Base], str], ...] = (
    (Hit, "user_pseudonym"),
    (Feedback, "user_pseudonym"),
    (Report, "user_pseudonym"),
    (UserPref, "user_pseudonym"),
    # A private chat's id is the person's id, so its subscription carries their pseudonym.
    (Subscription, "chat_pseudonym"),
    (PendingEdit, "author_pseudonym"),
    (SharedState, "pseudonym"),
)
