"""Assemble one week's digest: statistics, text in the reader's language, the chart.

Owns: choosing the week (the current one in the digest's time zone unless given) and the
seasonal line, so the bot's /digest, the broadcast and the command-line preview say the same.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
from dataclasses import dataclass
from html import unescape
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.digest.render import render_chart, render_text
from bot.digest.stats import WeekStats, week_id, weekly_stats
from bot.engine import Engine
from bot.lang import Lang, rule_text
from bot.settings import DigestSettings

CAPTION_LIMIT = 1024


@dataclass(frozen=True)
class Digest:
    stats: WeekStats
    html: str
    chart_png: bytes

    @property
    def fits_caption(self) -> bool:
        """Whether the text fits under the chart as one message (Telegram: 1024 characters,
        counted in UTF-16 units after the HTML is parsed); otherwise it takes two."""
        plain = unescape(re.sub(r"<[^>]*>", "", self.html))
        return len(plain.encode("utf-16-le")) // 2 <= CAPTION_LIMIT

    @property
    def messages(self) -> int:
        return 1 if self.fits_caption else 2


def seasonal_line(settings: DigestSettings, moment: dt.datetime, lang: Lang) -> str | None:
    local = moment.astimezone(ZoneInfo(settings.timezone))
    today = local.strftime("%m-%d")
    for note in settings.seasonal:
        inside = (
            note.start <= today <= note.end
            if note.start <= note.end
            else (today >= note.start or today <= note.end)
        )
        if inside:
            return rule_text(note.zh, note.en, lang)
    return None


async def build_digest(
    sessions: async_sessionmaker[AsyncSession],
    settings: DigestSettings,
    lang: Lang,
    engine: Engine | None,
    *,
    week: str | None = None,
    now: dt.datetime | None = None,
) -> Digest:
    tz = ZoneInfo(settings.timezone)
    now = now or dt.datetime.now(dt.UTC)
    week = week or week_id(now, tz)
    stats = await weekly_stats(sessions, week, tz, settings.min_family_hits, now=now)
    text = render_text(stats, lang, engine, seasonal_line(settings, now, lang))
    # Drawing the chart takes matplotlib a good fraction of a second: off the event loop, so
    # a /digest never holds up other people's answers.
    chart = await asyncio.to_thread(_chart, stats, lang, settings.min_family_hits)
    return Digest(stats, text, chart)


# matplotlib's settings (the font of the chart) are global: one chart at a time across threads.
_MATPLOTLIB = threading.Lock()


def _chart(stats: WeekStats, lang: Lang, min_hits: int) -> bytes:
    with _MATPLOTLIB:
        return render_chart(stats, lang, min_hits)
