"""The detection engine: a pure library (no Telegram, no database).

normalize -> extract -> match -> verdict. Public entry points: ``Engine`` and ``load_engine``.
Imports nothing from ``telegram``, ``sqlalchemy`` or other ``bot`` layers (import-linter checks).
"""

from bot.engine.compiler import CompiledRuleSet, compile_rules
from bot.engine.engine import Carried, Engine
from bot.engine.loader import RuleProblem, RuleSetError, RuleSource, read_rule_dir
from bot.engine.verdict import Evidence, Verdict

__all__ = [
    "Carried",
    "CompiledRuleSet",
    "Engine",
    "Evidence",
    "RuleProblem",
    "RuleSetError",
    "RuleSource",
    "Verdict",
    "compile_rules",
    "read_rule_dir",
]
