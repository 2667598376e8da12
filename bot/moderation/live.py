"""The rules in force: bundled files overlaid with the newest moderator revisions.

Owns: which text of each rule file is live (the higher version wins, a revision on a tie: a
release that ships a newer bundled rule takes over from an older revision), building the engine
for it off the event loop, and noticing new revisions (every process polls one number) so a
change confirmed in one process is in force in every process within seconds.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.engine import Engine
from bot.engine.loader import rule_file_names
from bot.metrics import set_rule_versions
from bot.storage.moderation import Sessions, latest_revisions, revision_marker

log = logging.getLogger(__name__)

_ID = re.compile(r"(?m)^id:\s*['\"]?([a-z0-9][a-z0-9_-]*)")
_VERSION = re.compile(r"(?m)^version:\s*(\d+)")


def rule_id_of(text: str) -> str | None:
    m = _ID.search(text)
    return m.group(1) if m else None


def version_of(text: str) -> int:
    m = _VERSION.search(text)
    return int(m.group(1)) if m else 0


def with_version(text: str, version: int) -> str:
    """The same YAML with its top-level ``version:`` set, layout and comments untouched."""
    new, n = _VERSION.subn(f"version: {version}", text, count=1)
    return new if n else f"version: {version}\n{new}"


@dataclass(frozen=True)
class RuleFile:
    name: str  # file name, e.g. fake-courier-cs.yaml
    text: str
    version: int
    revised: bool  # from a moderator revision rather than the bundled file


class LiveRules:
    """The live rule files and the engine built from them."""

    def __init__(self, bundled_dir: Path, engine: Engine | None = None) -> None:
        """``engine``: one already built from ``bundled_dir`` (saves building it twice)."""
        self.bundled_dir = bundled_dir
        self.bundled: dict[str, str] = {
            p.name: p.read_text(encoding="utf-8") for p in sorted(bundled_dir.glob("*.y*ml"))
        }
        self.files: dict[str, str] = dict(self.bundled)
        self.revised: set[str] = set()
        self.marker: tuple[int, int] = (-1, -1)
        self._engine = engine or Engine.from_files(self.files, str(bundled_dir))
        self._lock = asyncio.Lock()
        set_rule_versions({rid: rf.version for rid, rf in self.rules().items()})

    # -- reading ------------------------------------------------------------------------------

    def engine(self) -> Engine:
        return self._engine

    def rules(self) -> dict[str, RuleFile]:
        """Rule id -> its live file."""
        out = {}
        for name in rule_file_names(self.files):
            text = self.files[name]
            rid = rule_id_of(text) or name.rsplit(".", 1)[0]
            out[rid] = RuleFile(name, text, version_of(text), name in self.revised)
        return out

    def get(self, rule_id: str) -> RuleFile | None:
        return self.rules().get(rule_id)

    def bundled_text(self, rule_id: str) -> str | None:
        for name in rule_file_names(self.bundled):
            if rule_id_of(self.bundled[name]) == rule_id:
                return self.bundled[name]
        return None

    # -- following the database ------------------------------------------------------------------

    @staticmethod
    def overlay(
        bundled: Mapping[str, str], revisions: Mapping[str, tuple[int, str]]
    ) -> dict[str, str]:
        """``revisions``: rule id -> (version, text). Returns the live files."""
        files = dict(bundled)
        by_id = {rule_id_of(t): n for n, t in bundled.items() if not n.startswith("_")}
        for rule_id, (version, text) in revisions.items():
            name = by_id.get(rule_id, f"{rule_id}.yaml")
            if name in bundled and version_of(bundled[name]) > version:
                log.warning(
                    "bundled %s (version %d) is newer than its revision %d; the bundled file wins",
                    rule_id,
                    version_of(bundled[name]),
                    version,
                )
                continue
            files[name] = text
        return files

    async def refresh(self, sessions: Sessions) -> bool:
        """Load new revisions if there are any; True if the live rules changed."""
        async with self._lock:
            marker = await revision_marker(sessions)
            if marker == self.marker:
                return False
            latest = await latest_revisions(sessions)
            revisions = {rid: (r.version, r.yaml_text) for rid, r in latest.items()}
            files = self.overlay(self.bundled, revisions)
            if files == self.files:
                self.marker = marker
                return False
            try:
                engine = await asyncio.to_thread(Engine.from_files, files, "live")
            except Exception:
                log.exception("live rules failed to build; keeping the rules in force")
                self.marker = marker
                return False
            self.files, self._engine, self.marker = files, engine, marker
            self.revised = {n for n in files if files[n] != self.bundled.get(n)}
            set_rule_versions({rid: rf.version for rid, rf in self.rules().items()})
            log.info("live rules reloaded: %d revised rule(s)", len(self.revised))
            return True
