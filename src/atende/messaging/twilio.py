"""Twilio: SMS (or WhatsApp through Twilio's sender) with the Messages API, and Twilio Verify.

Messages: ``POST {ATENDE_TWILIO_API_URL}/2010-04-01/Accounts/{AccountSid}/Messages.json``,
form-encoded ``To``, ``From`` (or ``MessagingServiceSid`` when ``ATENDE_TWILIO_FROM`` is an
``MG...`` service) and ``Body``, HTTP Basic auth with the account SID and auth token; answer
``{"sid": "SM...", "status": "queued"}`` or ``{"code", "message", "more_info", "status"}``.

Verify (``ATENDE_TWILIO_VERIFY_SERVICE``): Twilio makes up the one-time code, sends it by SMS
or WhatsApp and later says whether what the caller typed matches
(``/v2/Services/{sid}/Verifications`` and ``/VerificationCheck``). atende then never sees the
code; :mod:`atende.services.otp` still counts sends and wrong entries itself.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from atende.adapters import CHANNELS, VERIFIERS
from atende.config import AdapterSettings, Settings
from atende.messaging.http import post
from atende.messaging.port import DeliveryError, OutgoingMessage, SendResult, require_phone
from atende.registry import register

# Error codes of a number that will never receive this message (invalid, landline, opted out).
UNREACHABLE_CODES = frozenset({21211, 21214, 21408, 21610, 21612, 21614, 60200, 60205})
# Verify's "too many attempts" answers come as 429 but will not clear within a call.
EXHAUSTED_CODES = frozenset({60202, 60203})


def error_text(body: Any) -> str:
    return f"{body.get('message', '')} (code {body.get('code')}, {body.get('more_info', '-')})"


def classify(status: int, body: Any) -> bool | None:
    code = body.get("code")
    if code in UNREACHABLE_CODES or code in EXHAUSTED_CODES:
        return False
    return None


class AccountSettings(AdapterSettings):
    twilio_account_sid: str = Field(min_length=1)
    twilio_auth_token: str = Field(min_length=1)
    twilio_whatsapp: bool = False  # through Twilio's WhatsApp sender instead of SMS
    twilio_api_url: str = "https://api.twilio.com"  # a stand-in's, in tests
    twilio_verify_url: str = "https://verify.twilio.com"


class MessagesSettings(AccountSettings):
    twilio_from: str = Field(min_length=1)  # +E.164, or an MG... messaging service SID


class VerifyService(AdapterSettings):
    twilio_verify_service: str | None = None  # VA...: Twilio Verify sends and checks codes


class VerifySettings(AccountSettings):
    twilio_verify_service: str = Field(min_length=1)


class TwilioAccount:
    """Credentials and base URLs shared by the Messages and Verify clients."""

    def __init__(self, own: AccountSettings, timeout: float) -> None:
        self.sid = own.twilio_account_sid
        self.auth = (self.sid, own.twilio_auth_token)
        self.api_url = own.twilio_api_url.rstrip("/")
        self.verify_url = own.twilio_verify_url.rstrip("/")
        self.whatsapp = own.twilio_whatsapp
        self.timeout = timeout

    def address(self, number: str) -> str:
        return f"whatsapp:{number}" if self.whatsapp else number

    async def post(self, url: str, form: dict[str, str], provider: str = "twilio") -> Any:
        return await post(
            provider,
            url,
            data=form,
            auth=self.auth,
            timeout=self.timeout,
            error_text=error_text,
            classify=classify,
        )


class TwilioChannel:
    name = "twilio"

    def __init__(self, account: TwilioAccount, sender: str) -> None:
        self.account = account
        self.sender = sender
        self.url = f"{account.api_url}/2010-04-01/Accounts/{account.sid}/Messages.json"

    def form(self, message: OutgoingMessage) -> dict[str, str]:
        """The form fields of the Messages API request for ``message``."""
        to = require_phone(self.name, message.to)
        form = {"To": self.account.address(to), "Body": message.text}
        if self.sender.startswith("MG"):
            form["MessagingServiceSid"] = self.sender
        else:
            form["From"] = self.account.address(self.sender)
        return form

    async def send(self, message: OutgoingMessage) -> SendResult:
        answer = await self.account.post(self.url, self.form(message))
        try:
            return SendResult(answer["sid"])
        except (KeyError, TypeError):
            raise DeliveryError("twilio: answer without a message sid", retryable=True) from None


class TwilioVerify:
    """Twilio Verify: Twilio sends the code and checks it."""

    name = "twilio-verify"

    def __init__(self, account: TwilioAccount, service_sid: str, locale: str = "pt-BR") -> None:
        self.account = account
        self.base = f"{account.verify_url}/v2/Services/{service_sid}"
        self.locale = locale

    async def start(self, phone: str) -> SendResult:
        """Have Twilio send a new code to ``phone``; DeliveryError when it did not."""
        form = {
            "To": require_phone(self.name, phone),
            "Channel": "whatsapp" if self.account.whatsapp else "sms",
            "Locale": self.locale,
        }
        answer = await self.account.post(f"{self.base}/Verifications", form, self.name)
        return SendResult(str(answer.get("sid", "")))

    async def check(self, phone: str, code: str) -> bool:
        """True when ``code`` is the one Twilio sent to ``phone`` (and it is still pending).

        404 means Twilio has no pending verification (expired, used, or too many checks):
        the code is not right any more. Other failures raise DeliveryError.
        """
        form = {"To": require_phone(self.name, phone), "Code": code}
        try:
            answer = await self.account.post(f"{self.base}/VerificationCheck", form, self.name)
        except DeliveryError as exc:
            if exc.status == 404:
                return False
            raise
        return bool(answer and answer.get("status") == "approved")


@register(CHANNELS, "twilio", MessagesSettings)
def build_channel(settings: Settings, own: MessagesSettings) -> TwilioChannel:
    return TwilioChannel(TwilioAccount(own, settings.message_timeout), own.twilio_from)


@register(VERIFIERS, "twilio-verify", VerifySettings)
def build_verifier(settings: Settings, own: VerifySettings) -> TwilioVerify:
    return TwilioVerify(TwilioAccount(own, settings.message_timeout), own.twilio_verify_service)
