"""Configuration from the environment, with safe defaults for a first run."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Settings read from the environment (docs/public-interface.md, "Configuration by environment").
ENV_SETTINGS = (
    "DATABASE_URL", "SECRET_KEY", "DATA_KEY", "PUBLIC_BASE_URL", "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "TWILIO_API_BASE_URL", "TWILIO_WHATSAPP_FROM",
    "TWILIO_WHATSAPP_TEMPLATE_SID", "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_API_BASE_URL", "TELEGRAM_BOT_USERNAME", "REDIS_URL",
    "CONTENT_DIR", "AUDIO_DIR", "RECORDINGS_DIR", "QUIET_HOURS", "SITE_TIMEZONE",
    "DB_POOL_SIZE", "RQ_QUEUE", "TRUSTED_PROXIES", "MAX_CONTENT_LENGTH", "DB_CONNECT_TIMEOUT",
    "PICTURES_DIR", "TICK_SECONDS", "SENDS_PER_ROUND", "SMTP_URL", "DIGEST_FROM",
)

# A request body larger than this gets 413 before it is read (1 MiB: a CSV of thousands
# of participants fits; recordings go to Twilio and Telegram, never through this app).
MAX_CONTENT_LENGTH = 1024 * 1024
# Seconds to wait for the database to answer a new connection before giving up, so a
# webhook gets a quick 503 (and the provider retries) instead of hanging.
DB_CONNECT_TIMEOUT = 5


def _instance_secret(instance: Path, name: str) -> str:
    """A random secret kept in the instance folder, so a demo survives restarts.

    Production sets SECRET_KEY and DATA_KEY in the environment instead; losing the
    DATA_KEY file would make stored phone numbers unreadable, so we say where it is.
    """
    path = instance / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
        log.warning("%s is not set: generated one in %s (keep it safe)", name.upper(), path)
    return path.read_text().strip()


def defaults(instance: Path) -> dict[str, Any]:
    """Every setting with its value from the environment or its default."""
    env = {name: os.environ.get(name, "") for name in ENV_SETTINGS}
    return {
        **env,
        "DATABASE_URL": env["DATABASE_URL"] or f"sqlite:///{instance / 'nsw-feedback.db'}",
        "PUBLIC_BASE_URL": (env["PUBLIC_BASE_URL"] or "http://127.0.0.1:5000").rstrip("/"),
        "AUDIO_DIR": env["AUDIO_DIR"] or str(instance / "audio"),
        "RECORDINGS_DIR": env["RECORDINGS_DIR"] or str(instance / "recordings"),
        "QUIET_HOURS": env["QUIET_HOURS"] or "20:00-09:00",
        "SITE_TIMEZONE": env["SITE_TIMEZONE"] or "Europe/London",
        "DB_POOL_SIZE": int(env["DB_POOL_SIZE"] or 5),
    }


def settle(config: dict[str, Any]) -> None:
    """Turn the numeric security settings into numbers, blank meaning the default.

    ``TRUSTED_PROXIES`` is how many proxies in front of the app may set
    ``X-Forwarded-*`` (0: none, so the headers are ignored).
    """
    config["TRUSTED_PROXIES"] = int(config.get("TRUSTED_PROXIES") or 0)
    config["MAX_CONTENT_LENGTH"] = int(config.get("MAX_CONTENT_LENGTH") or MAX_CONTENT_LENGTH)
    config["DB_CONNECT_TIMEOUT"] = int(config.get("DB_CONNECT_TIMEOUT") or DB_CONNECT_TIMEOUT)


def fill_secrets(config: dict[str, Any], instance: Path) -> None:
    """Generate SECRET_KEY and DATA_KEY in the instance folder when none is set."""
    for name in ("SECRET_KEY", "DATA_KEY"):
        if not config.get(name):
            config[name] = _instance_secret(instance, name.lower())
