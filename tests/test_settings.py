"""The settings object: config.yaml plus SENTINEL_* environment, strict and secret-safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_bundled_config_loads_with_defaults() -> None:
    s = load_settings(ROOT / "config.yaml", environ={})
    assert s.mode == "demo"
    assert s.hotlines["CN"] == "96110" and s.hotlines["TW"] == "165"
    assert s.database_url_value.startswith("sqlite")


def test_environment_overrides_nested_values(tmp_path: Path) -> None:
    env = {"SENTINEL_ENGINE__MAX_TEXT_CHARS": "5000", "SENTINEL_DATA_DIR": "/var/lib/sentinel"}
    s = load_settings(ROOT / "config.yaml", environ=env)
    assert s.engine.max_text_chars == 5000
    assert s.data_dir == Path("/var/lib/sentinel")


def test_sentinel_config_names_another_file(tmp_path: Path) -> None:
    p = write(tmp_path, "log_level: DEBUG\n")
    assert load_settings(environ={"SENTINEL_CONFIG": str(p)}).log_level == "DEBUG"


def test_unknown_keys_are_rejected_by_name(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="colour"):
        load_settings(write(tmp_path, "colour: red\n"), environ={})
    with pytest.raises(SettingsError, match="SENTINEL_COLOUR"):
        load_settings(ROOT / "config.yaml", environ={"SENTINEL_COLOUR": "red"})


def test_bad_values_are_rejected_with_the_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"engine\.max_text_chars"):
        load_settings(write(tmp_path, "engine:\n  max_text_chars: lots\n"), environ={})


def test_malformed_config_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"config\.yaml:3: .*started at line 2"):
        load_settings(write(tmp_path, "mode: demo\nlog_level: [DEBUG\n"), environ={})


def test_secrets_are_refused_in_the_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SENTINEL_BOT_TOKEN"):
        load_settings(write(tmp_path, "bot_token: '123:abc'\n"), environ={})


def test_secrets_come_from_the_environment_and_never_show(tmp_path: Path) -> None:
    env = {
        "SENTINEL_BOT_TOKEN": "123456:SECRET-TOKEN",
        "SENTINEL_DATABASE_URL": "postgresql+asyncpg://u:hunter2@db/sentinel",
        "SENTINEL_PSEUDONYM_KEY": "k" * 32,
    }
    s = load_settings(ROOT / "config.yaml", environ=env)
    assert s.bot_token is not None and s.bot_token.get_secret_value() == env["SENTINEL_BOT_TOKEN"]
    assert s.database_url_value == env["SENTINEL_DATABASE_URL"]
    shown = repr(s) + str(s.redacted())
    for secret in env.values():
        assert secret not in shown


def test_production_needs_a_pseudonym_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SENTINEL_PSEUDONYM_KEY"):
        load_settings(ROOT / "config.yaml", environ={"SENTINEL_MODE": "production"})


def test_test_suite_variables_are_not_settings() -> None:
    s = load_settings(
        ROOT / "config.yaml", environ={"SENTINEL_TEST_POSTGRES_URL": "postgresql://x"}
    )
    assert s.mode == "demo"


def test_a_digest_faster_than_the_telegram_limit_is_refused() -> None:
    env = {"SENTINEL_DIGEST__RATE_PER_SECOND": "40"}
    with pytest.raises(SettingsError, match=r"rate_per_second \(40\) must not exceed"):
        load_settings(ROOT / "config.yaml", environ=env)
    env["SENTINEL_TELEGRAM__MAX_MESSAGES_PER_SECOND"] = "100"
    assert load_settings(ROOT / "config.yaml", environ=env).digest.rate_per_second == 40


def test_a_webhook_secret_telegram_would_refuse_is_named_at_start_without_showing_it() -> None:
    env = {"SENTINEL_WEBHOOK_SECRET": "has spaces/and+slashes"}
    with pytest.raises(SettingsError, match="SENTINEL_WEBHOOK_SECRET must be") as err:
        load_settings(ROOT / "config.yaml", environ=env)
    assert "slashes" not in str(err.value) and "slashes" not in str(err.value.__cause__)
    env["SENTINEL_WEBHOOK_SECRET"] = "a" * 64
    assert load_settings(ROOT / "config.yaml", environ=env).webhook_secret is not None


def test_database_urls_as_operators_write_them_are_taken_and_other_drivers_refused() -> None:
    env = {"SENTINEL_DATABASE_URL": "postgresql://sentinel:s3cret@db/sentinel"}
    assert load_settings(ROOT / "config.yaml", environ=env).database_url is not None
    env = {"SENTINEL_DATABASE_URL": "postgresql+psycopg2://sentinel:s3cret@db/sentinel"}
    with pytest.raises(SettingsError, match=r"through asyncpg; write postgresql://") as err:
        load_settings(ROOT / "config.yaml", environ=env)
    assert "s3cret" not in str(err.value) and "s3cret" not in str(err.value.__cause__)


@pytest.mark.parametrize(
    ("written", "used"),
    [
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("sqlite:////var/lib/sentinel/x.db", "sqlite+aiosqlite:////var/lib/sentinel/x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        (
            "postgresql://u:s3cret@db:5432/sentinel",
            "postgresql+asyncpg://u:s3cret@db:5432/sentinel",
        ),
        ("postgres://u@db/sentinel", "postgresql+asyncpg://u@db/sentinel"),
        ("postgresql+asyncpg://u@db/sentinel", "postgresql+asyncpg://u@db/sentinel"),
    ],
)
def test_the_settings_give_the_database_url_with_the_async_driver(written: str, used: str) -> None:
    env = {"SENTINEL_DATABASE_URL": written}
    assert load_settings(ROOT / "config.yaml", environ=env).database_url_value == used


@pytest.mark.parametrize(
    ("written", "named"),
    [
        ("mysql://u:s3cret@db/sentinel", "mysql://…"),
        ("redis://:s3cret@db:6379/0", "redis://…"),
        ("u:s3cret@db/sentinel", "not a URL"),
    ],
)
def test_an_unknown_database_scheme_is_one_line_naming_the_setting(
    written: str, named: str
) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(ROOT / "config.yaml", environ={"SENTINEL_DATABASE_URL": written})
    message = str(err.value)
    assert message.startswith("SENTINEL_DATABASE_URL: ") and "\n" not in message
    assert named in message and "postgresql://user:password@host" in message
    assert "s3cret" not in message and err.value.__cause__ is None
