"""The README's configuration table lists every setting, and only settings that exist."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from bot.settings import SECRET_ENV, Settings
from tests.conftest import ROOT


def leaf_settings(model: type[BaseModel] = Settings, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for name, field in model.model_fields.items():
        if not prefix and name in SECRET_ENV:
            continue
        kind: Any = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out |= leaf_settings(kind, f"{prefix}{name}.")
        else:
            out.add(f"{prefix}{name}")
    return out


def test_the_configuration_table_matches_the_settings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            documented |= set(re.findall(r"`([a-z_.]+)`", first))
    documented -= {name for name in documented if name.startswith("sentinel_")}
    assert documented == leaf_settings()


def test_every_secret_is_in_the_secrets_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for env in SECRET_ENV.values():
        assert f"| `{env}` |" in readme
