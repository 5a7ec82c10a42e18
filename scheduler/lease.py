"""The scheduler lease: a row in `scheduler_leases` that says which `flask scheduler run`
process may run the jobs, and until when.

Taking and renewing are single conditional statements whose row count is the answer, so two
processes (on two hosts) can never both believe they hold it:

- take:  UPDATE … SET holder = me, expires_at = now + N WHERE name = … AND
         (expires_at < now OR holder = me); when no row exists yet, INSERT it (a second
         INSERT fails on the primary key);
- renew: UPDATE … SET expires_at = now + N WHERE name = … AND holder = me.

Lease times use the real wall clock, never the office clock (`FROZEN_NOW` pins that one for
demonstrations and would stop a lease from ever expiring). Hosts are assumed to keep their
clocks in step (NTP); the lease length is far larger than any usual drift.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from core.clock import wall_now
from scheduler.models import SchedulerLease

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
_table = SchedulerLease.__table__



def make_holder_id() -> str:
    """host:pid:random — unique per process, readable in logs and in `flask jobs list`."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class LeaseState:
    holder: str
    expires_at: datetime
    heartbeat_at: datetime
    acquired_at: datetime

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or wall_now())


def current_lease(engine: Engine, name: str = LEASE_NAME) -> LeaseState | None:
    with engine.connect() as conn:
        row = conn.execute(select(_table).where(_table.c.name == name)).first()
    if row is None:
        return None
    return LeaseState(row.holder, row.expires_at, row.heartbeat_at, row.acquired_at)


class Lease:
    def __init__(self, engine: Engine, holder: str, seconds: float,
                 name: str = LEASE_NAME) -> None:
        if seconds <= 0:
            raise ValueError("SCHEDULER_LEASE_SECONDS must be positive")
        self.engine = engine
        self.holder = holder
        self.seconds = float(seconds)
        self.name = name
        self.holding = False
        self.valid_until: datetime | None = None  # as far as this process knows

    def _values(self, now: datetime) -> dict:
        return {"expires_at": now + timedelta(seconds=self.seconds), "heartbeat_at": now}

    def take(self) -> bool:
        """Take the lease if it is free, expired or already ours. True when we hold it."""
        now = wall_now()
        values = self._values(now)
        with self.engine.begin() as conn:
            result = conn.execute(
                update(_table)
                .where(_table.c.name == self.name,
                       or_(_table.c.expires_at < now, _table.c.holder == self.holder))
                .values(holder=self.holder, acquired_at=now, **values))
            taken = result.rowcount == 1
        if not taken:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(_table).values(name=self.name, holder=self.holder,
                                                       acquired_at=now, **values))
                taken = True
            except IntegrityError:
                taken = False  # the row exists and someone else holds it
        self._record(taken, values["expires_at"])
        return taken

    def renew(self) -> bool:
        """Extend our lease; False when someone else holds it now (we lost it)."""
        now = wall_now()
        values = self._values(now)
        with self.engine.begin() as conn:
            result = conn.execute(
                update(_table)
                .where(_table.c.name == self.name, _table.c.holder == self.holder)
                .values(**values))
            renewed = result.rowcount == 1
        self._record(renewed, values["expires_at"])
        return renewed

    def _record(self, held: bool, expires_at: datetime) -> None:
        self.holding = held
        self.valid_until = expires_at if held else None

    def acquire_or_renew(self) -> bool:
        return self.renew() if self.holding else self.take()

    def still_valid(self) -> bool:
        """Whether this process may act as the holder right now, by its own last renewal
        (no database round trip): used when the database cannot be reached."""
        return self.holding and self.valid_until is not None and wall_now() < self.valid_until

    def confirm(self) -> bool:
        """Ask the database: is the lease ours and unexpired? Checked before each job run."""
        state = current_lease(self.engine, self.name)
        return state is not None and state.holder == self.holder and not state.expired()

    def release(self) -> None:
        """Give the lease up (on a clean shutdown) so that a waiting process takes over at
        its next poll instead of waiting for the lease to expire."""
        now = wall_now()
        with self.engine.begin() as conn:
            conn.execute(update(_table)
                         .where(_table.c.name == self.name, _table.c.holder == self.holder)
                         .values(expires_at=now, heartbeat_at=now))
        self._record(False, now)
