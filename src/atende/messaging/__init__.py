"""Messages to people (one-time codes, protocol numbers, status changes) behind one small port.

``ATENDE_MESSAGING`` names the channels, tried in order (``outbox`` by default: a local file a
developer reads; ``whatsapp``, ``twilio``, ``webhook``, ``email``, or a plugin's), each one
module that registers itself (see :mod:`atende.adapters`); :mod:`atende.bootstrap` builds the
chain. Services talk to a :class:`Messenger`, never to a channel directly.
"""

from __future__ import annotations

from atende.messaging.messenger import Messenger
from atende.messaging.port import (
    CodeVerifier,
    DeliveryError,
    MessageChannel,
    MessageKind,
    OutgoingMessage,
    SendResult,
)

__all__ = [
    "CodeVerifier",
    "DeliveryError",
    "MessageChannel",
    "MessageKind",
    "Messenger",
    "OutgoingMessage",
    "SendResult",
]
