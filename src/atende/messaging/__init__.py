"""Messages to people (one-time codes, protocol numbers, status changes) behind one small port.

``ATENDE_MESSAGING`` names the channels, tried in order (``outbox`` by default: a local file a
developer reads). Services talk to a :class:`Messenger`, never to a channel directly.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from atende.config import Settings, SettingsError
from atende.messaging.messenger import Messenger
from atende.messaging.outbox import OutboxChannel
from atende.messaging.port import (
    DeliveryError,
    MessageChannel,
    MessageKind,
    OutgoingMessage,
    SendResult,
)

__all__ = [
    "DeliveryError",
    "MessageChannel",
    "MessageKind",
    "Messenger",
    "OutboxChannel",
    "OutgoingMessage",
    "SendResult",
    "message_channels",
    "messenger",
]

CHANNELS: dict[str, Callable[[Settings], MessageChannel]] = {
    "outbox": lambda settings: OutboxChannel(settings.data_dir / "outbox.jsonl"),
}


def message_channels(settings: Settings) -> list[MessageChannel]:
    """The channels named in ``ATENDE_MESSAGING`` (comma-separated, first preferred)."""
    names = [name.strip() for name in settings.messaging.split(",") if name.strip()]
    known = ", ".join(CHANNELS)
    if not names:
        raise SettingsError(f"ATENDE_MESSAGING: name at least one channel ({known})")
    for name in names:
        if name not in CHANNELS:
            raise SettingsError(f"ATENDE_MESSAGING: unknown channel {name!r} (known: {known})")
    return [CHANNELS[name](settings) for name in names]


def messenger(settings: Settings, sessions: sessionmaker[Session]) -> Messenger:
    """The installation's messenger over its configured channels."""
    return Messenger(sessions, message_channels(settings))
