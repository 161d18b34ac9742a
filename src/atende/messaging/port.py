"""What every message channel promises: send one text to one phone or e-mail address.

A provider (the local outbox, WhatsApp Cloud API, Twilio, a webhook) is one class with a
``name`` and an async ``send``. It says whether a failure is worth retrying, so that an outage
delays a message while a refused number does not keep being tried.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from atende.domain.digits import is_digits

MessageKind = Literal["otp", "protocol", "status_change"]


@dataclass(frozen=True)
class OutgoingMessage:
    """One message: ``to`` is an E.164 phone (``+5545999991234``) or an e-mail address.

    ``template`` and ``fields`` are for providers that send approved templates (WhatsApp)
    instead of free text: the key of the text in ``atende.texts`` and the values it was filled
    with. ``key`` names a queued message the same way on every attempt, for providers that
    drop a repeated request (a webhook gateway's ``Idempotency-Key``): a process that dies
    after the provider took a message but before it was marked sent leaves it to be sent again.
    """

    to: str
    text: str
    kind: MessageKind
    template: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    key: str | None = None


@dataclass(frozen=True)
class SendResult:
    """The provider's identifier of an accepted message, for support and delivery receipts."""

    provider_id: str


class DeliveryError(Exception):
    """A channel did not take the message. ``retryable`` is False when trying again later
    cannot help (invalid number, refused content); ``retry_after`` is the wait in seconds the
    provider asked for (HTTP 429 ``Retry-After``); ``status`` the provider's HTTP status. The
    message never holds the recipient."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class MessageChannel(Protocol):
    name: str

    async def send(self, message: OutgoingMessage) -> SendResult: ...


class CodeVerifier(Protocol):
    """A service that makes up one-time codes, sends them and checks them (Twilio Verify);
    atende then never sees a code. Failures are DeliveryError."""

    name: str

    async def start(self, phone: str) -> SendResult:
        """Send a new code to ``phone``."""
        ...

    async def check(self, phone: str, code: str) -> bool:
        """True when ``code`` is the one sent to ``phone`` and still pending."""
        ...


class Unaddressable(DeliveryError):
    """The channel cannot reach this kind of address (a phone-only channel given an e-mail):
    not a failure of the provider, the next channel of the chain takes the message."""

    def __init__(self, channel: str, wanted: str) -> None:
        super().__init__(f"{channel} sends only to {wanted}", retryable=False)


def is_phone(address: str) -> bool:
    """True for an E.164 number (``+`` and digits), as atende stores phones."""
    return address.startswith("+") and is_digits(address[1:])


def require_phone(channel: str, address: str) -> str:
    """``address`` when it is a phone number; Unaddressable otherwise."""
    if not is_phone(address):
        raise Unaddressable(channel, "phone numbers")
    return address
