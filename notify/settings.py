"""Reading the SMS settings (defaults in config/defaults.py), tolerant of values that came
from the environment as strings."""

from flask import current_app


def setting(key: str, config=None):
    config = current_app.config if config is None else config
    return config.get(key)


def number(key: str, config=None) -> float:
    value = setting(key, config)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number, not {value!r}") from None


def flag(key: str, config=None) -> bool:
    value = setting(key, config)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
