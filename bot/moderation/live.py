"""The rules in force: bundled files overlaid with the newest moderator revisions.

Owns: which text of each rule file is live (the higher version wins, a revision on a tie: a
release that ships a newer bundled rule takes over from an older revision), building the engine
for it off the event loop, and noticing new revisions (every process polls one number) so a
change confirmed in one process is in force in every process within seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.engine import Engine
from bot.engine.loader import RuleSetError, rule_file_names
from bot.engine.model import ID_PATTERN
from bot.metrics import set_rule_versions
from bot.storage.moderation import Sessions, latest_revisions, revision_marker, rule_history

log = logging.getLogger(__name__)

_ID_RE = re.compile(ID_PATTERN)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Header:
    """The top-level ``id`` and ``version`` of a rule file, as the YAML parser reads them."""

    id: str | None = None
    version: int = 0
    # Where the version's value is in the text (character offsets), to rewrite only it.
    version_span: tuple[int, int] | None = None
    first_key: int | None = None  # offset of the first top-level key (block mappings)


def _scalar_value(event: yaml.ScalarEvent) -> object:
    if event.style:  # quoted: a string, as the loader reads it
        return event.value
    try:
        return yaml.safe_load(event.value) if len(event.value) < 64 else event.value
    except yaml.YAMLError:
        return event.value


def _at(mark: object) -> int:
    index = getattr(mark, "index", None)
    if not isinstance(index, int):
        raise yaml.YAMLError("no position")
    return index


@functools.lru_cache(maxsize=256)
def rule_header(text: str) -> Header:
    """Read ``id`` and ``version`` with the YAML parser (events only: no recursion, no object
    built, so deep or hostile files cost nothing here; the loader refuses them properly).
    ``id : x`` and ``"id": x`` are read like ``id: x``, as the loader reads them."""
    rid: str | None = None
    version = 0
    span: tuple[int, int] | None = None
    first_key: int | None = None
    depth, is_key, key = 0, True, None
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                if depth == 0 and isinstance(event, yaml.SequenceStartEvent):
                    break
                if depth == 0:
                    first_key = None if event.flow_style else -1
                elif depth == 1 and is_key:
                    key = None  # a complex key: not one of ours
                depth += 1
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
                if depth == 0:
                    break
                if depth == 1:
                    is_key = not is_key
            elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent) and depth == 1:
                if is_key:
                    key = event.value if isinstance(event, yaml.ScalarEvent) else None
                    if first_key == -1:
                        first_key = _at(event.start_mark)
                elif isinstance(event, yaml.ScalarEvent) and key in ("id", "version"):
                    value = _scalar_value(event)
                    if key == "id" and isinstance(value, str) and rid is None:
                        rid = value
                    elif key == "version" and span is None:
                        if isinstance(value, str) and value.isascii() and value.isdigit():
                            value = int(value)  # the loader's schema reads "4" as 4 too
                        if isinstance(value, int) and not isinstance(value, bool):
                            version = value
                        span = (_at(event.start_mark), _at(event.end_mark))
                is_key = not is_key
            elif isinstance(event, yaml.DocumentEndEvent):
                break
    except yaml.YAMLError:
        pass
    return Header(rid, version, span, first_key if first_key != -1 else None)


def rule_id_of(text: str) -> str | None:
    """The rule id written in ``text`` (None if there is none, or it is not a valid id)."""
    rid = rule_header(text).id
    return rid if rid is not None and _ID_RE.match(rid) else None


def version_of(text: str) -> int:
    return rule_header(text).version


def with_version(text: str, version: int) -> str:
    """The same YAML with its top-level ``version:`` set, layout and comments untouched."""
    header = rule_header(text)
    if header.version_span is not None:
        start, end = header.version_span
        return f"{text[:start]}{version}{text[end:]}"
    if header.first_key is not None:
        at = header.first_key
        return f"{text[:at]}version: {version}\n{text[at:]}"
    return f"version: {version}\n{text}"


@dataclass(frozen=True)
class RuleFile:
    name: str  # file name, e.g. fake-courier-cs.yaml
    text: str
    version: int
    revised: bool  # from a moderator revision rather than the bundled file


@dataclass(frozen=True)
class Broken:
    """A stored revision that does not build: not in force, ``in_force`` is (None: no version
    of the rule is loaded)."""

    rule_id: str
    version: int
    problems: tuple[str, ...]
    file_name: str
    in_force: int | None


MAX_BUILD_ATTEMPTS = 6


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
        self.broken: dict[str, Broken] = {}  # rule id -> its newest revision, which fails
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
        bundled: Mapping[str, str],
        revisions: Mapping[str, tuple[int, str]],
        placed: dict[str, tuple[str, int]] | None = None,
    ) -> dict[str, str]:
        """``revisions``: rule id -> (version, text). Returns the live files; ``placed`` (if
        given) gets file name -> (rule id, version) of every revision used."""
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
            if placed is not None:
                placed[name] = (rule_id, version)
        return files

    def file_name_for(self, rule_id: str) -> str:
        """The file a revision of ``rule_id`` is overlaid on (what ``overlay`` does)."""
        for name in rule_file_names(self.bundled):
            if rule_id_of(self.bundled[name]) == rule_id:
                return name
        return f"{rule_id}.yaml"

    async def refresh(self, sessions: Sessions) -> bool:
        """Load new revisions if there are any; True if the live rules changed.

        A revision that does not build never blocks the others: its rule falls back to its
        newest earlier revision that builds (or the bundled file, or nothing for a new rule),
        the rest goes live, and ``broken`` says which revision failed and why."""
        async with self._lock:
            marker = await revision_marker(sessions)
            if marker == self.marker:
                return False
            latest = await latest_revisions(sessions)
            revisions = {rid: (r.version, r.yaml_text) for rid, r in latest.items()}
            placed: dict[str, tuple[str, int]] = {}
            files = self.overlay(self.bundled, revisions, placed)
            built = await self._build_what_builds(sessions, files, placed)
            self.marker = marker
            if built is None:
                return False
            engine, files, broken = built
            self.broken = broken
            if files == self.files:
                return False
            self.files, self._engine = files, engine
            self.revised = {n for n in files if files[n] != self.bundled.get(n)}
            set_rule_versions({rid: rf.version for rid, rf in self.rules().items()})
            log.info("live rules reloaded: %d revised rule(s)", len(self.revised))
            return True

    async def _build_what_builds(
        self, sessions: Sessions, files: dict[str, str], placed: dict[str, tuple[str, int]]
    ) -> tuple[Engine, dict[str, str], dict[str, Broken]] | None:
        broken: dict[str, Broken] = {}
        fallbacks: dict[str, list[tuple[int, str | None]]] = {}
        for _ in range(MAX_BUILD_ATTEMPTS):
            if files == self.files:
                # Nothing new in force: what was found broken before still is.
                return self._engine, files, self._mark_in_force(broken or self.broken, files)
            try:
                engine = await asyncio.to_thread(Engine.from_files, files, "live")
                return engine, files, self._mark_in_force(broken, files)
            except RuleSetError as exc:
                problems = [(p.path.removeprefix("live/"), str(p)) for p in exc.problems]
            except Exception as exc:  # noqa: BLE001 - whatever it is, find the revision
                problems = [("", f"{type(exc).__name__}: {exc}")]
            bad = sorted({n for n, _ in problems if n in placed})
            if not bad:
                # Not attributable to one file: suspect the revisions not yet in force.
                bad = sorted(n for n in placed if files[n] != self.files.get(n))
            if not bad:
                break
            for name in bad:
                rule_id, version = placed.pop(name)
                if name not in fallbacks:
                    older = [
                        (r.version, r.yaml_text)
                        for r in await rule_history(sessions, rule_id)
                        if r.version < version
                    ]
                    bundled = self.bundled.get(name)
                    fallbacks[name] = [*older, (version_of(bundled or ""), bundled)]
                    said = [text for n, text in problems if n in (name, "")]
                    broken[rule_id] = Broken(rule_id, version, tuple(said[:5]), name, None)
                    log.error(
                        "rule revision %s v%d cannot be built, so it is not in force: %s",
                        rule_id,
                        version,
                        "; ".join(said[:3]),
                    )
                older_version, text = fallbacks[name].pop(0)
                if text is None:
                    files.pop(name, None)
                else:
                    files[name] = text
                    if fallbacks[name]:  # an older revision (not the bundled file): may fail too
                        placed[name] = (rule_id, older_version)
        log.error("live rules failed to build; keeping the rules in force")
        return None

    @staticmethod
    def _mark_in_force(broken: dict[str, Broken], files: Mapping[str, str]) -> dict[str, Broken]:
        out = {}
        for rule_id, b in broken.items():
            text = files.get(b.file_name)
            out[rule_id] = dataclasses.replace(b, in_force=version_of(text) if text else None)
        return out
