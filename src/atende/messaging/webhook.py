"""A JSON POST to a gateway the installation already runs, such as seed 000's WhatsApp bot.

Seed 000's city hall sent messages through its own Express + venom-bot server:
``POST /api/send-message`` with ``{"phone": "5545999991234", "message": "..."}`` and the shared
secret in ``Authorization``; it answers 200 with any JSON. Pointing ``ATENDE_WEBHOOK_URL`` at
such a gateway keeps it in service. The header's name is a setting
(``ATENDE_WEBHOOK_HEADER``) for gateways that expect e.g. ``X-Api-Key``; the body also says
what kind of message it is, for gateways that route by it (extra keys are ignored by seed
000's). A queued message carries the same ``Idempotency-Key`` header on every attempt, so a
gateway that honours it sends a message once even when a process died before marking it sent.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from atende.adapters import CHANNELS
from atende.config import AdapterSettings, Settings
from atende.messaging.http import post
from atende.messaging.port import OutgoingMessage, SendResult, require_phone
from atende.registry import register


def error_text(body: Any) -> str:
    # Seed 000's gateway answers {"error": "..."}; others may answer {"message": "..."}.
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or "")
    return ""


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, header: str, secret: str | None, timeout: float) -> None:
        self.url = url
        self.headers = {header: secret} if secret else {}
        self.timeout = timeout

    async def send(self, message: OutgoingMessage) -> SendResult:
        body = {
            "phone": require_phone(self.name, message.to)[1:],
            "message": message.text,
            "kind": message.kind,
        }
        headers = dict(self.headers)
        if message.key:
            headers["Idempotency-Key"] = message.key
        answer = await post(
            self.name,
            self.url,
            json=body,
            headers=headers,
            timeout=self.timeout,
            error_text=error_text,
        )
        provider_id = answer.get("id") if isinstance(answer, dict) else None
        return SendResult(str(provider_id or f"webhook-{uuid.uuid4().hex}"))


class WebhookSettings(AdapterSettings):
    webhook_url: str = Field(min_length=1)
    webhook_header: str = "Authorization"
    webhook_secret: str | None = None


@register(CHANNELS, "webhook", WebhookSettings)
def build(settings: Settings, own: WebhookSettings) -> WebhookChannel:
    return WebhookChannel(
        own.webhook_url, own.webhook_header, own.webhook_secret, settings.message_timeout
    )
