"""The command line contracts other tools depend on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import ROOT, RuleDir, mini_rule

SCAM = "您好，我是快递理赔专员，您的包裹在运输途中丢失了，我们按三倍价格给您理赔，请加一下客服微信办理。"


def test_check_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--json", "--lang", "zh", SCAM]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"risk", "rule", "family", "stages", "evidence", "next", "advice"} <= set(data)
    assert data["risk"] == "high" and data["family"] == "fake_customer_service"
    for e in data["evidence"]:
        assert SCAM[e["start"] : e["end"]] == e["text"]


def test_check_reads_stdin_and_never_says_safe() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bot", "check", "-"],
        input="See you at dinner tonight!",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    assert "No known scam pattern matched" in out
    assert "safe" not in out.lower().replace("no known", "")


def test_check_several_messages_as_one_conversation(capsys: pytest.CaptureFixture[str]) -> None:
    msgs = [
        "您好，我是快递客服，您的包裹丢失了",
        "我们给您三倍理赔",
        "请下载会议软件开启屏幕共享，我教您操作退款",
    ]
    assert main(["check", "--json", *msgs]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rule"] == "fake-courier-cs"
    assert data["furthest_stage"] == "scripted_steps"


def test_rules_lint_lists_every_error_and_fails(
    rule_dir: RuleDir, capsys: pytest.CaptureFixture[str]
) -> None:
    bad1 = mini_rule("one").replace("version: 1", "version: 0")
    bad2 = mini_rule("two").replace("'(包裹|快递).{0,6}丢失'", "'(包裹)\\1'")
    d = rule_dir(one=bad1, two=bad2)
    assert main(["rules", "lint", str(d)]) == 1
    out = capsys.readouterr().out
    assert "one.yaml:2" in out and "two.yaml:" in out and "RE2" in out


def test_rules_test_lists_all_failures(
    rule_dir: RuleDir, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        mini_rule("weak")
        .replace(
            "  benign: [今天天气不错。, 我去取快递。]",
            "  benign: [今天天气不错。, 包裹丢失了，三倍理赔]",
        )
        .replace("scam: [您的包裹丢失了，我们三倍理赔。", "scam: [你好。")
    )
    assert main(["rules", "test", str(rule_dir(weak=text))]) == 1
    out = capsys.readouterr().out
    assert "FAIL weak:scam:1" in out and "FAIL weak:benign:2" in out
    assert "2 failed" in out


def test_rules_test_checks_the_benign_baseline_beside_the_rules(
    rule_dir: RuleDir, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = rule_dir(weak=mini_rule("weak"))
    (directory / "baseline").mkdir()
    lines = ["我去取快递。", "您的包裹丢失了，我们三倍理赔。请加微信领取赔偿。"]
    (directory / "baseline" / "benign.jsonl").write_text(
        "".join(json.dumps({"lang": "zh", "text": t}, ensure_ascii=False) + "\n" for t in lines),
        encoding="utf-8",
    )
    assert main(["rules", "test", str(directory)]) == 1
    out = capsys.readouterr().out
    assert "FAIL baseline:2: hit weak" in out and "baseline:1" not in out
    assert "1 failed" in out


def test_bundled_rules_pass_their_own_tests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "test"]) == 0, capsys.readouterr().out


def test_eval_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"text": SCAM, "label": "scam", "lang": "zh", "source": "a"},
        {"text": "明天一起吃饭吧", "label": "benign", "lang": "zh", "source": "a"},
        {"text": "See you soon", "label": "benign", "lang": "en", "source": "b"},
    ]
    f = tmp_path / "rows.jsonl"
    f.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    assert main(["eval", str(f), "--by", "source", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["overall"] == {
        "scam": 1,
        "benign": 2,
        "tp": 1,
        "fn": 0,
        "fp": 0,
        "tn": 2,
        "recall": 1.0,
        "precision": 1.0,
        "fpr": 0.0,
    }
    assert data["by_lang"]["en"]["recall"] is None
    assert set(data["by"]) == {"a", "b"}
    assert set(data["latency_ms"]) == {"p50", "p90", "p99", "max"}
    assert data["messages_per_s"] > 0


def test_eval_min_risk_and_misses_explain_what_stayed_below(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"text": SCAM, "label": "scam", "category": "full"},
        # One clue of the courier flow: not enough for any warning.
        {"text": "您的包裹丢失了", "label": "scam", "category": "short"},
        {"text": "明天一起吃饭吧", "label": "benign", "category": "chat"},
    ]
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    out = tmp_path / "misses.jsonl"
    assert main(["eval", str(f), "--min-risk", "high", "--misses", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["min_risk"] == "high"
    assert data["overall"]["tp"] + data["overall"]["fn"] == 2
    misses = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    short = next(m for m in misses if m["category"] == "short")
    assert short["kind"] == "miss" and short["line"] == 2
    assert short["rule"] == "fake-courier-cs"
    assert any("needs 2" in why for why in short["why"])
    assert all(m["kind"] == "miss" for m in misses)  # the chat row is no false alarm


def test_eval_malformed_row_exits_2_with_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "rows.jsonl"
    f.write_text(
        '{"text": "a", "label": "scam"}\n{"text": "b", "label": "maybe"}\n', encoding="utf-8"
    )
    assert main(["eval", str(f)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_bench_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--json", "--messages", "30"]) == 0
    data = json.loads(capsys.readouterr().out)
    for name in ("bundled", "synthetic_10k"):
        assert set(data[name]) == {
            "p50_ms",
            "p99_ms",
            "messages_per_s",
            "baseline_p99_ms",
            "speedup",
        }
        assert data[name]["p99_ms"] > 0


def test_help_texts_exist() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    for command in ("check", "rules", "eval", "bench"):
        assert command in out


@pytest.mark.usefixtures("logging_restored")
def test_logging_never_shows_request_urls_with_the_token() -> None:
    import logging

    from bot.cli import configure_logging

    configure_logging("DEBUG")
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("aiohttp.client").getEffectiveLevel() >= logging.WARNING


@pytest.mark.usefixtures("logging_restored")
def test_debug_logs_never_show_what_telegram_carries() -> None:
    # python-telegram-bot logs every request's parameters (chat ids, the reply text) and every
    # update (names, message text) at DEBUG: even at DEBUG, its loggers stay at INFO.
    import logging

    from bot.cli import configure_logging

    configure_logging("DEBUG")
    assert logging.getLogger("bot.tg").isEnabledFor(logging.DEBUG)
    for name in ("telegram", "telegram.Bot", "telegram.ext.Application"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name


@pytest.mark.usefixtures("logging_restored")
def test_debug_logs_never_show_sql_statements_or_their_parameters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # aiosqlite logs every statement with its parameters (pseudonyms) at DEBUG.
    import asyncio
    import logging

    from sqlalchemy import text

    from bot.cli import configure_logging
    from bot.storage.db import database

    configure_logging("DEBUG")

    async def go() -> None:
        url = f"sqlite+aiosqlite:///{tmp_path}/x.db"
        async with database(url) as sessions, sessions() as s:
            await s.execute(text("SELECT :who"), {"who": "pseudonym-of-alice"})

    with caplog.at_level(logging.DEBUG):
        asyncio.run(go())
    assert caplog.records, "the database start-up should log something at DEBUG"
    assert not any("pseudonym-of-alice" in r.getMessage() for r in caplog.records)


def test_db_upgrade_writes_json_lines_when_the_logs_are_json(tmp_path: Path) -> None:
    # The container runs "db upgrade" before the bot: a log collector reads both.
    env = os.environ | {"SENTINEL_DATA_DIR": str(tmp_path), "SENTINEL_LOG_FORMAT": "json"}
    env.pop("SENTINEL_DATABASE_URL", None)

    def upgrade() -> tuple[int, list[dict[str, str]], list[dict[str, str]]]:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
        )
        out, err = (
            [json.loads(ln) for ln in s.splitlines() if ln.strip()]
            for s in (done.stdout, done.stderr)
        )
        return done.returncode, out, err

    code, out, err = upgrade()
    assert code == 0 and any("is at revision head" in r["msg"] for r in out + err), out + err
    # A database that does not answer: said in JSON too, whatever the log level.
    env |= {"SENTINEL_DATABASE_URL": "postgresql://u@127.0.0.1:9/db", "SENTINEL_LOG_LEVEL": "ERROR"}
    code, _, [record] = upgrade()
    assert code != 0
    assert "cannot reach the database" in record["msg"] and record["level"] == "ERROR"


def test_check_answers_in_the_language_of_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", SCAM]) == 0
    out = capsys.readouterr().out
    assert "诈骗类型" in out and "Scam type" not in out
    assert main(["check", "--lang", "en", SCAM]) == 0
    assert "Scam type" in capsys.readouterr().out
