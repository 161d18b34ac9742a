"""A WhatsApp Cloud API stand-in (Graph API ``POST /{version}/{phone-number-id}/messages``).

What it keeps to, from Meta's documentation: a ``Bearer`` token (else 401 ``OAuthException``
code 190); ``messaging_product: "whatsapp"``; template messages only to a number that has not
written first; a template must exist in its language (132001) with its number of body
parameters (132000); an authentication template needs the code again in its copy-code button
(``sub_type: "url"``, index 0); a number that is not on WhatsApp gets 131026; the answer is
``{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid..."}]}``;
errors are ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fakes.scripted import Scripted

TOKEN = "EAAG-test-token"
PHONE_NUMBER_ID = "106540352242922"
VERSION = "v21.0"
TEMPLATES = {
    ("atende_codigo", "pt_BR"): ("AUTHENTICATION", 1),
    ("atende_aviso", "pt_BR"): ("UTILITY", 1),
}


def error(status: int, code: int, message: str, kind: str = "OAuthException") -> JSONResponse:
    body = {
        "error": {
            "message": message,
            "type": kind,
            "code": code,
            "error_subcode": 2494010 if code == 131026 else None,
            "fbtrace_id": uuid.uuid4().hex[:22],
        }
    }
    return JSONResponse(body, status_code=status)


def settings_for(url: str) -> dict[str, object]:
    """atende's settings pointing the ``whatsapp`` channel at this stand-in served at ``url``."""
    return {
        "messaging": "whatsapp",
        "whatsapp_api_url": f"{url}/{VERSION}",
        "whatsapp_token": TOKEN,
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
    }


class WhatsAppState(Scripted):
    """What the fake received; ``delivered`` holds what reached a phone."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[dict[str, Any]] = []
        self.not_on_whatsapp: set[str] = set()


def _check_template(template: dict[str, Any]) -> JSONResponse | None:
    key = (template.get("name"), template.get("language", {}).get("code"))
    if key not in TEMPLATES:
        return error(404, 132001, "(#132001) Template name does not exist in the translation")
    category, count = TEMPLATES[key]
    components = {c.get("type"): c for c in template.get("components", [])}
    body = components.get("body", {}).get("parameters", [])
    if len(body) != count:
        return error(400, 132000, "(#132000) Number of parameters does not match the expected")
    if any(not p.get("text") or "\n" in p["text"] for p in body):
        return error(400, 131009, "(#131009) Parameter value is not valid")
    if category == "AUTHENTICATION":
        button = components.get("button", {})
        if (button.get("sub_type"), str(button.get("index"))) != ("url", "0") or [
            p.get("text") for p in button.get("parameters", [])
        ] != [body[0]["text"]]:
            return error(400, 131008, "(#131008) Required parameter is missing: button")
    return None


def whatsapp_app(state: WhatsAppState) -> Starlette:
    async def messages(request: Request) -> JSONResponse:
        payload = await request.json()
        scripted = state.next_answer(payload)
        if scripted is not None:
            return scripted
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if request.path_params["version"] != VERSION:
            return error(400, 2500, "Unknown path components")
        if request.path_params["number_id"] != PHONE_NUMBER_ID:
            return error(400, 100, "Unsupported post request. Object does not exist")
        if payload.get("messaging_product") != "whatsapp" or payload.get("type") != "template":
            return error(400, 100, "(#100) Invalid parameter")
        to = str(payload.get("to", ""))
        if not to.isdigit():
            return error(400, 131009, "(#131009) Parameter value is not valid")
        problem = _check_template(payload.get("template", {}))
        if problem is not None:
            return problem
        if to in state.not_on_whatsapp:
            return error(400, 131026, "Message undeliverable")
        message_id = f"wamid.{uuid.uuid4().hex}"
        state.delivered.append({"id": message_id, **payload})
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": message_id}],
            }
        )

    return Starlette(routes=[Route("/{version}/{number_id}/messages", messages, methods=["POST"])])
