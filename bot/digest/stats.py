"""Weekly statistics from stored hits: checks, each family's count and share this week and last,
the change in percentage points, the largest riser and faller.

Owns: week arithmetic (ISO weeks in the digest's time zone, and the calendar days they cover)
and the numbers. Families with fewer hits than ``min_family_hits`` in the week are merged into
"other", so no small count can point at a person. A week still under way is compared with the
same stretch of last week (Monday to the same hour), never with all of it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import Hit, RuleRevision

OTHER = "other"


def week_id(moment: dt.datetime, tz: ZoneInfo) -> str:
    year, week, _ = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(week: str, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of an ISO week ("2026-W47") in ``tz``, as aware UTC datetimes."""
    year, w = week.split("-W")
    monday = dt.date.fromisocalendar(int(year), int(w), 1)
    start = dt.datetime.combine(monday, dt.time(0, 0), tzinfo=tz)
    return start.astimezone(dt.UTC), (start + dt.timedelta(days=7)).astimezone(dt.UTC)


def previous_week(week: str, tz: ZoneInfo, back: int = 1) -> str:
    start, _ = week_bounds(week, tz)
    return week_id(start - dt.timedelta(days=7 * back - 3), tz)


@dataclass(frozen=True)
class FamilyLine:
    family: str
    count: int
    previous_count: int  # last week (the same stretch of it, for a week still under way)
    share: float  # percent of this week's matched checks
    previous_share: float  # percent of last week's
    change: float  # percentage points


@dataclass(frozen=True)
class WeekStats:
    week: str
    first_day: dt.date  # the days counted, in the digest's time zone, both inclusive
    last_day: dt.date
    previous_first_day: dt.date
    previous_last_day: dt.date
    so_far: bool  # the week is still under way: counted up to now
    checks: int  # every check (none included)
    matched: int  # checks that matched a known scam flow
    families: tuple[FamilyLine, ...]  # by count, "other" last
    riser: FamilyLine | None
    faller: FamilyLine | None
    top_rule_of_riser: str | None
    rules_changed: tuple[str, ...]


async def family_counts(
    sessions: async_sessionmaker[AsyncSession], start: dt.datetime, end: dt.datetime
) -> Counter[str]:
    async with sessions() as s:
        rows = await s.execute(
            select(Hit.family, func.count())
            .where(Hit.created_at >= start, Hit.created_at < end, Hit.shadow.is_(False))
            .where(Hit.family.is_not(None))
            .group_by(Hit.family)
        )
        return Counter({fam: int(n) for fam, n in rows.all() if fam is not None})


def _days(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> tuple[dt.date, dt.date]:
    last = max(start, end - dt.timedelta(microseconds=1))  # ``end`` is exclusive
    return start.astimezone(tz).date(), last.astimezone(tz).date()


async def weekly_stats(
    sessions: async_sessionmaker[AsyncSession],
    week: str,
    tz: ZoneInfo,
    min_family_hits: int,
    *,
    now: dt.datetime | None = None,
) -> WeekStats:
    """The numbers for ``week``; if ``now`` falls inside it, up to ``now`` and against the same
    stretch of last week, so a Tuesday's counts are not set against a whole week's."""
    start, end = week_bounds(week, tz)
    prev_start, prev_end = week_bounds(previous_week(week, tz), tz)
    so_far = now is not None and start <= now < end
    if now is not None and so_far:
        end = now
        prev_end = prev_start + (now - start)
    this = await family_counts(sessions, start, end)
    last = await family_counts(sessions, prev_start, prev_end)
    async with sessions() as s:
        checks = int(
            (
                await s.execute(
                    select(func.count())
                    .select_from(Hit)
                    .where(Hit.created_at >= start, Hit.created_at < end, Hit.shadow.is_(False))
                )
            ).scalar_one()
        )
        riser_rules = await s.execute(
            select(Hit.family, Hit.rule_id, func.count())
            .where(Hit.created_at >= start, Hit.created_at < end, Hit.shadow.is_(False))
            .where(Hit.rule_id.is_not(None))
            .group_by(Hit.family, Hit.rule_id)
        )
        top_rule: dict[str, tuple[int, str]] = {}
        for fam, rule_id, n in riser_rules.all():
            if fam is None or rule_id is None:
                continue
            if fam not in top_rule or int(n) > top_rule[fam][0]:
                top_rule[fam] = (int(n), rule_id)
        changed = await s.execute(
            select(RuleRevision.rule_id)
            .where(RuleRevision.created_at >= start, RuleRevision.created_at < end)
            .distinct()
        )
        rules_changed = tuple(sorted(r for (r,) in changed.all()))

    small = {f for f, n in this.items() if n < min_family_hits}
    merged_this: Counter[str] = Counter()
    merged_last: Counter[str] = Counter()
    for fam, n in this.items():
        merged_this[OTHER if fam in small else fam] += n
    for fam, n in last.items():
        # A family too small this week is compared as part of "other" last week too.
        merged_last[fam if fam in merged_this and fam not in small else OTHER] += n
    matched = sum(this.values())
    matched_last = sum(last.values())

    def pct(n: int, total: int) -> float:
        return round(100.0 * n / total, 1) if total else 0.0

    lines = [
        FamilyLine(
            fam,
            n,
            merged_last.get(fam, 0),
            pct(n, matched),
            pct(merged_last.get(fam, 0), matched_last),
            round(pct(n, matched) - pct(merged_last.get(fam, 0), matched_last), 1),
        )
        for fam, n in merged_this.items()
    ]
    lines.sort(key=lambda x: (x.family == OTHER, -x.count, x.family))
    # A riser gained share *and* cases (a type with fewer cases than last week is not "rising"
    # because the others fell faster); a faller lost both.
    named = [x for x in lines if x.family != OTHER]
    riser = max(
        (x for x in named if x.change > 0 and x.count > x.previous_count),
        key=lambda x: x.change,
        default=None,
    )
    faller = min(
        (x for x in named if x.change < 0 and x.count < x.previous_count),
        key=lambda x: x.change,
        default=None,
    )
    first_day, last_day = _days(start, end, tz)
    previous_first_day, previous_last_day = _days(prev_start, prev_end, tz)
    return WeekStats(
        week=week,
        first_day=first_day,
        last_day=last_day,
        previous_first_day=previous_first_day,
        previous_last_day=previous_last_day,
        so_far=so_far,
        checks=checks,
        matched=matched,
        families=tuple(lines),
        riser=riser,
        faller=faller,
        top_rule_of_riser=top_rule[riser.family][1] if riser and riser.family in top_rule else None,
        rules_changed=rules_changed,
    )
