"""Loading settings: defaults, then the environment (docs/api.md §5), then overrides."""

import logging
import os
import secrets
from pathlib import Path

from flask import Flask

from config import defaults

log = logging.getLogger(__name__)

ENV_KEYS = ("SECRET_KEY", "SMS_BACKEND", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
            "TWILIO_FROM", "TWILIO_API_BASE_URL", "PUBLIC_BASE_URL", "REDIS_URL",
            "ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME",
            "ALIYUN_SMS_ENDPOINT", "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY",
            "TENCENT_SMS_SDK_APP_ID", "TENCENT_SMS_SIGN_NAME", "TENCENT_SMS_ENDPOINT")
# what each template SMS backend cannot send without (docs/sms.md)
SMS_BACKEND_KEYS = {
    "aliyun": ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME"),
    "tencent": ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENT_SMS_SDK_APP_ID",
                "TENCENT_SMS_SIGN_NAME"),
}


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
    if app.config.get("ENV_NAME") == "production":
        refuse_unsafe_production(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = development_secret(app.instance_path)


def production_problems(config) -> list[str]:
    """What a production configuration lacks (docs/deploy.md "What production refuses to
    start without"), each with what to set."""
    problems = []
    if not config.get("SECRET_KEY"):
        problems.append(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(for example: export SECRET_KEY=$(python -c 'import secrets; "
            "print(secrets.token_hex(32))')).")
    if not _given(config.get("ID_ENCRYPTION_KEYS")):
        problems.append(
            "ID_ENCRYPTION_KEYS is not set: ID numbers would be encrypted with a key derived "
            "from SECRET_KEY. Set XIYUE_ID_ENCRYPTION_KEYS to Fernet keys, newest first "
            "(make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'); see docs/deploy.md section 7.")
    elif wrong := _not_fernet_keys(config.get("ID_ENCRYPTION_KEYS")):
        problems.append(
            f"ID_ENCRYPTION_KEYS: key number {', '.join(map(str, wrong))} is not a Fernet key "
            "(32 bytes in URL-safe base64, as Fernet.generate_key() makes them).")
    if not _given(config.get("ID_HASH_KEY")):
        problems.append(
            "ID_HASH_KEY is not set: look-ups by ID number would be keyed by SECRET_KEY. "
            "Set XIYUE_ID_HASH_KEY (for example: python -c 'import secrets; "
            "print(secrets.token_hex(32))'; it never changes); see docs/deploy.md section 7.")
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if config.get("RATELIMIT_ENABLED") and storage.startswith(PER_PROCESS_STORAGE):
        problems.append(
            f"Rate limits would be counted in each worker process ({storage}), so that N "
            "workers allow N times each limit. Set REDIS_URL (for example "
            "REDIS_URL=redis://redis.internal:6379/0) or XIYUE_RATELIMIT_STORAGE_URI to "
            "storage that all workers share; or switch the limits off explicitly with "
            "XIYUE_RATELIMIT_ENABLED=false.")
    backend = str(config.get("SMS_BACKEND") or "").strip().lower()
    if backend in SMS_BACKEND_KEYS:
        missing = [key for key in SMS_BACKEND_KEYS[backend] if not config.get(key)]
        if missing:
            problems.append(
                f"SMS_BACKEND is {backend}, but {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set: no SMS could be sent. Set "
                "them in the environment (the account's keys and the registered signature); "
                "see docs/sms.md.")
        if not config.get("SMS_TEMPLATES"):
            problems.append(
                f"SMS_BACKEND is {backend}, but XIYUE_SMS_TEMPLATES is not set: no message "
                "kind has a template, so none would be sent. Register the templates that "
                "`flask sms templates` prints and set XIYUE_SMS_TEMPLATES to JSON, kind -> "
                "template id; see docs/sms.md.")
    return problems


PER_PROCESS_STORAGE = ("memory://",)


def _given(value) -> bool:
    return bool(_items(value))


def _items(value) -> list[str]:
    """A list setting as the code reads it: a list, or text separated by commas."""
    if value is None:
        return []
    if isinstance(value, str | bytes):
        value = (value.decode() if isinstance(value, bytes) else value).split(",")
    return [str(item).strip() for item in value if str(item).strip()]


def _not_fernet_keys(value) -> list[int]:
    from cryptography.fernet import Fernet

    wrong = []
    for position, key in enumerate(_items(value), start=1):
        try:
            Fernet(key)
        except ValueError:
            wrong.append(position)
    return wrong


def refuse_unsafe_production(config) -> None:
    problems = production_problems(config)
    if problems:
        raise RuntimeError("XIYUE_ENV_NAME is production, and production refuses to start:\n"
                           + "\n".join(f"- {problem}" for problem in problems))


def development_secret(instance_path: str) -> str:
    """Outside production a missing SECRET_KEY is made once and kept in instance/, so that
    every worker and the scheduler of one machine share it. The file is readable by its
    owner only (0600; an older, wider one is narrowed), since the development keys for ID
    numbers are derived from it."""
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        log.warning("SECRET_KEY is not set: using a development key kept in %s", path)
        tmp = path.with_suffix(f".{os.getpid()}")
        descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # a leftover of an interrupted start keeps its mode
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
        tmp.replace(path) if not path.exists() else tmp.unlink()
    if path.stat().st_mode & 0o077:
        try:
            path.chmod(0o600)
        except OSError as error:  # another account's file: say so, go on
            log.warning("%s is readable by others and cannot be narrowed: %s", path, error)
    return path.read_text().strip()
