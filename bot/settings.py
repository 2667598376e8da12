"""The one settings object: non-secret defaults from ``config.yaml``, overrides and secrets from
the environment (prefix ``SENTINEL_``).

Owns: loading, validating and describing settings. Unknown keys and bad values are rejected
with a message that names the key. Secrets (bot token, pseudonym key, database password) are
never read from the file and never printed: ``redacted()`` is what logs may show.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX = "SENTINEL_"
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"

# Settings that only ever come from the environment.
SECRET_ENV = {
    "bot_token": "SENTINEL_BOT_TOKEN",
    "pseudonym_key": "SENTINEL_PSEUDONYM_KEY",
    "database_url": "SENTINEL_DATABASE_URL",
    "webhook_secret": "SENTINEL_WEBHOOK_SECRET",
}


class SettingsError(Exception):
    """Settings are missing, unknown or invalid; the message says which and why."""


class _Section(BaseModel):
    # hide_input_in_errors: a rejected value may be a secret (the webhook secret, a database
    # URL), and the validation error travels with the SettingsError into any traceback.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class EngineSettings(_Section):
    rules_dir: Path = Path("rules")
    max_text_chars: int = Field(default=20_000, ge=100, le=1_000_000)
    conversation_max_messages: int = Field(default=10, ge=1, le=50)


class StorageSettings(_Section):
    # Hits and feedback older than this are purged by the daily retention job.
    retention_days: int = Field(default=180, ge=1, le=3650)
    # Redacted review reports are kept for a shorter time.
    report_retention_days: int = Field(default=90, ge=1, le=3650)
    # Hits waiting for an unavailable database; past this the oldest are dropped (and logged).
    queue_max: int = Field(default=10_000, ge=100, le=1_000_000)
    batch_size: int = Field(default=500, ge=1, le=10_000)
    flush_interval_seconds: float = Field(default=1.0, gt=0, le=60)


class TelegramSettings(_Section):
    # Forwarded messages arriving within this many seconds of each other are checked together.
    conversation_window_seconds: float = Field(default=1.0, gt=0, le=10)
    # A check continues the person's previous one (a follow-up question, the next screenshot
    # of the same chat) within this many seconds of it; 0 turns that off. Only the rule id and
    # signal names are kept meanwhile, never text.
    follow_up_seconds: float = Field(default=600, ge=0, le=3600)
    # Larger images are refused with a polite message.
    max_image_mb: int = Field(default=10, ge=1, le=20)
    # Images with more pixels than this (millions) are refused from their header, before any
    # decoding: a phone screenshot has 2-5, a 5K desktop 15.
    max_image_megapixels: float = Field(default=16, gt=0, le=40)
    # Text read from one image (OCR lines and QR payloads) is cut to this many characters.
    max_image_text_chars: int = Field(default=5_000, ge=100, le=100_000)
    # OCR runs in worker threads; this many at once (about 1 s each on two cores).
    ocr_workers: int = Field(default=1, ge=1, le=8)
    # Flood control per person: this many messages at once, then one every N seconds.
    flood_burst: int = Field(default=8, ge=1, le=100)
    flood_every_seconds: float = Field(default=2.0, gt=0, le=60)
    # Webhook workers share flood counts, warn-once marks and forwarded conversations through
    # the database; a read or write slower than this falls back to the worker's own memory.
    shared_state_timeout_seconds: float = Field(default=0.5, gt=0, le=10)
    # Groups: "on" warns on high risk, "quiet" warns silently, "delete" deletes the post and
    # tells the admins (when the bot may delete there; else it warns), "off" does not check.
    group_default_mode: Literal["on", "quiet", "delete", "off"] = "on"
    # Region (for the hotline) when the user's Telegram language does not tell.
    default_regions: dict[str, str] = Field(
        default_factory=lambda: {"zh-hans": "CN", "zh-hant": "TW", "en": "GB"}
    )
    # Daily retention purge, UTC "HH:MM".
    purge_time_utc: str = Field(default="03:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # The Bot API server: Telegram's unless set (a self-hosted telegram-bot-api server, or the
    # local emulator), e.g. "http://127.0.0.1:8081/bot".
    api_base_url: str | None = Field(default=None, pattern=r"^https?://")
    # Messages per second the bot may send in all (Telegram: about 30; more only with paid
    # broadcasts). The digest broadcast must stay below it so warnings still go out quickly.
    max_messages_per_second: float = Field(default=30.0, gt=0, le=1000)


class SeasonalNote(_Section):
    """A line added to digests between two dates (month-day, inclusive), e.g. a festival."""

    start: str = Field(pattern=r"^\d{2}-\d{2}$")
    end: str = Field(pattern=r"^\d{2}-\d{2}$")
    zh: str
    en: str


class DigestSettings(_Section):
    # Subscribers get the digest at this local time; the week is an ISO week in this zone.
    timezone: str = "Asia/Shanghai"
    weekday: int = Field(default=1, ge=1, le=7)  # ISO: 1 = Monday
    time: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # Families with fewer hits than this in a week are merged into "other".
    min_family_hits: int = Field(default=5, ge=1, le=1000)
    seasonal: list[SeasonalNote] = Field(default_factory=list)
    # Broadcast: messages per second (Telegram allows about 30 overall; the rest stays free for
    # warnings), sends in flight at once, and how often to look for due digests.
    rate_per_second: float = Field(default=25.0, gt=0, le=1000)
    concurrency: int = Field(default=8, ge=1, le=100)
    check_seconds: int = Field(default=300, ge=1, le=3600)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


class ModerationSettings(_Section):
    # Numeric Telegram user ids of the admins, who add and remove moderators (/mod).
    admins: list[int] = Field(default_factory=list)
    # How often every process looks for rule changes made by moderators (seconds).
    refresh_seconds: float = Field(default=2.0, gt=0, le=60)
    # A change shown with Confirm / Cancel expires after this many minutes.
    pending_minutes: int = Field(default=60, ge=1, le=1440)
    # Rules past their review_by date are listed to moderators weekly: ISO weekday, UTC time.
    review_weekday: int = Field(default=1, ge=1, le=7)
    review_time_utc: str = Field(default="02:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class WebhookSettings(_Section):
    # The public HTTPS URL Telegram posts updates to (the load balancer's, ending with
    # ``path``). Empty: the workers do not register a webhook themselves.
    url: str | None = Field(default=None, pattern=r"^https?://")
    # Where a worker listens, and the path updates arrive on.
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=1, le=65535)
    path: str = Field(default="/telegram", pattern=r"^/[A-Za-z0-9/_-]*$")
    # Connections Telegram may open at once (Bot API setWebhook max_connections, 1-100).
    max_connections: int = Field(default=40, ge=1, le=100)
    # An update a worker took but did not finish within this many seconds may be taken by
    # another worker (the first one died; Telegram redelivered it).
    lease_seconds: float = Field(default=30.0, gt=0, le=600)


class Settings(_Section):
    mode: Literal["demo", "production"] = "demo"
    data_dir: Path = Path("data")
    default_language: Literal["zh-hans", "zh-hant", "en"] = "zh-hans"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "text" for people, "json" (one object per line) for log collectors.
    log_format: Literal["text", "json"] = "text"
    engine: EngineSettings = Field(default_factory=EngineSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    moderation: ModerationSettings = Field(default_factory=ModerationSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    hotlines: dict[str, str] = Field(default_factory=dict)
    # Secrets: environment only.
    bot_token: SecretStr | None = None
    pseudonym_key: SecretStr | None = None
    database_url: SecretStr | None = None
    webhook_secret: SecretStr | None = None

    @field_validator("hotlines")
    @classmethod
    def _hotlines(cls, v: dict[str, str]) -> dict[str, str]:
        for region, number in v.items():
            if not region or not number.strip():
                raise ValueError(f"hotline for {region!r} is empty")
        return v

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, v: SecretStr | None) -> SecretStr | None:
        # Telegram's setWebhook accepts only these; a bad one would stop every worker at start.
        if v is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", v.get_secret_value()):
            raise ValueError(
                "SENTINEL_WEBHOOK_SECRET must be 1-256 letters, digits, _ or - "
                "(e.g. openssl rand -hex 32)"
            )
        return v

    @model_validator(mode="after")
    def _broadcast_below_limit(self) -> Settings:
        if self.digest.rate_per_second > self.telegram.max_messages_per_second:
            raise ValueError(
                f"digest.rate_per_second ({self.digest.rate_per_second:g}) must not exceed "
                f"telegram.max_messages_per_second ({self.telegram.max_messages_per_second:g})"
            )
        return self

    @property
    def database_url_value(self) -> str:
        """The database URL in force, with the async driver the bot uses (``postgresql://``
        becomes ``postgresql+asyncpg://``, ``sqlite:///`` ``sqlite+aiosqlite:///``): the
        environment's, or SQLite in the data directory. ``load_settings`` has checked it."""
        from bot.storage.db import async_url

        if self.database_url is not None:
            return async_url(self.database_url.get_secret_value())
        return f"sqlite+aiosqlite:///{(self.data_dir / 'sentinel.db').as_posix()}"

    def redacted(self) -> dict[str, Any]:
        """Settings as logs may show them: secrets masked, passwords cut from URLs."""
        data = self.model_dump(mode="json", exclude=set(SECRET_ENV))
        for name in SECRET_ENV:
            data[name] = "(set)" if getattr(self, name) is not None else "(not set)"
        return data


def _coerce(raw: str) -> Any:
    """Environment values are YAML scalars, so SENTINEL_ENGINE__MAX_TEXT_CHARS=5000 is a number."""
    try:
        return yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        return raw


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Load ``config.yaml`` (or ``SENTINEL_CONFIG``), apply ``SENTINEL_*`` overrides, validate."""
    env = os.environ if environ is None else environ
    path = Path(config_path or env.get("SENTINEL_CONFIG") or DEFAULT_CONFIG)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        started = ""
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            started = f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise SettingsError(f"{where}: not valid YAML: {exc.problem}{started}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: the top level must be a mapping of settings")
    for secret in SECRET_ENV:
        if secret in data:
            raise SettingsError(
                f"{path}: {secret!r} is a secret; set it in the environment as {SECRET_ENV[secret]}"
            )

    known = set(Settings.model_fields)
    for key, value in env.items():
        # SENTINEL_TEST_* belong to the test suite (e.g. the PostgreSQL URL), not to the bot.
        if (
            not key.startswith(ENV_PREFIX)
            or key == "SENTINEL_CONFIG"
            or key.startswith("SENTINEL_TEST_")
        ):
            continue
        parts = key[len(ENV_PREFIX) :].lower().split("__")
        if parts[0] not in known:
            raise SettingsError(f"unknown setting in environment: {key}")
        target = data
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise SettingsError(f"{key}: {part} is not a section")
        target[parts[-1]] = value if parts[0] in SECRET_ENV else _coerce(value)

    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            dotted = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {dotted}: {err['msg']}")
        raise SettingsError(
            f"invalid settings ({path} + environment):\n" + "\n".join(lines)
        ) from exc
    if settings.database_url is not None:
        # Refused at start, in one line naming the setting, with the spelling that works (the
        # URL itself is not repeated: it may hold a password).
        from bot.storage.db import async_url

        try:
            async_url(settings.database_url.get_secret_value())
        except ValueError as exc:
            raise SettingsError(f"{SECRET_ENV['database_url']}: {exc}") from None
    if settings.mode == "production" and settings.pseudonym_key is None:
        raise SettingsError("production mode needs SENTINEL_PSEUDONYM_KEY in the environment")
    if not settings.engine.rules_dir.is_absolute():
        # The rules ship beside config.yaml: find them from any working directory.
        rules = (path.parent / settings.engine.rules_dir).resolve()
        settings = settings.model_copy(
            update={"engine": settings.engine.model_copy(update={"rules_dir": rules})}
        )
    return settings
