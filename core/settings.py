"""Loading settings: defaults, then the environment (docs/api.md §5), then overrides."""

import logging
import os
import secrets
from pathlib import Path

from flask import Flask

from config import defaults

log = logging.getLogger(__name__)

ENV_KEYS = ("SECRET_KEY", "SMS_BACKEND", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
            "TWILIO_FROM", "TWILIO_API_BASE_URL", "PUBLIC_BASE_URL", "REDIS_URL")


def database_url(raw: str | None, instance_path: str) -> str:
    """Normalise DATABASE_URL: postgres:// and postgresql:// get the psycopg 3 driver."""
    if not raw:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{Path(instance_path) / 'xiyue.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


def load_settings(app: Flask, overrides: dict | None) -> None:
    app.config.from_object(defaults)
    for key in ENV_KEYS:
        if os.environ.get(key):
            app.config[key] = os.environ[key]
    app.config.from_prefixed_env("XIYUE")
    if overrides:
        app.config.update(overrides)
    raw_url = app.config.get("SQLALCHEMY_DATABASE_URI") or os.environ.get("DATABASE_URL")
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(raw_url, app.instance_path)
    if app.config.get("REDIS_URL") and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        # several workers or hosts: one shared count per client (docs/deploy.md)
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    if isinstance(app.config.get("RATELIMIT_ENABLED"), str):
        app.config["RATELIMIT_ENABLED"] = app.config["RATELIMIT_ENABLED"].lower() in (
            "1", "true", "yes", "on")
    if not app.config.get("SECRET_KEY"):
        if app.config.get("ENV_NAME") == "production":
            raise RuntimeError(
                "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
                "(for example: export SECRET_KEY=$(python -c 'import secrets; "
                "print(secrets.token_hex(32))')).")
        app.config["SECRET_KEY"] = development_secret(app.instance_path)


def development_secret(instance_path: str) -> str:
    """Outside production a missing SECRET_KEY is made once and kept in instance/, so that
    every worker and the scheduler of one machine share it."""
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        log.warning("SECRET_KEY is not set: using a development key kept in %s", path)
        tmp = path.with_suffix(f".{os.getpid()}")
        tmp.write_text(secrets.token_hex(32))
        tmp.replace(path) if not path.exists() else tmp.unlink()
    return path.read_text().strip()
