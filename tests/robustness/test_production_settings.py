"""What production refuses to start without (docs/deploy.md): its own SECRET_KEY, explicit
ID-number keys (never derived from SECRET_KEY), and rate limits counted where every worker
sees them. The development secret file is its owner's alone; the demo accounts are never
created in production."""

import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from core.settings import development_secret
from tests.conftest import PROJECT_ROOT, TEST_SECRET

FERNET_KEY = "a2V5LWZvci10aGUtdGVzdHMtb2YtcHJvZHVjdGlvbiE="  # 32 bytes, URL-safe base64
PRODUCTION = {
    "ENV_NAME": "production",
    "SECRET_KEY": TEST_SECRET,
    "ID_ENCRYPTION_KEYS": [FERNET_KEY],
    "ID_HASH_KEY": "hash-key-for-the-tests",
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",  # the limiter connects lazily
}


def _create(database_url, **changes):
    from wsgi import create_app

    return create_app({**PRODUCTION, "SQLALCHEMY_DATABASE_URI": database_url, **changes})


def test_a_complete_production_configuration_starts(database_url):
    app = _create(database_url)
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("missing, says", [
    ({"SECRET_KEY": None}, "SECRET_KEY is not set"),
    ({"ID_ENCRYPTION_KEYS": []}, "Set XIYUE_ID_ENCRYPTION_KEYS to Fernet keys"),
    ({"ID_ENCRYPTION_KEYS": " , "}, "Set XIYUE_ID_ENCRYPTION_KEYS to Fernet keys"),
    ({"ID_ENCRYPTION_KEYS": [FERNET_KEY, "not-a-key"]}, "key number 2 is not a Fernet key"),
    ({"ID_HASH_KEY": None}, "Set XIYUE_ID_HASH_KEY"),
    ({"ID_HASH_KEY": ""}, "Set XIYUE_ID_HASH_KEY"),
    ({"RATELIMIT_STORAGE_URI": "memory://"}, "Set REDIS_URL"),
])
def test_production_refuses_to_start_without(database_url, missing, says):
    with pytest.raises(RuntimeError, match="production refuses to start") as refused:
        _create(database_url, **missing)
    assert says in str(refused.value)


ALIYUN = {"SMS_BACKEND": "aliyun", "ALIYUN_ACCESS_KEY_ID": "LTAI", "ALIYUN_ACCESS_KEY_SECRET": "s",
          "ALIYUN_SMS_SIGN_NAME": "遂宁市民政局", "SMS_TEMPLATES": {"booking_confirmed": "SMS_1"}}
TENCENT = {"SMS_BACKEND": "tencent", "TENCENTCLOUD_SECRET_ID": "AKID",
           "TENCENTCLOUD_SECRET_KEY": "s", "TENCENT_SMS_SDK_APP_ID": "1400000001",
           "TENCENT_SMS_SIGN_NAME": "遂宁民政", "SMS_TEMPLATES": {"booking_confirmed": "1"}}


@pytest.mark.parametrize("sms, missing, says", [
    (ALIYUN, {"ALIYUN_ACCESS_KEY_SECRET": None}, "ALIYUN_ACCESS_KEY_SECRET is not set"),
    (ALIYUN, {"ALIYUN_SMS_SIGN_NAME": ""}, "ALIYUN_SMS_SIGN_NAME is not set"),
    (ALIYUN, {"SMS_TEMPLATES": {}}, "XIYUE_SMS_TEMPLATES is not set"),
    (TENCENT, {"TENCENT_SMS_SDK_APP_ID": None, "TENCENTCLOUD_SECRET_ID": None},
     "TENCENTCLOUD_SECRET_ID, TENCENT_SMS_SDK_APP_ID are not set"),
    (TENCENT, {"SMS_TEMPLATES": None}, "flask sms templates"),
])
def test_production_refuses_an_sms_provider_without_its_keys(database_url, sms, missing, says):
    assert _create(database_url, **sms).config["SMS_BACKEND"] == sms["SMS_BACKEND"]
    with pytest.raises(RuntimeError, match="production refuses to start") as refused:
        _create(database_url, **sms | missing)
    assert says in str(refused.value)


def test_every_missing_setting_is_named_at_once(database_url):
    with pytest.raises(RuntimeError) as refused:
        _create(database_url, SECRET_KEY=None, ID_ENCRYPTION_KEYS=None, ID_HASH_KEY=None,
                RATELIMIT_STORAGE_URI="memory://")
    for name in ("SECRET_KEY", "XIYUE_ID_ENCRYPTION_KEYS", "XIYUE_ID_HASH_KEY", "REDIS_URL"):
        assert name in str(refused.value)


def test_shared_rate_limits_or_none_at_all(database_url):
    app = _create(database_url, RATELIMIT_STORAGE_URI="memory://",
                  REDIS_URL="redis://127.0.0.1:6379/15")
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/15"
    _create(database_url, RATELIMIT_STORAGE_URI="memory://", RATELIMIT_ENABLED=False)


def test_outside_production_nothing_is_required(database_url):
    from wsgi import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": TEST_SECRET})
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_the_environment_of_a_production_host_without_keys_is_refused(tmp_path):
    """As systemd starts it: only the environment file (docs/deploy.md §1)."""
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                   "XIYUE_ENV_NAME": "production", "SECRET_KEY": "s" * 64,
                   "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60, env=environment)
    assert result.returncode != 0
    assert "XIYUE_ID_ENCRYPTION_KEYS" in result.stderr and "XIYUE_ID_HASH_KEY" in result.stderr
    assert "REDIS_URL" in result.stderr and "SECRET_KEY is not set" not in result.stderr


def test_the_development_secret_is_its_owners_alone(tmp_path):
    old_umask = os.umask(0o022)
    try:
        secret = development_secret(str(tmp_path))
    finally:
        os.umask(old_umask)
    path = tmp_path / "secret_key"
    assert len(secret) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name != "secret_key"]  # no leftover


def test_an_older_readable_development_secret_is_narrowed(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("0123456789abcdef" * 4 + "\n")
    path.chmod(0o644)
    assert development_secret(str(tmp_path)) == "0123456789abcdef" * 4
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_users_demo_refuses_in_production(app, database_url):
    """The demo accounts' passwords are in the README."""
    from core.auth import User
    from core.extensions import db

    production = _create(database_url)
    with production.app_context():
        try:
            result = production.test_cli_runner().invoke(args=["users", "demo"])
            assert result.exit_code != 0
            assert "production" in result.output and "flask users create" in result.output
            assert db.session.scalar(select(func.count()).select_from(User)) == 0
        finally:
            db.session.remove()
            db.engine.dispose()


def test_users_demo_still_works_elsewhere(runner, offices):
    result = runner.invoke(args=["users", "demo"])
    assert result.exit_code == 0, result.output
    assert "demo account admin" in result.output
