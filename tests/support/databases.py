"""Test databases: an SQLite file per test, and a PostgreSQL database per test session
(emptied between tests). PostgreSQL tests skip where no server answers, except under
CI=true, where they fail."""

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("XIYUE_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_reachable() -> str | None:
    """None when the server answers, else the reason."""
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as error:  # any failure means: no usable server
        return f"{type(error).__name__}: {error}".splitlines()[0]


def require_postgres() -> None:
    reason = postgres_reachable()
    if reason is None:
        return
    message = f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({reason})"
    if in_ci():
        pytest.fail(message + "; under CI=true the PostgreSQL tests must run")
    pytest.skip(message + "; set XIYUE_TEST_PG_URL or start PostgreSQL")


def create_pg_database(prefix: str = "xiyue_test", admin_url: str = PG_ADMIN_URL) -> str:
    """A new empty database on the server of `admin_url`; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str, admin_url: str = PG_ADMIN_URL) -> None:
    name = make_url(url).database
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def private_pg_database(prefix: str = "xiyue_test"):
    """A fixture's body: a PostgreSQL database of its own (made, yielded, dropped)."""
    require_postgres()
    url = create_pg_database(prefix)
    yield url
    drop_pg_database(url)
