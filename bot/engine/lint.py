"""Lint a rules directory: load and compile everything, then the conventions tests enforce.

Owns: the list of rule problems with severities, shared by ``rules lint``, CI and moderators.
Errors stop a rule set from loading; warnings (a review date that has passed) do not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot.engine.compiler import build_ruleset
from bot.engine.loader import RuleSetError


@dataclass(frozen=True, slots=True)
class LintProblem:
    severity: str  # "error" | "warning"
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message}"


def lint_dir(directory: Path, today: dt.date | None = None) -> tuple[list[LintProblem], str]:
    """Every problem in ``directory`` and a one-line summary."""
    today = today or dt.date.today()
    try:
        compiled = build_ruleset(directory, include=("active", "testing", "disabled"))
        source = compiled.source
    except RuleSetError as exc:
        problems = [
            LintProblem("error", f"{p.path}:{p.line}" if p.line else p.path, p.message)
            for p in exc.problems
        ]
        return problems, f"{len(problems)} error(s); the rules cannot be loaded"
    out: list[LintProblem] = []
    for rule in source.rules:
        where = source.paths[rule.id]
        if rule.review_by is not None and rule.review_by < today:
            out.append(LintProblem("warning", where, f"review_by {rule.review_by} has passed"))
    summary = (
        f"{len(source.rules)} rules, {compiled.pattern_count} patterns: "
        f"{sum(p.severity == 'error' for p in out)} error(s), "
        f"{sum(p.severity == 'warning' for p in out)} warning(s)"
    )
    return out, summary
