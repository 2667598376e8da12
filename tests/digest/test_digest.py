"""The weekly digest: exact numbers from a known week of hits, text in zh and en, the chart,
the command-line preview and /digest in the bot."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.digest.build import build_digest, seasonal_line
from bot.digest.render import render_chart, render_text
from bot.digest.stats import OTHER, share_history, week_bounds, weekly_stats
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
    assert stats.riser.family == "fake_customer_service"  # type: ignore[attr-defined]
    assert stats.faller.family == "order_brushing"  # type: ignore[attr-defined]
    assert "romance" not in lines  # a small count is never shown on its own


def test_text_in_chinese_and_english(db_url: str) -> None:
    async def go() -> object:
        await seeded(db_url)
        async with database(db_url) as sessions:
            return await weekly_stats(sessions, WEEK, TZ, min_family_hits=5)

    stats = asyncio.run(go())
    zh = render_text(stats, "zh-hans", None)  # type: ignore[arg-type]
    assert "本周共检查 80 条消息，其中 60 条" in zh
    assert (
        "冒充客服: 50.0% (+10.0)" in zh
        and "刷单返利: 25.0% (-15.0)" in zh
        and "其他: 5.0% (+5.0)" in zh
    )
    assert "上升最多：冒充客服，占 50.0%，上升 10.0 个百分点" in zh
    assert "下降最多：刷单返利，占 25.0%，下降 15.0 个百分点" in zh
    en = render_text(stats, "en", None)  # type: ignore[arg-type]
    assert "80 messages were checked this week; 60 matched" in en
    assert "Biggest riser: Fake customer service, 50.0% of cases, up 10.0 points." in en
    assert "Biggest faller: Order brushing / task jobs, 25.0% of cases, down 15.0 points." in en
    hant = render_text(stats, "zh-hant", None)  # type: ignore[arg-type]
    assert "本週共檢查 80 則訊息" in hant


def test_chart_is_a_phone_sized_png(db_url: str) -> None:
    async def go() -> bytes:
        await seeded(db_url)
        async with database(db_url) as sessions:
            history = await share_history(sessions, WEEK, TZ)
        assert [w for w, _ in history][-2:] == ["2026-W46", WEEK] and len(history) == 8
        return render_chart(history, "zh-hans", 5)

    png = asyncio.run(go())
    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG" and img.size[0] >= 1000


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
