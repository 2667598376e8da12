"""The weekly digest: exact numbers from a known week of hits, text in zh and en, the chart as a
reader sees it (every family of the text, the riser marked, dates, the reader's script), the
command-line preview and /digest in the bot."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.digest.build import build_digest, seasonal_line
from bot.digest.render import (
    ChartSpec,
    chart_spec,
    count_change,
    day_span,
    draw_chart,
    family_name,
    render_chart,
    render_text,
)
from bot.digest.stats import OTHER, FamilyLine, WeekStats, week_bounds, weekly_stats
from bot.lang import LANGS, Lang, to_traditional
from bot.settings import load_settings
from bot.storage import HitWriter
from bot.storage.db import database
from tests.conftest import ROOT, bundled_engine
from tests.storage.test_hits import record

TZ = ZoneInfo("Asia/Shanghai")
WEEK = "2026-W47"


def hits(week: str, counts: dict[str | None, int]) -> list[object]:
    start, _ = week_bounds(week, TZ)
    out = []
    for fam, n in counts.items():
        for i in range(n):
            r = record(i, start + dt.timedelta(hours=1 + i))
            out.append(
                dataclasses.replace(
                    r,
                    family=fam,
                    rule_id=None if fam is None else "fake-courier-cs",
                    risk="none" if fam is None else "high",
                )
            )
    return out


async def seeded(url: str) -> None:
    async with database(url) as sessions:
        writer = HitWriter(sessions)
        # Last week: 50 matched (A 20, B 20, C 10) + 10 unmatched.
        writer.record(
            hits(
                "2026-W46",
                {"fake_customer_service": 20, "order_brushing": 20, "investment": 10, None: 10},
            )
        )  # type: ignore[arg-type]
        # This week: 60 matched (A 30, B 15, C 12, D 3) + 20 unmatched.
        writer.record(
            hits(
                WEEK,
                {
                    "fake_customer_service": 30,
                    "order_brushing": 15,
                    "investment": 12,
                    "romance": 3,
                    None: 20,
                },
            )
        )  # type: ignore[arg-type]
        assert await writer.flush()


def test_numbers_shares_and_point_changes_are_exact(db_url: str) -> None:
    async def go() -> object:
        await seeded(db_url)
        async with database(db_url) as sessions:
            return await weekly_stats(sessions, WEEK, TZ, min_family_hits=5)

    stats = asyncio.run(go())
    # Hand-computed: A 30/60 = 50.0% (last 20/50 = 40.0%, +10.0); B 15/60 = 25.0% (40.0%, -15.0);
    # C 12/60 = 20.0% (20.0%, 0.0); D has 3 < 5 hits -> "other" 3/60 = 5.0% (last 0.0%, +5.0).
    assert stats.checks == 80 and stats.matched == 60  # type: ignore[attr-defined]
    lines = {f.family: (f.count, f.share, f.previous_share, f.change) for f in stats.families}  # type: ignore[attr-defined]
    assert lines == {
        "fake_customer_service": (30, 50.0, 40.0, 10.0),
        "order_brushing": (15, 25.0, 40.0, -15.0),
        "investment": (12, 20.0, 20.0, 0.0),
        OTHER: (3, 5.0, 0.0, 5.0),
    }
    previous = {f.family: f.previous_count for f in stats.families}  # type: ignore[attr-defined]
    assert previous == {
        "fake_customer_service": 20,
        "order_brushing": 20,
        "investment": 10,
        OTHER: 0,
    }
    assert stats.riser.family == "fake_customer_service"  # type: ignore[attr-defined]
    assert stats.faller.family == "order_brushing"  # type: ignore[attr-defined]
    assert "romance" not in lines  # a small count is never shown on its own
    assert (stats.first_day, stats.last_day) == (dt.date(2026, 11, 16), dt.date(2026, 11, 22))  # type: ignore[attr-defined]
    assert stats.previous_first_day == dt.date(2026, 11, 9) and not stats.so_far  # type: ignore[attr-defined]


def test_a_week_under_way_is_compared_with_the_same_stretch_of_last_week(db_url: str) -> None:
    start, _ = week_bounds(WEEK, TZ)
    now = start + dt.timedelta(hours=12, minutes=30)  # hits at hours 1..12 count: 12 a family

    async def go() -> WeekStats:
        await seeded(db_url)
        async with database(db_url) as sessions:
            return await weekly_stats(sessions, WEEK, TZ, min_family_hits=5, now=now)

    stats = asyncio.run(go())
    counts = {f.family: (f.count, f.previous_count) for f in stats.families}
    # Last week's order brushing: 12 in its first 12 hours, not the whole week's 20.
    assert counts == {
        "fake_customer_service": (12, 12),
        "order_brushing": (12, 12),
        "investment": (12, 10),
        OTHER: (3, 0),
    }
    assert stats.so_far and stats.first_day == stats.last_day == dt.date(2026, 11, 16)
    assert stats.previous_first_day == stats.previous_last_day == dt.date(2026, 11, 9)
    assert "（11月16日，截至目前）" in render_text(stats, "zh-hans", None)
    assert "(Nov 16, so far)" in render_text(stats, "en", None)


def test_text_in_chinese_and_english(db_url: str) -> None:
    async def go() -> object:
        await seeded(db_url)
        async with database(db_url) as sessions:
            return await weekly_stats(sessions, WEEK, TZ, min_family_hits=5)

    stats = asyncio.run(go())
    zh = render_text(stats, "zh-hans", None)  # type: ignore[arg-type]
    assert "本周反诈速报（11月16日–22日）" in zh
    assert "本周共检查 80 条消息，其中 60 条" in zh
    assert (
        "冒充客服：30 条，占 50.0%（+10.0 个百分点）" in zh
        and "刷单返利：15 条，占 25.0%（-15.0 个百分点）" in zh
        and "虚假投资理财：12 条，占 20.0%（持平）" in zh
        and "其他：3 条，占 5.0%（+5.0 个百分点）" in zh
    )
    assert "上升最多：冒充客服，30 条（上周 20 条），占 50.0%，上升 10.0 个百分点" in zh
    assert "下降最多：刷单返利，15 条（上周 20 条），占 25.0%，下降 15.0 个百分点" in zh
    en = render_text(stats, "en", None)  # type: ignore[arg-type]
    assert "Weekly scam report (Nov 16–22)" in en
    assert "80 messages were checked this week; 60 matched" in en
    assert "Fake customer service: 30, 50.0% (+10.0 percentage points)" in en
    assert (
        "Biggest riser: Fake customer service, 30 messages (last week 20), 50.0% of cases, "
        "up 10.0 percentage points." in en
    )
    assert "down 15.0 percentage points." in en
    hant = render_text(stats, "zh-hant", None)  # type: ignore[arg-type]
    assert "本週共檢查 80 則訊息" in hant and "本週防詐快報（11月16日–22日）" in hant
    assert "上升 10.0 個百分點" in hant


def test_every_share_in_the_text_says_percentage_points(db_url: str) -> None:
    stats = asyncio.run(_stats(db_url))
    unit = {"zh-hans": "个百分点", "zh-hant": "個百分點", "en": "percentage points"}
    level = {"zh-hans": "持平", "zh-hant": "持平", "en": "no change"}
    for lang in LANGS:
        text = render_text(stats, lang, None)
        shares = [line for line in text.splitlines() if "%" in line]
        assert len(shares) == len(stats.families) + 2  # each family, the riser, the faller
        assert all(unit[lang] in line or level[lang] in line for line in shares), shares
        assert not re.search(r"[+-]\d+\.\d(?!%| ?(个|個|percentage))", text), text


async def _stats(db_url: str) -> WeekStats:
    await seeded(db_url)
    async with database(db_url) as sessions:
        return await weekly_stats(sessions, WEEK, TZ, min_family_hits=5)


def chart_words(spec: ChartSpec) -> list[str]:
    """Every text drawn on the chart: title, dates, names, counts, changes, axis label, note."""
    from matplotlib.text import Text

    fig = draw_chart(spec)
    return [t.get_text() for t in fig.findobj(Text) if t.get_text() and t.get_visible()]


@pytest.mark.parametrize("lang", LANGS)
def test_the_chart_shows_every_family_the_text_names(db_url: str, lang: Lang) -> None:
    stats = asyncio.run(_stats(db_url))
    text = render_text(stats, lang, None)
    drawn = chart_words(chart_spec(stats, lang, 5))
    names = [family_name(f.family, lang) for f in stats.families]
    assert all(f"• {name}" in text for name in names)
    assert [w for w in drawn if w in names] == names  # each once, most first, "other" last
    counts = [str(f.count) for f in stats.families]
    assert all(c in drawn for c in counts)


def test_the_chart_gives_the_change_and_marks_the_riser(db_url: str) -> None:
    stats = asyncio.run(_stats(db_url))
    spec = chart_spec(stats, "en", 5)
    changes = {r.family: r.change for r in spec.rows}
    # 20 -> 30, 20 -> 15, 10 -> 12; "other" had nothing last week: "new", never a percent of 0.
    assert changes == {
        "fake_customer_service": "▲ +10 (+50%)",
        "order_brushing": "▼ −5 (−25%)",
        "investment": "▲ +2 (+20%)",
        OTHER: "new",
    }
    [riser] = [r for r in spec.rows if r.riser]
    assert riser.family == stats.riser.family == "fake_customer_service"  # type: ignore[union-attr]
    assert "▲ Biggest riser" in chart_words(spec)
    fig = draw_chart(spec)
    from matplotlib.patches import Rectangle

    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    colours = [p.get_facecolor() for p in bars]
    assert len(bars) == len(spec.rows)
    assert colours.count(colours[0]) == 1  # the riser (top bar) is the only one in its colour


def test_small_counts_stay_honest() -> None:
    def line(count: int, previous: int) -> FamilyLine:
        return FamilyLine("romance", count, previous, 0.0, 0.0, 0.0)

    assert count_change(line(9, 4), "en") == "▲ +5"  # no "+125%" from four messages
    assert count_change(line(7, 0), "zh-hans") == "新出现"
    assert count_change(line(7, 0), "zh-hant") == "新出現"
    assert count_change(line(12, 12), "en") == "same"
    assert count_change(line(8, 40), "en") == "▼ −32 (−80%)"


def test_dates_as_a_reader_writes_them() -> None:
    d = dt.date
    assert day_span(d(2026, 11, 30), d(2026, 12, 6), "en") == "Nov 30 – Dec 6"
    assert day_span(d(2026, 12, 7), d(2026, 12, 13), "en") == "Dec 7–13"
    assert day_span(d(2026, 11, 30), d(2026, 12, 6), "zh-hans") == "11月30日–12月6日"
    assert day_span(d(2026, 12, 7), d(2026, 12, 13), "zh-hant") == "12月7日–13日"
    assert day_span(d(2026, 12, 28), d(2027, 1, 3), "en") == "Dec 28, 2026 – Jan 3, 2027"
    assert day_span(d(2026, 12, 28), d(2027, 1, 3), "zh-hans") == "2026年12月28日–2027年1月3日"


@pytest.mark.parametrize("lang", LANGS)
def test_the_chart_has_dates_not_iso_weeks(db_url: str, lang: Lang) -> None:
    stats = asyncio.run(_stats(db_url))
    drawn = " | ".join(chart_words(chart_spec(stats, lang, 5)))
    text = render_text(stats, lang, None)
    this, last = {"en": ("Nov 16–22", "Nov 9–15")}.get(lang, ("11月16日–22日", "11月9日–15日"))
    assert this in drawn and last in drawn and this in text
    assert not re.search(r"W\d\d", drawn + text)


# Characters that exist only in one script (a few dozen the digest would use).
SIMPLIFIED_ONLY = set("类诈骗数条这与为侧变统计则够资讯网络购贷领导恋戏单检们时间")
TRADITIONAL_ONLY = set("類詐騙數週則這與為側變統計訊網絡購貸領導戀戲單檢們時間")


@pytest.mark.parametrize("lang", LANGS)
def test_every_chart_label_is_in_the_readers_script(db_url: str, lang: Lang) -> None:
    stats = asyncio.run(_stats(db_url))
    drawn = "".join(chart_words(chart_spec(stats, lang, 5)))
    if lang == "en":
        assert not re.search(r"[\u3000-\u9fff\uff00-\uffef]", drawn), drawn
    elif lang == "zh-hant":
        assert not set(drawn) & SIMPLIFIED_ONLY
        assert to_traditional(drawn) == drawn  # as OpenCC (Taiwan) writes it
        assert "各類詐騙訊息數" in drawn
    else:
        assert not set(drawn) & TRADITIONAL_ONLY
        assert "各类诈骗消息数" in drawn


def test_chart_is_a_phone_sized_png(db_url: str) -> None:
    stats = asyncio.run(_stats(db_url))
    png = render_chart(stats, "zh-hans", 5)
    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG" and 1000 <= img.size[0] <= 1280 and img.size[1] <= 1600


def test_an_empty_week_says_so_on_the_chart() -> None:
    day = dt.date(2026, 11, 16)
    empty = WeekStats(WEEK, day, day, day, day, False, 0, 0, (), None, None, None, ())
    drawn = chart_words(chart_spec(empty, "zh-hant", 5))
    assert "本週暫無資料" in drawn and "各類詐騙訊息數" in drawn
    assert render_chart(empty, "en", 5).startswith(b"\x89PNG")


def test_seasonal_line_by_date() -> None:
    settings = load_settings(ROOT / "config.yaml", environ={}).digest
    nov = dt.datetime(2026, 11, 5, 2, tzinfo=dt.UTC)
    assert "双十一" in (seasonal_line(settings, nov, "zh-hans") or "")
    assert seasonal_line(settings, dt.datetime(2026, 9, 1, tzinfo=dt.UTC), "en") is None


def test_build_digest_includes_the_flow_of_the_week(db_url: str) -> None:

    async def go() -> str:
        await seeded(db_url)
        settings = load_settings(ROOT / "config.yaml", environ={}).digest
        async with database(db_url) as sessions:
            d = await build_digest(
                sessions,
                settings,
                "en",
                bundled_engine(),
                week=WEEK,
                now=dt.datetime(2026, 11, 20, 3, tzinfo=dt.UTC),
            )
        return d.html

    html = asyncio.run(go())
    assert "Flow of the week: Fake courier or online-shop customer service" in html
    assert "Singles&#x27; Day" in html  # escaped, as in every reply


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_preview_from_the_command_line_with_sample_data(tmp_path: Path, lang: str) -> None:
    out = tmp_path / "chart.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "digest",
            "preview",
            "--sample",
            "--week",
            WEEK,
            "--lang",
            lang,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "SENTINEL_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)},
    )
    assert ("本周共检查" if lang == "zh" else "messages were checked") in result.stdout
    assert out.stat().st_size > 10_000


def test_every_bundled_family_has_a_name_in_both_languages() -> None:
    """A digest must never show a reader an internal id such as "advance_fee"."""
    from bot.digest.render import FAMILY_NAMES

    families = {c.rule.family for c in bundled_engine().rules.rules}
    unnamed = sorted(f for f in families if f not in FAMILY_NAMES)
    assert unnamed == []
    assert all(FAMILY_NAMES[f]["zh"] and FAMILY_NAMES[f]["en"] for f in families)
