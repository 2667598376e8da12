"""The emulator ships its API description and stays independent of the bot it tests."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from bot.emulator.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bot" / "emulator"


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_emulator_imports_neither_the_bot_nor_ptb() -> None:
    for path in PACKAGE.glob("*.py"):
        for module in _imported_modules(path):
            top = module.split(".")[0]
            assert top != "telegram", f"{path.name} imports {module}"
            if top == "bot":
                assert module.startswith("bot.emulator"), f"{path.name} imports {module}"


def test_api_description_and_its_licence_are_package_data() -> None:
    assert (PACKAGE / "api.json").is_file()
    licence = (PACKAGE / "LICENSE-api-json").read_text(encoding="utf-8")
    assert "MIT License" in licence and "Paul Larsen" in licence
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = pyproject["tool"]["setuptools"]["package-data"]["bot"]
    assert {"emulator/api.json", "emulator/LICENSE-api-json"} <= set(data)
    spec = load_spec()
    assert spec.version.startswith("Bot API")
    assert spec.method("SENDMESSAGE") is not None


def test_fields_telegram_still_sends_are_accepted_and_invented_ones_refused() -> None:
    import pytest

    from bot.emulator.spec import ApiError

    spec = load_spec()
    chat = {"id": -5, "type": "group", "title": "g", "all_members_are_administrators": True}
    user = {"id": 7, "is_bot": False, "first_name": "A"}
    message = {
        "message_id": 1,
        "date": 1,
        "chat": chat,
        "from": user,
        "text": "hi",
        "forward_origin": {"type": "user", "sender_user": user, "date": 1},
        "forward_from": user,
        "forward_date": 1,
    }
    spec.check(("Message",), message, "message")
    with pytest.raises(ApiError, match="unknown field"):
        spec.check(("Message",), message | {"forward_from_planet": "Mars"}, "message")
