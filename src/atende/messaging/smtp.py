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

import aiosmtplib

from atende.config import Settings
from atende.messaging.port import DeliveryError, OutgoingMessage, SendResult, Unaddressable
from atende.texts import text

# Authentication needed or refused: a setting for an administrator to fix, not a bad message.
AUTHENTICATION_CODES = frozenset({530, 534, 535})


def is_email(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain and " " not in address)


class EmailChannel:
    name = "email"

    def __init__(self, settings: Settings) -> None:
        self.host = settings.smtp_host or ""
        self.port = settings.smtp_port
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.sender = settings.smtp_from or ""
        self.language = settings.language
        self.timeout = settings.message_timeout

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
