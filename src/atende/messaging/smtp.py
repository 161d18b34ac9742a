"""E-mail over SMTP (aiosmtplib), for people with no mobile phone.

``ATENDE_SMTP_SECURITY`` is ``starttls`` (port 587, the submission port most providers give),
``tls`` (port 465) or ``none`` (a relay on the local network). A reply 4xx from the server is
temporary and the message is retried; 5xx refuses it, except authentication failures (a
setting to fix). The subject says what the message is
about, in the installation's language.
"""

from __future__ import annotations

import email.utils
from email.message import EmailMessage
from typing import Literal

import aiosmtplib
from pydantic import Field

from atende.adapters import CHANNELS
from atende.config import AdapterSettings, Settings
from atende.messaging.port import DeliveryError, OutgoingMessage, SendResult, Unaddressable
from atende.registry import register
from atende.texts import text

# Authentication needed or refused: a setting for an administrator to fix, not a bad message.
AUTHENTICATION_CODES = frozenset({530, 534, 535})


def is_email(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain and " " not in address)


class SmtpSettings(AdapterSettings):
    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = Field(min_length=1)


class EmailChannel:
    name = "email"

    def __init__(self, own: SmtpSettings, language: str, timeout: float) -> None:
        self.host = own.smtp_host
        self.port = own.smtp_port
        self.security = own.smtp_security
        self.username = own.smtp_username
        self.password = own.smtp_password
        self.sender = own.smtp_from
        self.language = language
        self.timeout = timeout

    def build(self, message: OutgoingMessage) -> EmailMessage:
        if not is_email(message.to):
            raise Unaddressable(self.name, "e-mail addresses")
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = text(f"email_subject_{message.kind}", self.language)
        mail["Date"] = email.utils.formatdate(localtime=True)
        mail["Message-ID"] = email.utils.make_msgid(domain=self.sender.rpartition("@")[2] or None)
        mail.set_content(message.text)
        return mail

    async def send(self, message: OutgoingMessage) -> SendResult:
        mail = self.build(message)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.security == "tls",
                start_tls=self.security == "starttls",
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = ", ".join(str(refusal.code) for refusal in exc.recipients)
            raise DeliveryError(f"email: recipient refused ({codes})", retryable=False) from None
        except aiosmtplib.SMTPResponseException as exc:
            retryable = exc.code < 500 or exc.code in AUTHENTICATION_CODES
            raise DeliveryError(
                f"email: server answered {exc.code} {exc.message}", retryable=retryable
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"email: {type(exc).__name__}", retryable=True) from None
        return SendResult(mail["Message-ID"])


@register(CHANNELS, "email", SmtpSettings)
def build(settings: Settings, own: SmtpSettings) -> EmailChannel:
    return EmailChannel(own, settings.language, settings.message_timeout)
