"""Configuration: environment variables over an optional kcbx.toml, into one typed object."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kcbx.bot.domain.grades import GRADE_STYLES
from kcbx.storage.db import SYNCHRONOUS as DURABILITY

DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_FILE_URL = "https://api.telegram.org/file/bot"
_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,200}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


@dataclass(frozen=True)
class Organs:
    """The issuing organs' full names printed on official documents (A7.4, A7.5).

    GB/T 9704-2012 signs a document with the organ's full name (or its standard short
    form), and a joint document with each organ's. ``[organs]`` in kcbx.toml::

        [organs]
        prefix = "中卫市"                       # what stands before the district's name
        bureau = "中卫市沙坡头区教育局"          # default: {prefix}{district}教育局
        [organs.townships]
        "滨河镇" = "中卫市沙坡头区滨河镇人民政府"  # default: {prefix}{district}{township}人民政府
    """

    prefix: str = ""
    bureau: str = ""
    townships: dict[str, str] = field(default_factory=dict)

    def bureau_name(self, district: str | None) -> str:
        """The education bureau's full name (中卫市沙坡头区教育局)."""
        if self.bureau:
            return self.bureau
        return f"{self.prefix}{district or ''}教育局"

    def township_name(self, township: str, district: str | None = None) -> str:
        """A township government's full name (中卫市沙坡头区滨河镇人民政府)."""
        named = self.townships.get(township)
        if named:
            return named
        return f"{self.prefix}{district or ''}{township}人民政府"


def _organs(value: Any, where: str) -> Organs:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [organs] must be a table")
    unknown = set(value) - {"prefix", "bureau", "townships"}
    if unknown:
        raise ConfigError(f"{where}: unknown setting organs.{sorted(unknown)[0]}")
    townships = value.get("townships", {})
    if not isinstance(townships, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in townships.items()
    ):
        raise ConfigError(f"{where}: [organs.townships] maps a township's name to its full name")
    for key in ("prefix", "bureau"):
        if not isinstance(value.get(key, ""), str):
            raise ConfigError(f"{where}: organs.{key} must be text")
    return Organs(
        prefix=value.get("prefix", "").strip(),
        bureau=value.get("bureau", "").strip(),
        townships={k.strip(): v.strip() for k, v in townships.items()},
    )


@dataclass(frozen=True)
class Config:
    telegram_token: str = ""
    telegram_api_url: str = DEFAULT_API_URL
    telegram_file_url: str = ""
    bot_username: str = ""
    db_path: str = "./kcbx.db"
    timezone: str = "Asia/Shanghai"
    default_language: str = "zh_CN"
    policy_path: str = ""
    invite_days: int = 7
    max_upload_bytes: int = 20 * 1024 * 1024
    sweep_seconds: int = 60
    # AIORateLimiter: Telegram allows about 30 messages a second overall, 20 a minute a group
    overall_max_rate: float = 30.0
    group_max_rate: float = 20.0
    max_retries: int = 3
    # Outbox messages in flight at once (one per chat at most). Each is one message a crash
    # may repeat; one keeps up with Telegram's 30 a second while a call takes under 33 ms.
    delivery_concurrency: int = 1
    organs: Organs = field(default_factory=Organs)
    # how grades and classes are printed: "year" (八年级2班) or "junior" (初二(2)班)
    grade_style: str = "year"
    # The key of the audit log's hash chain (an HMAC key): keep it outside the database, so
    # that whoever can write the database file cannot forge a consistent log.
    audit_key: str = ""
    # The password of a protected export is deleted from the chat after this many seconds.
    export_password_seconds: int = 600
    # Webhook mode: the secret Telegram sends with each update (a new one each start if empty).
    webhook_secret: str = ""
    # "full": a write is on disk when the person is told it is saved (SQLite synchronous=FULL);
    # "normal" is faster but a power cut can lose the last commits (WAL's synchronous=NORMAL).
    durability: str = "full"
    # The database's lease (kcbx.bot.runtime.instance): renewed every third of it; on
    # PostgreSQL a standby takes over within it (plus a fifth) after the holder stops.
    lease_seconds: float = 15.0
    # This instance's name in the lease (who holds the database): the machine's unless set.
    instance: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def file_url(self) -> str:
        if self.telegram_file_url:
            return self.telegram_file_url
        if self.telegram_api_url.endswith("/bot"):
            return self.telegram_api_url[: -len("/bot")] + "/file/bot"
        return DEFAULT_FILE_URL

    def require_token(self) -> str:
        """The bot token, or a ConfigError naming what is wrong."""
        if not self.telegram_token:
            raise ConfigError(
                "KCBX_TELEGRAM_TOKEN is not set: get a token from @BotFather and export it."
            )
        if not _TOKEN.match(self.telegram_token):
            raise ConfigError(
                "KCBX_TELEGRAM_TOKEN is malformed: expected digits, a colon and the secret, "
                "as @BotFather gives it."
            )
        return self.telegram_token


