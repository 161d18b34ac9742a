"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives.

A recipient in ``refused`` gets ``550 5.1.1 mailbox unavailable`` at RCPT; while ``busy`` is
set, DATA gets ``451 4.3.0 try again later`` (a temporary failure); a username and password
may be required (AUTH PLAIN/LOGIN; over plain text, as a relay on the local network allows).
"""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from fakes.http_fake import free_port

USERNAME, PASSWORD = "atende@prefeitura.example", "smtp-secret"


class MailHandler:
    def __init__(self) -> None:
        self.received: list[Message] = []
        self.envelopes: list[Envelope] = []
        self.refused: set[str] = set()
        self.busy = False

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.busy:
            return "451 4.3.0 try again later"
        self.envelopes.append(envelope)
        self.received.append(message_from_bytes(envelope.content))  # type: ignore[arg-type]
        return "250 2.0.0 queued"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok)


class FakeSmtp:
    def __init__(self, require_auth: bool = False) -> None:
        self.handler = MailHandler()
        self.port = free_port()
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=_authenticate,
            auth_required=require_auth,
            auth_require_tls=False,
        )

    def __enter__(self) -> FakeSmtp:
        self.controller.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.controller.stop()
