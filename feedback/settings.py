"""Reading this feature's settings (defaults in config/defaults.py)."""

from flask import current_app


def setting(key: str):
    return current_app.config[key]