_ENV = {
    "KCBX_TELEGRAM_TOKEN": "telegram_token",
    "KCBX_TELEGRAM_API_URL": "telegram_api_url",
    "KCBX_TELEGRAM_FILE_URL": "telegram_file_url",
    "KCBX_BOT_USERNAME": "bot_username",
    "KCBX_DB": "db_path",
    "KCBX_TIMEZONE": "timezone",
    "KCBX_LANGUAGE": "default_language",
    "KCBX_POLICY": "policy_path",
    "KCBX_AUDIT_KEY": "audit_key",
    "KCBX_WEBHOOK_SECRET": "webhook_secret",
    "KCBX_DURABILITY": "durability",
    "KCBX_INSTANCE": "instance",
}


def load_config(
    path: str | Path | None = None, env: dict[str, str] | None = None, **overrides: Any
) -> Config:
    """Read kcbx.toml (if present), then the environment, then explicit overrides."""
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    toml_path = Path(path or env.get("KCBX_CONFIG") or "kcbx.toml")
    if toml_path.exists():
        try:
            data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{toml_path}: not valid TOML ({exc})") from exc
        known = {f.name: f for f in fields(Config)}
        for key, value in data.items():
            if key not in known or key == "extra":
                raise ConfigError(f"{toml_path}: unknown setting {key!r}")
            values[key] = _organs(value, str(toml_path)) if key == "organs" else value
    elif path is not None:
        raise ConfigError(f"{toml_path}: no such file")
    for var, name in _ENV.items():
        if env.get(var):
            values[name] = env[var]
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = replace(Config(), **values)
    _validate(config)
    return config


def _validate(config: Config) -> None:
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"timezone {config.timezone!r} is not a known time zone") from exc
    if config.default_language not in ("zh_CN", "en"):
        raise ConfigError(f"default_language must be zh_CN or en, not {config.default_language!r}")
    if config.durability not in DURABILITY:
        raise ConfigError(f"durability must be full or normal, not {config.durability!r}")
    if config.grade_style not in GRADE_STYLES:
        raise ConfigError(f"grade_style must be year or junior, not {config.grade_style!r}")
    for name in (
        "invite_days",
        "max_upload_bytes",
        "sweep_seconds",
        "max_retries",
        "export_password_seconds",
    ):
        value = getattr(config, name)
        if not isinstance(value, int) or value < 0:
            raise ConfigError(f"{name} must be a whole number >= 0, not {value!r}")
    lease = config.lease_seconds
    if isinstance(lease, bool) or not isinstance(lease, int | float) or not 2 <= lease <= 600:
        raise ConfigError(f"lease_seconds must be a number from 2 to 600, not {lease!r}")
    if not isinstance(config.delivery_concurrency, int) or config.delivery_concurrency < 1:
        raise ConfigError(
            f"delivery_concurrency must be a whole number >= 1, not {config.delivery_concurrency!r}"
        )
