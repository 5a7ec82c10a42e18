"""Login throttling's counts (staff.services): one row per client address and per user name
tried from an address, shared by every worker and host through the database."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import UTCDateTime


class LoginThrottle(db.Model):
    """Failed logins counted under one key. The key is a keyed hash (core.privacy
    secret_hash) of "address" + the client address, or of "name" + the user name tried +
    the address: neither the names tried (sometimes a password typed in the wrong field) nor
    the addresses are stored."""

    __tablename__ = "login_throttles"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # the next try under this key is refused until then
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
