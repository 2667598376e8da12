"""The command line: ``python -m bot check | rules lint | rules test | eval | bench``.

Owns: argument parsing, help texts and exit codes. Each command is a thin shell over a library
function; output formats marked "contract" are relied on by other tools and must not drift.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.engine import Engine, RuleSetError, Verdict
from bot.logmask import install as install_mask
from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.moderation.live import LiveRules

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2

GENERAL_ADVICE = {
    "en": [
        "Do not click links or install apps sent by people you do not know.",
        "Never share verification codes, card numbers or passwords.",
        "Check through the official app or official number, not the one in the message.",
    ],
    "zh": [
        "不要点击陌生人发来的链接或安装对方让你装的 App。",
        "任何时候都不要把验证码、银行卡号和密码告诉别人。",
        "通过官方 App 或官方电话核实，不要用对方给的号码或链接。",
    ],
}

RISK_WORDS = {
    "en": {
        "high": "HIGH RISK - this matches a known scam flow",
        "medium": "MEDIUM RISK - this looks like a known scam flow",
        "low": "LOW RISK - some signs of a known scam flow",
        "none": "No known scam pattern matched (that does not prove it is genuine)",
    },
    "zh": {
        "high": "高风险：与已知诈骗流程吻合",
        "medium": "中风险：像是已知的诈骗流程",
        "low": "低风险：有已知诈骗流程的部分特征",
        "none": "未匹配到已知诈骗模式（这不代表对方一定可信）",
    },
}


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None))


def _rules_dir(args: argparse.Namespace) -> Path:
    explicit = getattr(args, "dir", None)
    if explicit:
        return Path(explicit)
    return _settings(args).engine.rules_dir


def _engine(args: argparse.Namespace) -> Engine:
    return Engine.from_dir(_rules_dir(args))


def _language_of(text: str) -> str:
    """Answer in the message's own language: Chinese when Chinese characters carry it."""
    from bot.tg.i18n import language_of_text

    return "en" if language_of_text(text, "en") == "en" else "zh"


def cmd_check(args: argparse.Namespace) -> int:
    texts: list[str] = list(args.text)
    if texts == ["-"] or not texts:
        data = sys.stdin.read()
        texts = [data]
    engine = _engine(args)
    verdict = engine.check(texts)
    lang = args.lang or _language_of(" ".join(texts))
    if args.json:
        print(json.dumps(verdict.to_json(lang), ensure_ascii=False))
        return EXIT_OK
    print_verdict(verdict, lang)
    return EXIT_OK


def print_verdict(verdict: Verdict, lang: str) -> None:
    """The verdict as a person reads it in the terminal."""
    zh = lang == "zh"
    print(RISK_WORDS[lang][verdict.risk])
    if verdict.rule is None:
        print("建议：" if zh else "General advice:")
        for line in GENERAL_ADVICE[lang]:
            print(f"  - {line}")
        return
    title = verdict.rule.title_zh if zh else verdict.rule.title_en
    print(("诈骗类型：" if zh else "Scam type: ") + title)
    print(f"  rule {verdict.rule.id} v{verdict.rule.version}, score {verdict.score}")
    for stage in verdict.stages:
        stage_title = stage.title_zh if zh else stage.title_en
        quotes = "; ".join(f"\u201c{e.text}\u201d" for e in stage.evidence[:3])
        print(f"  [{stage.index + 1}] {stage_title}: {quotes}")
    if verdict.next_stages:
        print("接下来对方可能会：" if zh else "What they will ask next:")
        for s in verdict.next_stages:
            print(f"  - {s.title_zh if zh else s.title_en}")
    print("建议：" if zh else "What to do:")
    for a in verdict.advice_zh if zh else verdict.advice_en:
        print(f"  - {a}")


