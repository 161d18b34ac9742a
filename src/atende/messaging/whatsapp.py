"""Meta's WhatsApp Cloud API: messages as approved templates from the official business number.

WhatsApp only lets a business start a conversation with a template approved in WhatsApp
Manager, so every message here is one:

- a one-time code goes as an *authentication* template (``ATENDE_WHATSAPP_OTP_TEMPLATE``,
  created with a copy-code button): WhatsApp writes the text itself ("*123456* é seu código de
  verificação"), the code fills the body and the button;
- everything else (protocol numbers, status changes) goes as one *utility* template
  (``ATENDE_WHATSAPP_TEMPLATE``) whose body has one parameter, filled with atende's text, e.g.
  "Atendimento da Prefeitura: {{1}}".

Request: ``POST {ATENDE_WHATSAPP_API_URL}/{phone number id}/messages`` with a bearer token;
answer ``{"messages": [{"id": "wamid..."}]}`` or ``{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from atende.adapters import CHANNELS
from atende.config import AdapterSettings, Settings
from atende.messaging.http import post
from atende.messaging.port import DeliveryError, OutgoingMessage, SendResult, require_phone
from atende.registry import register

# WhatsApp refuses template parameters with new lines, tabs or more than 4 spaces in a row.
_LAYOUT = re.compile(r"\s{2,}|[\n\t]")

# Error codes that say the number can never get this message (not on WhatsApp, blocked us).
UNREACHABLE_CODES = frozenset({131026, 131030, 131051, 131052})
# Rate limits reported with HTTP 400 rather than 429.
RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131048, 131056})


def error_text(body: Any) -> str:
    error = body["error"]
    return (
        f"{error.get('message', '')} (code {error.get('code')}"
        f"/{error.get('error_subcode', '-')}, fbtrace {error.get('fbtrace_id', '-')})"
    )


def classify(status: int, body: Any) -> bool | None:
    code = body["error"].get("code")
    if code in RATE_LIMIT_CODES:
        return True
    if code in UNREACHABLE_CODES:
        return False
    return None


class WhatsAppChannel:
    name = "whatsapp"

    def __init__(
        self,
        *,
        token: str,
        phone_number_id: str,
        api_url: str,
        otp_template: str,
        template: str,
        language: str,
        timeout: float,
    ) -> None:
        self.url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
        self.token = token
        self.otp_template = otp_template
        self.template = template
        self.language = language
        self.timeout = timeout

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        """The Cloud API request body for ``message``."""
        to = require_phone(self.name, message.to)[1:]  # digits with the country code
        if message.kind == "otp":
            code = message.fields.get("code")
            if not code:
                raise DeliveryError(
                    "whatsapp: a one-time code message without its code", retryable=False
                )
            parameter = [{"type": "text", "text": code}]
            name = self.otp_template
            components = [
                {"type": "body", "parameters": parameter},
                {"type": "button", "sub_type": "url", "index": "0", "parameters": parameter},
            ]
        else:
            text = _LAYOUT.sub(" ", message.text).strip()
            name = self.template
            components = [{"type": "body", "parameters": [{"type": "text", "text": text}]}]
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": {
                "name": name,
                "language": {"code": self.language},
                "components": components,
            },
        }

    async def send(self, message: OutgoingMessage) -> SendResult:
        answer = await post(
            self.name,
            self.url,
            json=self.payload(message),
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=self.timeout,
            error_text=error_text,
            classify=classify,
        )
        try:
            return SendResult(answer["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise DeliveryError("whatsapp: answer without a message id", retryable=True) from None


class WhatsAppSettings(AdapterSettings):
    whatsapp_token: str = Field(min_length=1)
    whatsapp_phone_number_id: str = Field(min_length=1)
    whatsapp_api_url: str = "https://graph.facebook.com/v21.0"  # a stand-in's, in tests
    whatsapp_otp_template: str = "atende_codigo"  # an authentication template (copy-code)
    whatsapp_template: str = "atende_aviso"  # a utility template, body "... {{1}}"
    whatsapp_language: str = "pt_BR"


@register(CHANNELS, "whatsapp", WhatsAppSettings)
def build(settings: Settings, own: WhatsAppSettings) -> WhatsAppChannel:
    return WhatsAppChannel(
        token=own.whatsapp_token,
        phone_number_id=own.whatsapp_phone_number_id,
        api_url=own.whatsapp_api_url,
        otp_template=own.whatsapp_otp_template,
        template=own.whatsapp_template,
        language=own.whatsapp_language,
        timeout=settings.message_timeout,
    )
