"""Twilio's message statuses and how they move ours. Callbacks arrive out of order, so a
status never goes back: queued < sent < delivered / undelivered / failed."""

from notify.models import OutboxMessage

FINAL_PROVIDER_STATUSES = {"delivered": "delivered", "read": "delivered",
                           "undelivered": "undelivered", "failed": "failed",
                           "canceled": "failed"}
KNOWN_PROVIDER_STATUSES = frozenset({"accepted", "scheduled", "queued", "sending", "sent",
                                     "receiving", "received", *FINAL_PROVIDER_STATUSES})


def provider_rank(provider_status: str | None) -> int:
    if not provider_status:
        return 0
    if provider_status in FINAL_PROVIDER_STATUSES:
        return 3
    return 2 if provider_status == "sent" else 1


def apply_provider_status(message: OutboxMessage, provider_status: str,
                          error_code: str | None = None) -> bool:
    """Record Twilio's word for `message`; True when it changed anything. While the message
    is still claimed (`sending`), only the provider status is kept: the dispatcher sets ours
    when it records the send."""
    provider_status = provider_status.strip().lower()
    if provider_rank(provider_status) < provider_rank(message.provider_status):
        return False
    changed = message.provider_status != provider_status
    message.provider_status = provider_status
    if message.status in ("pending", "sending"):
        return changed
    ours = FINAL_PROVIDER_STATUSES.get(provider_status, "sent")
    if ours != message.status:
        message.status = ours
        changed = True
    if error_code and ours in ("failed", "undelivered") and message.error_code != error_code:
        message.error_code = error_code[:64]
        changed = True
    return changed
