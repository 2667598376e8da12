"""``rules export`` / ``rules import``: the live rules go to a directory for review in git and
come back through the moderators' checks, all or nothing, with comments kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

RULE = "fake-courier-cs.yaml"


def test_export_edit_import_then_export_keeps_comments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SENTINEL_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "out"
    assert main(["rules", "export", str(out)]) == 0
    text = (out / RULE).read_text(encoding="utf-8")
    assert "#" in text  # the bundled file's comments are there to keep
    edited = text.replace("  benign:\n", "  benign:\n    - 快递师傅说下午三点到，让我在家等。\n", 1)
    (out / RULE).write_text(edited, encoding="utf-8")
    assert main(["rules", "import", str(out), "--reason", "a benign example from a volunteer"]) == 0
    assert "fake-courier-cs: version" in capsys.readouterr().out

    again = tmp_path / "again"
    assert main(["rules", "export", str(again)]) == 0
    exported = (again / RULE).read_text(encoding="utf-8")
    assert "快递师傅说下午三点到" in exported
    # Only the version line and the new example differ: comments and layout are kept.
    old, new = text.splitlines(), exported.splitlines()
    assert [ln for ln in new if ln not in old] == [
        next(ln for ln in new if ln.startswith("version:")),
        "    - 快递师傅说下午三点到，让我在家等。",
    ]


def test_a_bad_file_imports_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SENTINEL_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "out"
    assert main(["rules", "export", str(out)]) == 0
    good = out / RULE
    good.write_text(
        good.read_text("utf-8").replace("  benign:\n", "  benign:\n    - 今晚一起吃饭吗\n", 1),
        encoding="utf-8",
    )
    broken = out / "loan-credit.yaml"
    broken.write_text(broken.read_text("utf-8").replace("stages:", "stages: [", 1), "utf-8")
    capsys.readouterr()
    assert main(["rules", "import", str(out), "--reason", "two edits"]) == 1
    printed = capsys.readouterr().out
    assert "loan-credit.yaml:" in printed and "nothing imported" in printed
    # The good edit was not made live either.
    fresh = tmp_path / "fresh"
    assert main(["rules", "export", str(fresh)]) == 0
    assert "今晚一起吃饭吗" not in (fresh / RULE).read_text("utf-8")
