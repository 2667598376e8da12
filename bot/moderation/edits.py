"""Small rule edits moderators make without writing YAML: add a phrase, add an example, change
the status. Each returns the new YAML text, edited with ruamel.yaml's round trip so comments,
order and layout of everything else stay as they were; the result then goes through the same
checks as an uploaded file.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString


class EditError(ValueError):
    """The edit cannot be applied (unknown stage, wrong status…); the message says why."""


STATUSES = ("active", "testing", "disabled")
EXAMPLE_KINDS = ("scam", "benign")


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap long lines
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _load(text: str) -> tuple[YAML, Any]:
    y = _yaml()
    return y, y.load(text)


def _dump(y: YAML, data: Any) -> str:
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def set_status(text: str, status: str) -> str:
    if status not in STATUSES:
        raise EditError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    y, data = _load(text)
    if data.get("status") == status:
        raise EditError(f"the rule is already {status}")
    data["status"] = status
    return _dump(y, data)


def add_phrase(text: str, where: str, phrase: str) -> str:
    """Add ``phrase`` to a signal: ``where`` is a stage id (its first signal with phrases of its
    own) or ``stage/N`` (the N-th signal of the stage, as warnings name them)."""
    phrase = phrase.strip()
    if not phrase:
        raise EditError("the phrase is empty")
    y, data = _load(text)
    stage_id, _, n = where.partition("/")
    stages = data.get("stages") or []
    stage = next((s for s in stages if s.get("id") == stage_id), None)
    if stage is None:
        known = ", ".join(str(s.get("id")) for s in stages)
        raise EditError(f"no stage {stage_id!r} in this rule; its stages: {known}")
    signals = stage.get("signals") or []
    if n:
        if not n.isdigit() or not 1 <= int(n) <= len(signals):
            raise EditError(f"stage {stage_id} has signals 1 to {len(signals)}")
        signal = signals[int(n) - 1]
        if "use" in signal:
            raise EditError(
                f"{where} uses the shared signal {signal['use']!r}; change shared signals in the "
                "repository, or pick a signal with phrases of its own"
            )
    else:
        signal = next((s for s in signals if "use" not in s), None)
        if signal is None:
            raise EditError(f"every signal of stage {stage_id} is shared; name one as {stage_id}/N")
    phrases = signal.get("phrases")
    if phrases is None:
        signal["phrases"] = phrases = []
    if phrase in phrases:
        raise EditError(f"{where} already has the phrase {phrase!r}")
    phrases.append(phrase)
    return _dump(y, data)


def add_example(text: str, kind: str, example: str) -> str:
    if kind not in EXAMPLE_KINDS:
        raise EditError(f"the example kind must be scam or benign, not {kind!r}")
    example = example.strip()
    if not example:
        raise EditError("the example text is empty")
    y, data = _load(text)
    examples = data.setdefault("examples", {})
    items = examples.setdefault(kind, [])
    if example in items:
        raise EditError(f"this {kind} example is already there")
    items.append(LiteralScalarString(example + "\n") if "\n" in example else example)
    return _dump(y, data)
