"""The live rule set: ids and versions read by the YAML parser, a revision that does not build
refused before Confirm and, if one is stored anyway, never blocking the ones after it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.engine import Engine
from bot.moderation.edits import add_phrase, set_status
from bot.moderation.live import LiveRules, rule_id_of, version_of, with_version
from bot.moderation.validate import check_change
from bot.storage.db import database, upgrade_sync
from bot.storage.moderation import commit_revision
from tests.conftest import RULES

RULE = "fake-courier-cs"
OTHER = "pay-to-account-lures"
ARGS = {"diff": "", "reason": "r", "author": "a", "action": "upload"}


def test_id_and_version_are_read_as_the_yaml_parser_reads_them() -> None:
    for text in (
        "id : ab-c\nversion : 3\n",
        '"id": ab-c\n"version": 3\n',
        "id:   ab-c\nversion: 3",
    ):
        assert rule_id_of(text) == "ab-c" and version_of(text) == 3, text
        assert version_of(with_version(text, 9)) == 9
    assert with_version("id : a1\nversion : 2 # kept\n", 3) == "id : a1\nversion : 3 # kept\n"
    # A nested id is not the rule's id; a missing version is added, not guessed.
    assert rule_id_of("stages:\n  - id: x1\n") is None
    assert version_of(with_version("# head\nid: a1\n", 4)) == 4


def test_an_id_written_with_a_space_before_the_colon_is_checked_like_any_other(
    engine: Engine,
) -> None:
    """Before: read with the id '' — no example and no baseline message was checked, the
    preview said 0 of N, and the revision was stored under the rule id ''."""
    live = LiveRules(RULES, engine)
    current = live.get(RULE)
    assert current is not None
    text = current.text
    for where in ("pretext", "compensation"):
        text = add_phrase(text, where, "快递")
    text = text.replace(f"id: {RULE}", f"id : {RULE}", 1)
    assert f"id : {RULE}" in text
    checked = check_change(live, current.name, text, ["快递到了，快递放门口了，快递员说的"])
    assert checked.rule_id == RULE
    assert checked.scam_total > 0 and checked.baseline_total == 1
    assert not checked.ok and checked.baseline_hits


def test_a_new_rule_must_be_sent_under_the_name_it_will_live_in(engine: Engine) -> None:
    live = LiveRules(RULES, engine)
    current = live.get(RULE)
    assert current is not None
    text = current.text.replace(f"id: {RULE}", "id: courier-copy", 1)
    checked = check_change(live, "courier-copy.yml", text, [])
    assert not checked.ok
    assert any("courier-copy.yaml" in p for p in checked.problems), checked.problems


def test_a_revision_that_does_not_build_never_blocks_the_later_ones(
    tmp_path: Path, engine: Engine
) -> None:
    """Before: one stored revision under the id '' made every rebuild fail ("live/.yaml: id
    ... must equal the file name ''"), so a later /disable was stored, confirmed and never in
    force. Now the bad revision is set aside (and named), the rest goes live."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade_sync(url)
    live = LiveRules(RULES, engine)
    courier = live.get(RULE)
    other = live.get(OTHER)
    assert courier is not None and other is not None
    testing = with_version(set_status(courier.text, "testing"), courier.version + 1)

    async def go() -> None:
        async with database(url) as sessions:
            # The revision stored under the id '' by the old code.
            bad = courier.text.replace(f"id: {RULE}", f"id : {RULE}-2", 1)
            await commit_revision(
                sessions, rule_id="", base_version=0, yaml_text=bad, version=1, **ARGS
            )
            # A good revision of the courier rule, then a broken one on top of it.
            await commit_revision(
                sessions,
                rule_id=RULE,
                base_version=courier.version,
                yaml_text=testing,
                **ARGS,
            )
            await commit_revision(
                sessions,
                rule_id=RULE,
                base_version=courier.version + 1,
                yaml_text=with_version(
                    courier.text.replace("severity:", "severity: nonsense\nx:", 1),
                    courier.version + 2,
                ),
                **ARGS,
            )
            # Another moderator's /disable of another rule, after both.
            disabled = with_version(set_status(other.text, "disabled"), other.version + 1)
            await commit_revision(
                sessions, rule_id=OTHER, base_version=other.version, yaml_text=disabled, **ARGS
            )
            assert await live.refresh(sessions)

        in_force = live.get(OTHER)
        assert in_force is not None and in_force.version == other.version + 1
        assert all(cr.rule.id != OTHER for cr in live.engine().rules.rules)
        # The courier rule falls back to its last revision that builds (testing), not further.
        rf = live.get(RULE)
        assert rf is not None and rf.version == courier.version + 1
        assert "status: testing" in rf.text
        assert set(live.broken) == {"", RULE}
        assert live.broken[RULE].version == courier.version + 2
        assert live.broken[RULE].in_force == courier.version + 1
        assert any("severity" in p for p in live.broken[RULE].problems)
        assert live.broken[""].in_force is None
        assert ".yaml" not in live.files

    asyncio.run(go())
