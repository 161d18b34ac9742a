"""The exceptions of the FastAGI layer, apart so that every module can raise them.

``CallerGone`` is the normal end of most calls: a flow lets it propagate and the server closes
the connection without alarm. Everything else points at a bug or a misconfiguration.
"""

from __future__ import annotations


class AgiError(Exception):
    """Base of everything the FastAGI layer raises."""


class CallerGone(AgiError):
    """The caller hung up, the channel is dead, or the connection to Asterisk is gone."""


class AgiTimeout(CallerGone):
    """Asterisk did not answer a command in time; the call is treated as dead from then on."""


class AgiProtocolError(AgiError):
    """The peer sent something that is not AGI; the connection cannot be trusted any more."""


class AgiCommandError(AgiError):
    """Asterisk rejected a command: 510 (unknown command) or 520 (wrong usage)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


class PlaybackFailed(AgiError):
    """Asterisk could not play a file (missing, unreadable or a failed URL); the call goes on."""


class UnknownScript(AgiError):
    """A catch-all handler found nothing to run for the call's FastAGI path."""

    def __init__(self, script: str) -> None:
        super().__init__(f"no FastAGI script named {script!r}")
        self.script = script
