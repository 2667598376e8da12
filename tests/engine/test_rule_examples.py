"""Every example of every bundled rule, one test case each (ids like fake-courier-cs:scam:2)."""

from __future__ import annotations

import pytest

from bot.engine.ruletest import iter_examples, run_example
from tests.conftest import bundled_engine

_ENGINE = bundled_engine()
_CASES = list(iter_examples(_ENGINE))


@pytest.mark.parametrize(
    ("rule_id", "kind", "index", "text"), _CASES, ids=[f"{r}:{k}:{i + 1}" for r, k, i, _ in _CASES]
)
def test_rule_example(rule_id: str, kind: str, index: int, text: str) -> None:
    result = run_example(_ENGINE, rule_id, kind, index, text)  # type: ignore[arg-type]
    assert result.ok, f"{result.name}: {result.detail}"
