"""The terminal demo end to end: piped messages in, verdicts out, anonymized hits stored."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SCAM = "您好，我是快递理赔专员，您的包裹丢失了，我们三倍理赔，请加客服微信 abc_12345 办理。"


def run_demo(data_dir: Path, lines: list[str], lang: str = "zh") -> str:
    env = {"PATH": "/usr/bin:/bin", "SENTINEL_DATA_DIR": str(data_dir), "HOME": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--lang", lang],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    ).stdout


def test_demo_reads_piped_messages_and_stores_only_facts(tmp_path: Path) -> None:
    out = run_demo(tmp_path, [SCAM, "明天一起吃饭吧", "/mydata"])
    assert "高风险" in out and "冒充快递或电商客服" in out
    assert "未匹配到已知诈骗模式" in out
    assert "'hits': 1" in out
    key = tmp_path / "pseudonym.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with sqlite3.connect(tmp_path / "sentinel.db") as db:
        rows = db.execute("select family, risk, user_pseudonym from hits").fetchall()
        dump = "\n".join(
            str(r)
            for t in ("hits", "user_prefs", "reports")
            for r in db.execute(f"select * from {t}")
        )
    assert rows[0][0] == "fake_customer_service" and rows[0][1] == "high"
    assert "abc_12345" not in dump and "快递" not in dump


def test_forget_in_the_demo_deletes_everything(tmp_path: Path) -> None:
    out = run_demo(tmp_path, [SCAM, "/forget", "/mydata"], lang="en")
    assert "deleted: {'hits': 1" in out
    assert out.rstrip().endswith("'subscriptions': 0}")
    assert "'hits': 0" in out.splitlines()[-1]
