"""The checks every rule change passes, and the live rule set they apply to."""

from __future__ import annotations

from pathlib import Path

from bot.engine import Engine
from bot.moderation.edits import add_phrase
from bot.moderation.live import LiveRules, version_of, with_version
from bot.moderation.validate import check_change, load_baseline
from tests.conftest import RULES

RULE = "fake-courier-cs"


def test_the_benign_baseline_never_warns(engine: Engine) -> None:
    baseline = load_baseline()
    assert len(baseline) >= 250
    hits = [m for m in baseline if engine.check(m).risk != "none"]
    assert hits == []


def test_a_good_edit_gets_the_next_version_a_diff_and_its_effect(engine: Engine) -> None:
    live = LiveRules(RULES, engine)
    current = live.get(RULE)
    assert current is not None
    new = add_phrase(current.text, "compensation", "五倍理赔")
    checked = check_change(live, current.name, new, load_baseline())
    assert checked.ok, checked.problems
    assert checked.new_version == current.version + 1
    assert version_of(checked.text) == current.version + 1
    assert "+          - 五倍理赔" in checked.diff
    assert checked.scam_hit == checked.scam_total > 0
    assert checked.baseline_hits == [] and checked.baseline_total >= 250
    assert live.get(RULE) == current  # checking changes nothing


def test_an_edit_that_warns_about_ordinary_messages_is_refused(engine: Engine) -> None:
    live = LiveRules(RULES, engine)
    current = live.get(RULE)
    assert current is not None
    # A phrase so common it would fire on ordinary courier notices.
    text = current.text
    for where in ("pretext", "compensation"):
        text = add_phrase(text, where, "快递")
    baseline = ["快递到了，快递放门口了，快递员说的"]
    checked = check_change(live, current.name, text, baseline)
    assert not checked.ok
    assert any("benign" in p or "ordinary" in p for p in checked.problems)


def test_a_newer_bundled_rule_wins_over_an_older_revision(tmp_path: Path) -> None:
    bundled = {"a.yaml": "id: a\nversion: 5\n", "_signals.yaml": "signals: {}\n"}
    assert LiveRules.overlay(bundled, {"a": (4, "id: a\nversion: 4\n")})["a.yaml"].endswith("5\n")
    assert LiveRules.overlay(bundled, {"a": (6, "id: a\nversion: 6\n")})["a.yaml"].endswith("6\n")
    assert with_version("id: a\n# keep me\nversion: 2\n", 7) == "id: a\n# keep me\nversion: 7\n"


def test_versions_commit_as_checked_and_only_a_newer_revision_conflicts(tmp_path: Path) -> None:
    import asyncio

    import pytest

    from bot.storage.db import database, upgrade_sync
    from bot.storage.moderation import Conflict, commit_revision

    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade_sync(url)

    async def go() -> None:
        async with database(url) as sessions:
            args = {"diff": "", "reason": "r", "author": "a", "action": "upload"}
            # A new rule that says version 3 is stored as version 3.
            v = await commit_revision(
                sessions, rule_id="new", base_version=0, yaml_text="x", version=3, **args
            )
            assert v == 3
            # A bundled file (v7) newer than the last revision (v3): editing it is no conflict.
            v = await commit_revision(
                sessions, rule_id="new", base_version=7, yaml_text="y", **args
            )
            assert v == 8
            # An edit made against v7 again, after v8 landed, is.
            with pytest.raises(Conflict):
                await commit_revision(
                    sessions, rule_id="new", base_version=7, yaml_text="z", **args
                )

    asyncio.run(go())
