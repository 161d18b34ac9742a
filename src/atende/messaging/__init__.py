"""Messages to people (one-time codes, protocol numbers, status changes) behind one small port.

``ATENDE_MESSAGING`` names the channels, tried in order (``outbox`` by default: a local file a
developer reads; ``whatsapp``, ``twilio``, ``webhook``, ``email``). Services talk to a
:class:`Messenger`, never to a channel directly.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from atende.config import Settings, chain_names, named_chain
from atende.messaging.messenger import Messenger
from atende.messaging.outbox import OutboxChannel
from atende.messaging.port import (
    DeliveryError,
    MessageChannel,
    MessageKind,
    OutgoingMessage,
    SendResult,
)
from atende.messaging.smtp import EmailChannel
from atende.messaging.twilio import TwilioChannel
from atende.messaging.webhook import WebhookChannel
from atende.messaging.whatsapp import WhatsAppChannel

__all__ = [
    "DeliveryError",
    "MessageChannel",
    "MessageKind",
    "Messenger",
    "OutboxChannel",
    "OutgoingMessage",
    "SendResult",
    "channel_names",
    "message_channels",
    "messenger",
]

CHANNELS: dict[str, Callable[[Settings], MessageChannel]] = {
    "outbox": lambda settings: OutboxChannel(settings.data_dir / "outbox.jsonl"),
    "whatsapp": WhatsAppChannel.from_settings,
    "twilio": TwilioChannel.from_settings,
    "webhook": WebhookChannel.from_settings,
    "email": EmailChannel,
}


def channel_names(settings: Settings) -> list[str]:
    """The names in ``ATENDE_MESSAGING``, checked, first preferred."""
    named_chain("ATENDE_MESSAGING", settings.messaging, CHANNELS)
    return chain_names(settings.messaging)


def message_channels(settings: Settings) -> list[MessageChannel]:
    """The channels named in ``ATENDE_MESSAGING`` (comma-separated, first preferred)."""
    return [
        make(settings) for make in named_chain("ATENDE_MESSAGING", settings.messaging, CHANNELS)
    ]


def messenger(settings: Settings, sessions: sessionmaker[Session]) -> Messenger:
    """The installation's messenger over its configured channels."""
    return Messenger(sessions, message_channels(settings))
