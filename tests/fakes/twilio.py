"""A Twilio stand-in: the Messages API and Verify v2, as Twilio documents them.

Messages: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded, HTTP Basic
auth with the account SID and auth token (else 401, code 20003); ``To`` in E.164 (``whatsapp:``
prefix for WhatsApp; else 400, code 21211), ``From`` one of the account's numbers (21606) or a
``MessagingServiceSid``, a ``Body`` (21602); answers 201 ``{"sid": "SM...", "status":
"queued", ...}``. Errors are ``{"code", "message", "more_info", "status"}``.

Verify: ``POST /v2/Services/{sid}/Verifications`` (``To``, ``Channel``) makes a code and
answers 201 ``{"sid": "VE...", "status": "pending"}``; ``/VerificationCheck`` (``To``,
``Code``) answers ``{"status": "approved"}`` or ``"pending"``; after approval, or 5 wrong
checks (60202), the verification is gone: 404 (20404).
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fakes.scripted import Scripted

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "twilio-auth-token"
FROM = "+15005550006"
SERVICE_SID = "VA" + "0" * 31 + "2"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def error(status: int, code: int, message: str) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)


def settings_for(url: str) -> dict[str, object]:
    """atende's settings pointing the ``twilio`` channel (and Verify) at this stand-in."""
    return {
        "messaging": "twilio",
        "twilio_api_url": url,
        "twilio_verify_url": url,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from": FROM,
    }


class TwilioState(Scripted):
    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[dict[str, str]] = []
        self.verifications: dict[str, dict[str, Any]] = {}  # by To: code, checks

    def code_sent_to(self, phone: str) -> str:
        return str(self.verifications[phone]["code"])


def _authorized(request: Request) -> bool:
    expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    return request.headers.get("Authorization") == f"Basic {expected}"


async def _receive(
    state: TwilioState, request: Request
) -> tuple[dict[str, Any], JSONResponse | None]:
    """The request's form, and the answer that ends it early: scripted, or not authorized."""
    form = dict(await request.form())
    scripted = state.next_answer({"path": request.url.path, **form})
    if scripted is None and not _authorized(request):
        scripted = error(401, 20003, "Authenticate")
    return form, scripted


def twilio_app(state: TwilioState) -> Starlette:
    async def messages(request: Request) -> JSONResponse:
        form, refusal = await _receive(state, request)
        if refusal is not None:
            return refusal
        if request.path_params["sid"] != ACCOUNT_SID:
            return error(401, 20003, "Authenticate")
        to, sender = str(form.get("To", "")), str(form.get("From", ""))
        whatsapp = to.startswith("whatsapp:")
        if not E164.match(to.removeprefix("whatsapp:")):
            return error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not form.get("MessagingServiceSid") and sender.removeprefix("whatsapp:") != FROM:
            return error(400, 21606, "The 'From' phone number provided is not a valid number")
        if whatsapp != sender.startswith("whatsapp:") and not form.get("MessagingServiceSid"):
            return error(400, 21910, "Invalid From and To pair")
        if not form.get("Body"):
            return error(400, 21602, "Message body is required.")
        sid = "SM" + uuid.uuid4().hex
        state.delivered.append({"sid": sid, **{k: str(v) for k, v in form.items()}})
        body = {"sid": sid, "status": "queued", "to": to, "from": sender, "body": form["Body"]}
        return JSONResponse({**body, "account_sid": ACCOUNT_SID}, status_code=201)

    async def verifications(request: Request) -> JSONResponse:
        form, refusal = await _receive(state, request)
        if refusal is not None:
            return refusal
        if request.path_params["service"] != SERVICE_SID:
            return error(404, 20404, "The requested resource was not found")
        to = str(form.get("To", ""))
        if not E164.match(to):
            return error(400, 60200, "Invalid parameter `To`")
        if form.get("Channel") not in ("sms", "whatsapp", "call", "email"):
            return error(400, 60200, "Invalid parameter `Channel`")
        sid = "VE" + uuid.uuid4().hex
        state.verifications[to] = {
            "sid": sid,
            "code": f"{secrets.randbelow(10**6):06d}",
            "checks": 0,
        }
        body = {"sid": sid, "service_sid": SERVICE_SID, "to": to, "channel": form["Channel"]}
        return JSONResponse({**body, "status": "pending", "valid": False}, status_code=201)

    async def check(request: Request) -> JSONResponse:
        form, refusal = await _receive(state, request)
        if refusal is not None:
            return refusal
        to = str(form.get("To", ""))
        pending = state.verifications.get(to)
        if pending is None or request.path_params["service"] != SERVICE_SID:
            return error(404, 20404, "The requested resource was not found")
        pending["checks"] += 1
        if pending["checks"] > 5:
            del state.verifications[to]
            return error(429, 60202, "Max check attempts reached")
        approved = form.get("Code") == pending["code"]
        if approved:
            del state.verifications[to]
        status = "approved" if approved else "pending"
        return JSONResponse({"sid": pending["sid"], "to": to, "status": status, "valid": approved})

    return Starlette(
        routes=[
            Route("/2010-04-01/Accounts/{sid}/Messages.json", messages, methods=["POST"]),
            Route("/v2/Services/{service}/Verifications", verifications, methods=["POST"]),
            Route("/v2/Services/{service}/VerificationCheck", check, methods=["POST"]),
        ]
    )
