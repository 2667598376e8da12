"""The demo end to end, as scripted use: piped lines in, replies as a person reads them out,
anonymized facts in the SQLite file of the data directory."""

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
        timeout=180,
    ).stdout


def test_demo_answers_each_line_and_stores_only_facts(tmp_path: Path) -> None:
    out = run_demo(tmp_path, [SCAM, "明天一起吃饭吧", "/mydata"])
    assert "高风险" in out and "冒充快递或电商客服" in out
    assert "[1] 🔎 详细分析" in out and "[2] 👪 转发给家人" in out
    assert "[3] 👍 有帮助" in out and "[5] 📨 提交给审核员" in out
    assert "未匹配到已知的诈骗模式" in out
    assert "检查记录 2 条" in out
    assert stat.S_IMODE((tmp_path / "pseudonym.key").stat().st_mode) == 0o600
    with sqlite3.connect(tmp_path / "sentinel.db") as db:
        rows = db.execute("select family, risk from hits order by id").fetchall()
        dump = "\n".join(
            str(r)
            for t in ("hits", "user_prefs", "reports", "feedback")
            for r in db.execute(f"select * from {t}")
        )
    assert rows == [("fake_customer_service", "high"), (None, "none")]
    assert "abc_12345" not in dump and "快递" not in dump


def test_demo_forwarded_conversation_and_buttons(tmp_path: Path) -> None:
    out = run_demo(
        tmp_path,
        [
            "/fwd 您好，我是京东客服，您买的商品检测出质量问题，需要给您办理退款。",
            "/fwd 我们按订单金额的三倍给您赔偿，请您加一下理赔专员的微信。",
            "/fwd 请下载会议软件并开启屏幕共享，我一步步教您操作激活退款通道。",
            "/press 1",
            "/press 3",
        ],
        lang="en",
    )
    assert out.count("High risk") == 2  # the reply, then the same reply with its details
    assert "(that reply now reads)" in out and "You are at step 4" in out
    assert "Thanks for the feedback" in out


def test_demo_shows_a_confirmation_a_button_opens_and_the_digest_picture(tmp_path: Path) -> None:
    out = run_demo(tmp_path, [SCAM, "/press 5", "/digest"])
    assert "去除电话" in out  # the report button's consent question, with its buttons
    assert "✅ 确认提交" in out
    assert "[picture]" in out  # the digest's chart, its caption or text beside it


def test_at_a_terminal_a_forwarded_line_is_answered_without_waiting_for_the_next(
    tmp_path: Path,
) -> None:
    import os
    import pty
    import select
    import time

    env = {"PATH": "/usr/bin:/bin", "SENTINEL_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the demo on a terminal
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "bot", "demo", "--lang", "zh"], env)
    out = b""
    try:
        deadline = time.monotonic() + 120
        sent = False
        while time.monotonic() < deadline and "高风险".encode() not in out:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    break
            if not sent and b"> " in out:
                os.write(fd, f"/fwd {SCAM}\n".encode())  # and nothing after it
                sent = True
        assert "高风险".encode() in out, out.decode(errors="replace")[-500:]
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
