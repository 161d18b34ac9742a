"""FastAGI for Asterisk: a typed, hang-up aware command channel and an asyncio server.

This package knows nothing of tickets or menus; it could be published as its own library.
"""

from atende.agi.environment import AgiEnvironment, mask_callerid, parse_environment
from atende.agi.errors import (
    AgiCommandError,
    AgiError,
    AgiProtocolError,
    AgiTimeout,
    CallerGone,
    PlaybackFailed,
)
from atende.agi.protocol import AgiChannel, AgiReply
from atende.agi.server import AgiServer, Handler

__all__ = [
    "AgiChannel",
    "AgiCommandError",
    "AgiEnvironment",
    "AgiError",
    "AgiProtocolError",
    "AgiReply",
    "AgiServer",
    "AgiTimeout",
    "CallerGone",
    "Handler",
    "PlaybackFailed",
    "mask_callerid",
    "parse_environment",
]
