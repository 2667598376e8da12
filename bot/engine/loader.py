"""Strict, total loading of rule files: every error with its file and line, then freeze.

Owns: reading YAML safely (size limit, no anchors or aliases, no duplicate keys), mapping schema
errors back to lines, and collecting every problem across every file before giving up. The same
functions serve the CLI, the test suite and (later) a moderator's uploaded edit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.engine.model import BrandFile, Rule, SignalLibrary

M = TypeVar("M", bound=BaseModel)

MAX_FILE_BYTES = 256 * 1024
# Collections inside collections: a rule needs about 8 (stages, a stage, its signals, a signal,
# its phrases…); deeper is a bomb (800 bytes of brackets overflowed Python's stack).
MAX_DEPTH = 32
SIGNALS_FILE = "_signals.yaml"
BRANDS_FILE = "_brands.yaml"


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One thing wrong with a rule file, located as precisely as we can."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class RuleSetError(Exception):
    """Raised with every problem found; nothing is half-loaded."""

    def __init__(self, problems: Iterable[RuleProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class RuleSource:
    """The parsed but not yet compiled rule set, with where each rule came from."""

    rules: tuple[Rule, ...]
    signals: SignalLibrary
    brands: BrandFile
    paths: Mapping[str, str] = field(default_factory=dict)  # rule id -> file
    lines: Mapping[str, Mapping[tuple[Any, ...], int]] = field(default_factory=dict)


class _NoAliasChecks:
    """Refuses anchors and aliases (rules never need them, bombs do) and nesting past
    MAX_DEPTH, while composing. Mixed into a safe loader."""

    depth = 0
    check_event: Any
    peek_event: Any

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.MappingStartEvent, yaml.SequenceStartEvent):
            if self.depth >= MAX_DEPTH:
                event = self.peek_event()
                raise yaml.MarkedYAMLError(
                    problem=f"nested more than {MAX_DEPTH} levels deep",
                    problem_mark=event.start_mark,
                )
            self.depth += 1
            try:
                return self._compose_checked(parent, index)
            finally:
                self.depth -= 1
        return self._compose_checked(parent, index)

    def _compose_checked(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                problem="anchors and aliases (& and *) are not allowed in rule files",
                problem_mark=event.start_mark,
            )
        event = self.peek_event()
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise yaml.MarkedYAMLError(
                problem="anchors and aliases (& and *) are not allowed in rule files",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)  # type: ignore[misc]


class _NoAliasLoader(_NoAliasChecks, yaml.SafeLoader):
    """Safe loader that refuses anchors, aliases and deep nesting. Only true/false are
    booleans (YAML 1.2), so a rule id or a phrase "no", "on" or "off" stays text."""


_FastNoAliasLoader: Any = _NoAliasLoader
try:
    from yaml._yaml import CParser  # libyaml, when PyYAML was built with it

    class _LibyamlNoAliasLoader(
        _NoAliasChecks,
        yaml.composer.Composer,
        CParser,
        yaml.constructor.SafeConstructor,
        yaml.resolver.Resolver,
    ):
        """The same loader with libyaml's scanner and parser (several times faster: rule files
        are parsed at every start and every moderator edit), composing in Python so that the
        checks above still see every node."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _FastNoAliasLoader = _LibyamlNoAliasLoader
except ImportError:  # pragma: no cover - PyYAML without libyaml: the pure-Python loader
    pass


for _loader in (_NoAliasLoader, _FastNoAliasLoader):
    _loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )


def _to_python(
    node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int], where: str
) -> Any:
    """Turn a composed node into plain data, recording the line of every path."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _resolve_scalar(key_node)
            if key in out:
                raise RuleProblemError(
                    RuleProblem(where, key_node.start_mark.line + 1, f"duplicate key {key!r}")
                )
            out[key] = _to_python(value_node, (*path, key), lines, where)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, (*path, i), lines, where) for i, v in enumerate(node.value)]
    return _resolve_scalar(node)


def _resolve_scalar(node: yaml.Node) -> Any:
    loader = _NoAliasLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


class RuleProblemError(Exception):
    def __init__(self, problem: RuleProblem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def yaml_error_location(exc: yaml.MarkedYAMLError) -> tuple[int | None, str]:
    """The line of a YAML error and a message that also names where the broken part began."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    message = f"YAML: {exc.problem or exc}"
    if exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
        message += f" ({exc.context} started at line {exc.context_mark.line + 1})"
    return line, message


def parse_yaml(text: str, where: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse one YAML document safely. Raises RuleProblemError with a line on any fault."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise RuleProblemError(
            RuleProblem(where, None, f"file is larger than {MAX_FILE_BYTES // 1024} KiB")
        )
    try:
        # Python's reader refuses control characters as soon as it is built (libyaml's own
        # check differs): run it first, then parse with libyaml.
        yaml.reader.Reader(text)
        loader = _FastNoAliasLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        what = f"character U+{exc.character:04X}" if isinstance(exc.character, int) else "byte"
        raise RuleProblemError(
            RuleProblem(where, line, f"YAML: {what} is not allowed in a rule file")
        ) from exc
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise RuleProblemError(RuleProblem(where, *yaml_error_location(exc))) from exc
    except yaml.YAMLError as exc:
        raise RuleProblemError(RuleProblem(where, None, f"YAML: {exc}")) from exc
    except RecursionError as exc:  # not expected past MAX_DEPTH; never a traceback anyway
        raise RuleProblemError(RuleProblem(where, None, "YAML: nested too deep")) from exc
    finally:
        loader.dispose()
    if node is None:
        raise RuleProblemError(RuleProblem(where, 1, "the file is empty"))
    lines: dict[tuple[Any, ...], int] = {}
    data = _to_python(node, (), lines, where)
    return data, lines


