"""Shared fixtures: the bundled engine (built once) and small inline rule directories."""

from __future__ import annotations

import functools
import shutil
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from bot.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"


_FROM_DIR = Engine.from_dir.__func__  # type: ignore[attr-defined]
_FROM_FILES = Engine.from_files.__func__  # type: ignore[attr-defined]


@functools.cache
def bundled_engine() -> Engine:
    """The bundled rules compiled once for the whole run (a few seconds each time otherwise);
    an Engine is never changed after it is built, so tests can share it."""
    return _FROM_DIR(Engine, RULES)  # type: ignore[no-any-return]


# Bounded: moderation tests build many one-off variants, and each engine holds its automata.
@functools.lru_cache(maxsize=4)
def _built_from_files(files: tuple[tuple[str, str | bytes], ...], origin: str) -> Engine:
    return _FROM_FILES(Engine, dict(files), origin)  # type: ignore[no-any-return]


def _from_dir(cls: type[Engine], directory: str | Path) -> Engine:
    if cls is Engine and Path(directory).resolve() == RULES:
        return bundled_engine()
    return _FROM_DIR(cls, directory)  # type: ignore[no-any-return]


def _from_files(
    cls: type[Engine], files: Mapping[str, str | bytes], origin: str = "rules"
) -> Engine:
    if cls is not Engine:
        return _FROM_FILES(cls, files, origin)  # type: ignore[no-any-return]
    return _built_from_files(tuple(sorted(files.items())), origin)


@pytest.fixture(scope="session", autouse=True)
def _build_each_rule_set_once() -> Iterator[None]:
    """Within this process, a rule set is compiled once: ``Engine.from_dir`` of the bundled
    directory and ``Engine.from_files`` of the same files and origin return the engine built
    the first time (the CLI's rules commands and the live rules otherwise rebuild the same
    bundled set, seconds each). A build that fails is not remembered: it fails every time.
    Engines are never changed after they are built, so sharing one changes nothing a test
    sees; rule sets written by a test (other directories, other files) are built as usual."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Engine, "from_dir", classmethod(_from_dir))
        mp.setattr(Engine, "from_files", classmethod(_from_files))
        yield


@pytest.fixture(scope="session")
def engine() -> Engine:
    return bundled_engine()


RuleDir = Callable[..., Path]


@pytest.fixture
def rule_dir(tmp_path: Path) -> RuleDir:
    """Make a rules directory with the bundled shared files plus the given rule files."""

    def make(files: dict[str, str] | None = None, **rules: str) -> Path:
        d = tmp_path / "rules"
        d.mkdir(exist_ok=True)
        shutil.copy(RULES / "_signals.yaml", d / "_signals.yaml")
        shutil.copy(RULES / "_brands.yaml", d / "_brands.yaml")
        for name, text in {
            **(files or {}),
            **{f"{k.replace('_', '-')}.yaml": v for k, v in rules.items()},
        }.items():
            (d / name).write_text(textwrap.dedent(text), encoding="utf-8")
        return d

    return make


MINI_RULE = """\
id: {id}
version: 1
status: {status}
severity: high
family: test_family
title: {{zh: 测试规则, en: Test rule}}
summary: {{zh: 测试, en: test}}
stages:
  - id: pretext
    title: {{zh: 声称包裹丢失, en: Says your parcel is lost}}
    signals:
      - weight: 3
        regex: ['(包裹|快递).{{0,6}}丢失']
  - id: offer
    title: {{zh: 提出理赔, en: Offers compensation}}
    signals:
      - weight: 3
        phrases: [三倍理赔, 双倍赔偿]
  - id: contact
    title: {{zh: 要你加微信, en: Asks you to add them}}
    signals:
      - use: offplatform_contact
      - weight: 1
        entity: [lookalike]
negatives:
  - weight: -6
    phrases: [取件码]
advice:
  zh: [挂断电话。]
  en: [Hang up.]
examples:
  scam: [您的包裹丢失了，我们三倍理赔。, 快递已丢失，双倍赔偿，加微信办理。]
  benign: [今天天气不错。, 我去取快递。]
"""


def mini_rule(rule_id: str = "test-rule", status: str = "active") -> str:
    return MINI_RULE.format(id=rule_id, status=status)


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """configure_logging changes process-wide levels: put them back for the tests after."""
    import logging

    names = ["", "telegram", "httpx", "httpcore", "aiohttp", "apscheduler", "aiosqlite"]
    names += ["asyncpg", "sqlalchemy"]
    levels = {name: logging.getLogger(name).level for name in names}
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
