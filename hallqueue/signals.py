"""What the hall announces to the features above it (blinker signals, as Flask's own).

Receivers run in the sender's transaction, before it commits: whatever they write commits
or rolls back with the hall's change."""

from blinker import Namespace

_signals = Namespace()

ticket_completed = _signals.signal("ticket-completed", doc="""\
A ticket was completed (registered or refused); sent with the Ticket, flushed, inside the
transaction that completes it. feedback subscribes: the "rate our service" SMS.""")