def _line_for(loc: tuple[Any, ...], lines: Mapping[tuple[Any, ...], int]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def validate_model(
    model: type[M], data: Any, where: str, lines: Mapping[tuple[Any, ...], int]
) -> tuple[M | None, list[RuleProblem]]:
    """Validate ``data`` against ``model``; schema errors come back with their lines."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(
                p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))
            )
            dotted = ".".join(str(p) for p in loc) or "(top level)"
            problems.append(RuleProblem(where, _line_for(loc, lines), f"{dotted}: {err['msg']}"))
        return None, problems


def load_rule_text(
    text: str, where: str
) -> tuple[Rule | None, dict[tuple[Any, ...], int], list[RuleProblem]]:
    """Parse and validate a single rule document (as a moderator would upload it)."""
    try:
        data, lines = parse_yaml(text, where)
    except RuleProblemError as exc:
        return None, {}, [exc.problem]
    rule, problems = validate_model(Rule, data, where, lines)
    return rule, lines, problems


def read_rule_dir(directory: Path) -> RuleSource:
    """Load every rule file in ``directory``; raise RuleSetError listing every problem."""
    source, problems = read_rule_dir_partial(directory)
    if problems or source is None:
        raise RuleSetError(problems)
    return source


def read_rule_dir_partial(directory: Path) -> tuple[RuleSource | None, list[RuleProblem]]:
    """Load what can be loaded and every problem found. The source holds only the rules that
    loaded cleanly (None if the shared files failed), so later checks can report on them too."""
    if not directory.is_dir():
        return None, [RuleProblem(str(directory), None, "rules directory not found")]
    files = {p.name: p.read_bytes() for p in sorted(directory.glob("*.y*ml"))}
    return read_rule_files_partial(files, str(directory))


def rule_file_names(files: Mapping[str, object]) -> list[str]:
    """The rule files among ``files`` (shared files start with "_"), in load order."""
    return sorted(n for n in files if not n.startswith("_") and n.endswith((".yaml", ".yml")))


def read_rule_files_partial(
    files: Mapping[str, str | bytes], origin: str
) -> tuple[RuleSource | None, list[RuleProblem]]:
    """Like ``read_rule_dir_partial`` for a rule set held in memory (file name -> content): the
    bundled files overlaid with moderators' revisions, or a set with one upload in it.
    Problems name ``origin/file``."""
    problems: list[RuleProblem] = []

    def text_of(name: str, where: str) -> str | None:
        raw = files[name]
        if isinstance(raw, str):
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(RuleProblem(where, None, "file is not UTF-8 text"))
            return None

    def load_aux(name: str, model: type[M]) -> M | None:
        where = f"{origin}/{name}"
        if name not in files:
            problems.append(RuleProblem(where, None, "required file is missing"))
            return None
        text = text_of(name, where)
        if text is None:
            return None
        try:
            data, lines = parse_yaml(text, where)
        except RuleProblemError as exc:
            problems.append(exc.problem)
            return None
        obj, errs = validate_model(model, data, where, lines)
        problems.extend(errs)
        return obj

    signals = load_aux(SIGNALS_FILE, SignalLibrary)
    brands = load_aux(BRANDS_FILE, BrandFile)

    rules: list[Rule] = []
    paths: dict[str, str] = {}
    all_lines: dict[str, dict[tuple[Any, ...], int]] = {}
    for name in rule_file_names(files):
        where = f"{origin}/{name}"
        stem = name.rsplit(".", 1)[0]
        text = text_of(name, where)
        if text is None:
            continue
        rule, lines, errs = load_rule_text(text, where)
        problems.extend(errs)
        if rule is None:
            continue
        if rule.id != stem:
            problems.append(
                RuleProblem(
                    where,
                    lines.get(("id",)),
                    f"id {rule.id!r} must equal the file name {stem!r}",
                )
            )
        if rule.id in paths:
            problems.append(
                RuleProblem(
                    where,
                    lines.get(("id",)),
                    f"duplicate rule id {rule.id!r} (also in {paths[rule.id]})",
                )
            )
            continue
        paths[rule.id] = where
        all_lines[rule.id] = lines
        rules.append(rule)

    if signals is not None:
        for rule in rules:
            for sig_path, sig in _signal_refs(rule):
                if sig.use and sig.use not in signals.signals:
                    problems.append(
                        RuleProblem(
                            paths[rule.id],
                            _line_for(sig_path, all_lines[rule.id]),
                            f"uses unknown shared signal {sig.use!r}",
                        )
                    )
    if signals is None or brands is None:
        return None, problems
    bad_refs = {p.path for p in problems}
    good = tuple(r for r in rules if paths[r.id] not in bad_refs)
    return RuleSource(good, signals, brands, paths, all_lines), problems


def _signal_refs(rule: Rule) -> Iterable[tuple[tuple[Any, ...], Any]]:
    for si, stage in enumerate(rule.stages):
        for gi, sig in enumerate(stage.signals):
            yield ("stages", si, "signals", gi), sig
    for ni, sig in enumerate(rule.negatives):
        yield ("negatives", ni), sig
