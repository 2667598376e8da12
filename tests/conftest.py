"""Shared fixtures: the bundled engine (built once) and small inline rule directories."""

from __future__ import annotations

import functools
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"


@functools.cache
def bundled_engine() -> Engine:
    """The bundled rules compiled once for the whole run (a few seconds each time otherwise);
    an Engine is never changed after it is built, so tests can share it."""
    return Engine.from_dir(RULES)


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