class JsonFormatter(logging.Formatter):
    """One JSON object per line for log collectors. Records carry no personal data."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:  # rendered (and masked) by bot.logmask.SecretMask
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    level: str, *, quiet: bool = False, json_lines: bool = False, secrets: Sequence[str] = ()
) -> None:
    """Structured-enough logs on stderr, with ``secrets`` masked in every line (whatever the
    library: see ``bot.logmask``). HTTP clients may log request URLs at INFO, and
    Telegram's URLs contain the bot token, so they are held at WARNING whatever the level; the
    scheduler would log every run of every job. python-telegram-bot logs request parameters
    and whole updates (message text, names, ids) at DEBUG, so it never goes below INFO; the
    database drivers and SQLAlchemy log every statement with its parameters (pseudonyms, rule
    text), so they stay at WARNING."""
    numeric = logging.getLevelName(level)
    if quiet:
        numeric = max(numeric, logging.WARNING)
    logging.basicConfig(level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(numeric)  # also when a handler was installed before us
    if json_lines:
        formatter = JsonFormatter()
        formatter.converter = time.gmtime
        for handler in logging.getLogger().handlers:
            handler.setFormatter(formatter)
    install_mask(secrets)
    for noisy in (
        "httpx",
        "httpcore",
        "aiohttp",
        "apscheduler",
        "aiosqlite",
        "asyncpg",
        "sqlalchemy",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(max(numeric, logging.INFO))


def cmd_demo(args: argparse.Namespace) -> int:
    import asyncio

    from bot.demo import run_demo

    settings = _settings(args)
    # The demo's terminal is the user's screen: only warnings and errors go to stderr.
    configure_logging(settings.log_level, quiet=True)
    engine = Engine.from_dir(settings.engine.rules_dir)
    return asyncio.run(run_demo(settings, engine, args.lang, sys.stdin.isatty()))


def cmd_run(args: argparse.Namespace) -> int:
    from bot.tg.app import run_polling

    settings = _settings(args)
    if settings.bot_token is None:
        print(
            "SENTINEL_BOT_TOKEN is not set. Get a token from @BotFather and set it, or try the "
            "local demo: python -m bot demo",
            file=sys.stderr,
        )
        return EXIT_USAGE
    configure_logging(
        settings.log_level, json_lines=settings.log_format == "json", secrets=secrets_of(settings)
    )
    engine = Engine.from_dir(settings.engine.rules_dir)
    if args.mode == "webhook":
        from bot.tg.webhook import run_webhook

        if settings.webhook_secret is None and settings.mode == "production":
            print(
                "webhook mode in production needs SENTINEL_WEBHOOK_SECRET (any 1-256 letters, "
                "digits, _ or -), so that only Telegram can post updates",
                file=sys.stderr,
            )
            return EXIT_USAGE
        host = args.host or settings.webhook.host
        port = args.port or settings.webhook.port
        run_webhook(settings, engine, host=host, port=port)
        return EXIT_OK
    from telegram.error import InvalidToken

    try:
        run_polling(settings, engine)
    except InvalidToken:
        # python-telegram-bot's message quotes the whole token: say what to check instead.
        logging.getLogger("bot").error(
            "the Bot API rejected the bot token (HTTP 401 or 404): check SENTINEL_BOT_TOKEN "
            "and telegram.api_base_url"
        )
        return EXIT_FAIL
    return EXIT_OK


def secrets_of(settings: Settings) -> list[str]:
    """What no log line may show: the secrets in the settings, and the database password."""
    from urllib.parse import urlsplit

    found = [
        value.get_secret_value()
        for value in (settings.bot_token, settings.webhook_secret, settings.pseudonym_key)
        if value is not None
    ]
    if settings.database_url is not None:
        try:
            password = urlsplit(settings.database_url.get_secret_value()).password
        except ValueError:
            password = None
        if password:
            found.append(password)
    return found


def cmd_rules_lint(args: argparse.Namespace) -> int:
    from bot.engine.lint import lint_dir

    problems, summary = lint_dir(_rules_dir(args))
    for p in problems:
        print(p)
    print(summary)
    return EXIT_FAIL if any(p.severity == "error" for p in problems) else EXIT_OK


def cmd_rules_test(args: argparse.Namespace) -> int:
    from bot.engine.ruletest import run_all
    from bot.moderation.validate import load_baseline

    engine = _engine(args)
    results = run_all(engine)
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"FAIL {r.name}: {r.detail}\n     {r.text[:160]}")
    # The benign baseline beside the rules: ordinary messages no rule may warn about at all.
    baseline_path = Path(_rules_dir(args)) / "baseline" / "benign.jsonl"
    baseline = load_baseline(baseline_path) if baseline_path.is_file() else []
    baseline_failed = 0
    for n, message in enumerate(baseline, 1):
        verdict = engine.check(message)
        if verdict.risk != "none" and verdict.rule is not None:
            baseline_failed += 1
            print(
                f"FAIL baseline:{n}: hit {verdict.rule.id} ({verdict.risk})\n     {message[:160]}"
            )
    total = len(results) + len(baseline)
    bad = len(failed) + baseline_failed
    print(
        f"{total - bad} passed, {bad} failed "
        f"({len(results)} rule examples, {len(baseline)} baseline messages)"
    )
    return EXIT_FAIL if bad else EXIT_OK


def _live(args: argparse.Namespace) -> tuple[Settings, LiveRules]:
    from bot.moderation.live import LiveRules

    settings = _settings(args)
    return settings, LiveRules(Path(settings.engine.rules_dir))


def cmd_rules_export(args: argparse.Namespace) -> int:
    import asyncio

    from bot.moderation.transfer import export_rules
    from bot.storage.db import database, upgrade

    settings, live = _live(args)

    async def go() -> list[str]:
        url = settings.database_url_value
        await upgrade(url)
        async with database(url) as sessions:
            return await export_rules(sessions, live, Path(args.dir))

    revised = asyncio.run(go())
    print(
        f"wrote {len(live.files)} files to {args.dir}; "
        f"{len(revised)} revised by moderators: {', '.join(revised) or 'none'}"
    )
    return EXIT_OK


def cmd_rules_import(args: argparse.Namespace) -> int:
    import asyncio

    from bot.moderation.transfer import ImportResult, import_rules
    from bot.moderation.validate import load_baseline
    from bot.storage.db import database, upgrade

    if not Path(args.dir).is_dir():
        print(f"{args.dir}: not a directory", file=sys.stderr)
        return EXIT_USAGE
    settings, live = _live(args)

    async def go() -> ImportResult:
        url = settings.database_url_value
        await upgrade(url)
        async with database(url) as sessions:
            return await import_rules(sessions, live, Path(args.dir), args.reason, load_baseline())

    result = asyncio.run(go())
    for problem in result.problems:
        print(problem)
    if result.problems:
        print(f"nothing imported: {len(result.problems)} problem(s)")
        return EXIT_FAIL
    if not result.committed:
        print("nothing to import: every rule file equals the live rules")
        return EXIT_OK
    for rule_id, version in result.committed:
        print(f"{rule_id}: version {version} is live")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluate import EvalInputError, evaluate

    engine = _engine(args)
    misses: list[dict[str, Any]] | None = [] if args.misses else None
    try:
        report = evaluate(
            engine, Path(args.file), by=args.by, min_risk=args.min_risk, misses=misses
        )
    except EvalInputError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    if misses is not None:
        try:
            with open(args.misses, "w", encoding="utf-8") as out:
                for item in misses:
                    out.write(json.dumps(item, ensure_ascii=False) + "\n")
        except OSError as exc:
            print(f"cannot write {args.misses}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
    data = report.to_json()
    data["min_risk"] = args.min_risk
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
        return EXIT_OK
    print(f"flagged = risk {args.min_risk} or higher")
    header = f"{'':<40} {'scam':>6} {'benign':>6} {'recall':>7} {'prec':>7} {'fpr':>7}"
    print(header)

    def row(name: str, m: dict[str, Any]) -> None:
        def f(x: float | None) -> str:
            return "-" if x is None else f"{x:.4f}"

        print(
            f"{name[:40]:<40} {m['scam']:>6} {m['benign']:>6} "
            f"{f(m['recall']):>7} {f(m['precision']):>7} {f(m['fpr']):>7}"
        )

    row("overall", data["overall"])
    for k, m in data["by_lang"].items():
        row(f"lang={k}", m)
    for name, values in data["by_fields"].items():
        for k, m in values.items():
            row(f"{name}={k}", m)
    lat = data["latency_ms"]
    print(
        f"latency ms p50 {lat['p50']} p90 {lat['p90']} p99 {lat['p99']} max {lat['max']}; "
        f"{data['messages_per_s']} messages/s"
    )
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from bot.bench import run_bench

    result = run_bench(_rules_dir(args), messages=args.messages)
    if args.json:
        print(json.dumps(result))
        return EXIT_OK
    for name, s in result.items():
        print(
            f"{name}: p50 {s['p50_ms']:.3f} ms, p99 {s['p99_ms']:.3f} ms, "
            f"{s['messages_per_s']:.0f} messages/s; "
            f"naive baseline p99 {s['baseline_p99_ms']:.3f} ms "
            f"-> {s['speedup']:.1f}x faster"
        )
    return EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    import asyncio

    from bot.storage import database, downgrade, redact_url, upgrade
    from bot.storage.queries import purge_expired

    settings = _settings(args)
    url = settings.database_url_value
    say: Callable[..., None] = print
    if settings.log_format == "json":
        # The container runs this before the bot: its lines must be JSON like every log line,
        # and shown whatever the log level (they are this command's output).
        formatter = JsonFormatter()
        formatter.converter = time.gmtime

        def say(text: str, file: Any = sys.stdout) -> None:
            level = logging.ERROR if file is sys.stderr else logging.INFO
            record = logging.LogRecord("bot.cli", level, __file__, 0, text, None, None)
            print(formatter.format(record), file=file)

    try:
        if args.db_command == "upgrade":
            asyncio.run(upgrade(url, args.revision))
            say(f"database {redact_url(url)} is at revision {args.revision}")
        elif args.db_command == "downgrade":
            asyncio.run(downgrade(url, args.revision))
            say(f"database {redact_url(url)} downgraded to {args.revision}")
        else:

            async def purge() -> dict[str, int]:
                async with database(url) as sessions:
                    return await purge_expired(
                        sessions,
                        hit_days=settings.storage.retention_days,
                        report_days=settings.storage.report_retention_days,
                    )

            counts = asyncio.run(purge())
            say("purged: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    except OSError as exc:
        say(f"cannot reach the database {redact_url(url)}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def cmd_digest_preview(args: argparse.Namespace) -> int:
    import asyncio
    import datetime as dt
    import re
    import tempfile
    from html import unescape
    from zoneinfo import ZoneInfo

    from bot.digest.build import build_digest
    from bot.digest.sample import fill_sample
    from bot.digest.stats import week_id
    from bot.storage import database, upgrade

    settings = _settings(args)
    engine = Engine.from_dir(settings.engine.rules_dir)
    lang = {"zh": "zh-hans", "zh-hant": "zh-hant", "en": "en"}[args.lang]
    tz = ZoneInfo(settings.digest.timezone)
    week = args.week or week_id(dt.datetime.now(dt.UTC), tz)
    if not re.fullmatch(r"\d{4}-W\d{2}", week):
        print(f"--week must look like 2026-W47, not {week!r}", file=sys.stderr)
        return EXIT_USAGE

    async def go(url: str) -> tuple[str, bytes]:
        await upgrade(url)
        async with database(url) as sessions:
            if args.sample:
                await fill_sample(sessions, week, tz)
            digest = await build_digest(sessions, settings.digest, lang, engine, week=week)  # type: ignore[arg-type]
            return digest.html, digest.chart_png

    if args.sample:
        with tempfile.TemporaryDirectory() as tmp:
            html, png = asyncio.run(go(f"sqlite+aiosqlite:///{tmp}/sample.db"))
    else:
        html, png = asyncio.run(go(settings.database_url_value))
    print(unescape(re.sub(r"<[^>]+>", "", html)))
    if args.out:
        Path(args.out).write_bytes(png)
        print(f"\nchart written to {args.out}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Sentinel: recognise known scam flows in messages.",
    )
    parser.add_argument("--config", help="settings file (default: config.yaml, or SENTINEL_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "check",
        help="check a message and explain the verdict",
        description="Check one message, or several messages of one conversation together "
        "(each TEXT is one message). Use - to read one message from standard input.",
    )
    p.add_argument("text", nargs="*", metavar="TEXT", help="message text, or - for stdin")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (risk, rule, family, stages, evidence, next, advice)",
    )
    p.add_argument(
        "--lang",
        choices=["zh", "en"],
        default=None,
        help="language of titles and advice (default: the message's own, Chinese or English)",
    )
    p.add_argument("--dir", help="rules directory (default: from settings)")
    p.set_defaults(func=cmd_check)

    rules = sub.add_parser(
        "rules",
        help="lint, test, export or import rule files",
        description="Work with rule files.",
    )
    rsub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    lint = rsub.add_parser(
        "lint",
        help="validate every rule file; list every problem with file and line",
        description="Validate the schema, regexes (RE2), phrases, ids and references of every "
        "rule file. Exit 1 if any error is found.",
    )
    lint.add_argument("dir", nargs="?", help="rules directory (default: from settings)")
    lint.set_defaults(func=cmd_rules_lint)
    test = rsub.add_parser(
        "test",
        help="run every example of every rule and the benign baseline",
        description="Scam examples must hit their rule, benign examples must hit nothing, known "
        "misses must still miss, and no message of DIR/baseline/benign.jsonl may get any "
        "warning. Exit 1 on any failure, listing all of them.",
    )
    test.add_argument("dir", nargs="?", help="rules directory (default: from settings)")
    test.set_defaults(func=cmd_rules_test)
    export = rsub.add_parser(
        "export",
        help="write the live rules (bundled + moderators' revisions) to a directory",
        description="Write the rules in force to DIR so they can be reviewed or committed in "
        "git: unchanged files exactly as bundled, revised ones exactly as moderators left them "
        "(comments and layout kept).",
    )
    export.add_argument("dir", metavar="DIR")
    export.set_defaults(func=cmd_rules_export)
    imp = rsub.add_parser(
        "import",
        help="make the changed rule files of a directory live, after the moderators' checks",
        description="Every rule file in DIR that differs from the live rules is checked like a "
        "moderator's upload (schema, RE2, examples, benign baseline, version). Only if all pass "
        "are they made live, each as a new version; otherwise nothing changes. Exit 1 on any "
        "problem.",
    )
    imp.add_argument("dir", metavar="DIR")
    imp.add_argument("--reason", required=True, help="why: recorded with every new version")
    imp.set_defaults(func=cmd_rules_import)

    ev = sub.add_parser(
        "eval",
        help="measure precision, recall and false positives on a labeled JSONL file",
        description='Each line: {"text": ..., "label": "scam"|"benign", "lang"?: ...}. A row '
        "counts as flagged when its risk is --min-risk or higher (default low: any warning). "
        "Exit 2 on a malformed row.",
    )
    ev.add_argument("file", help="JSONL file")
    ev.add_argument(
        "--by",
        metavar="FIELD",
        action="append",
        help="also break results down by this field (repeat for several: --by dataset --by "
        "category)",
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument(
        "--min-risk",
        choices=["low", "medium", "high"],
        default="low",
        help="the lowest risk that counts as flagged (medium: a warning nobody can overlook)",
    )
    ev.add_argument(
        "--misses",
        metavar="OUT.jsonl",
        help="write every miss and false alarm, with the rule that came closest and why it "
        "stayed below (the file holds the corpus texts: keep it out of the repository)",
    )
    ev.add_argument("--dir", help="rules directory (default: from settings)")
    ev.set_defaults(func=cmd_eval)

    db = sub.add_parser(
        "db",
        help="database migrations and retention",
        description="Manage the database named by SENTINEL_DATABASE_URL (default: SQLite in "
        "the data directory). The bot applies pending migrations itself at start.",
    )
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = dbsub.add_parser("upgrade", help="apply pending migrations")
    up.add_argument("revision", nargs="?", default="head", help="target revision (default head)")
    down = dbsub.add_parser("downgrade", help="undo migrations down to REVISION")
    down.add_argument("revision", help="target revision, e.g. base")
    dbsub.add_parser("purge", help="delete hits and reports past their retention now")
    db.set_defaults(func=cmd_db)

    dg = sub.add_parser(
        "digest",
        help="the weekly digest",
        description="Work with the weekly digest of rising scam types.",
    )
    dgsub = dg.add_subparsers(dest="digest_command", required=True, metavar="ACTION")
    pv = dgsub.add_parser(
        "preview",
        help="render a week's digest (text and chart) from the command line",
        description="Render the digest subscribers would get for a week: the text is printed, "
        "the chart written with --out. --sample fills a throwaway database with eight weeks "
        "of generated hits, to see a digest before there is any traffic.",
    )
    pv.add_argument("--week", help="ISO week such as 2026-W47 (default: this week)")
    pv.add_argument(
        "--lang", choices=["zh", "zh-hant", "en"], default="zh", help="language (default zh)"
    )
    pv.add_argument("--out", metavar="FILE.png", help="write the chart to this file")
    pv.add_argument(
        "--sample", action="store_true", help="use generated data in a throwaway database"
    )
    pv.set_defaults(func=cmd_digest_preview)

    d = sub.add_parser(
        "demo",
        help="try the bot locally: a Telegram emulator, the real bot, a prompt in the terminal",
        description="Starts a local Telegram Bot API emulator and the real bot against it (SQLite "
        "in the data directory). Type or paste a message as if forwarding it and read the reply "
        "as a person would; /photo PATH sends a picture, /press N presses a button. With "
        "standard input from a file or pipe it reads one message per line, prints each reply "
        "and exits at the end.",
    )
    d.add_argument(
        "--lang",
        choices=["zh", "zh-hant", "en"],
        default="zh",
        help="your Telegram language: zh (Simplified), zh-hant (Traditional) or en (default zh)",
    )
    d.set_defaults(func=cmd_demo)

    r = sub.add_parser(
        "run",
        help="run the bot against Telegram (needs SENTINEL_BOT_TOKEN)",
        description="Run the bot against Telegram. polling: one process asks Telegram for "
        "updates (SQLite or PostgreSQL). webhook: this process is one of many stateless "
        "workers behind a load balancer, sharing PostgreSQL; Telegram posts updates to it "
        "(webhook.* settings, SENTINEL_WEBHOOK_SECRET), and it serves /healthz, /readyz and "
        "/metrics. Settings come from config.yaml and SENTINEL_* variables; the database is "
        "migrated at start.",
    )
    r.add_argument(
        "--mode", choices=["polling", "webhook"], default="polling", help="how updates arrive"
    )
    r.add_argument("--host", help="webhook mode: address to listen on (default webhook.host)")
    r.add_argument("--port", type=int, help="webhook mode: port (default webhook.port)")
    r.set_defaults(func=cmd_run)

    b = sub.add_parser(
        "bench",
        help="measure per-message latency against a naive baseline",
        description="Time the bundled rules and a generated 10,000-pattern rule set on "
        "500-character messages, each beside a naive scan of every pattern, in one run.",
    )
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument(
        "--messages", type=int, default=400, help="messages per measurement (default 400)"
    )
    b.add_argument("--dir", help="rules directory (default: from settings)")
    b.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except RuleSetError as exc:
        print("The rules could not be loaded:", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        return EXIT_FAIL
    except SettingsError as exc:
        print(f"Settings problem: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as Unix tools do.
        sys.stderr.close()
        return EXIT_OK
    return code
