"""The SMS job the scheduler runs every few seconds (`sms-dispatch`)."""

from notify.dispatch import dispatch_outbox

__all__ = ["dispatch_outbox"]
