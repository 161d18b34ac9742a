"""Administration: check the message and speech settings from the browser — send a test code
through the configured message channels, and hear a text from the configured speech engines."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from atende.bootstrap import build_audio_cache
from atende.domain.identity import InvalidIdentifier, mask, normalize_phone
from atende.messaging import DeliveryError, OutgoingMessage
from atende.speech import SpeechError
from atende.texts import text as phone_text
from atende.web.security import Admin, FormAdmin, services_of
from atende.web.templating import render
from atende.web.texts import web_text

router = APIRouter(prefix="/admin/checks", include_in_schema=False)

MAX_SPEECH_CHARS = 500


def _page(request: Request, status: int = 200, **context: object) -> Response:
    settings = services_of(request).runtime.settings
    values: dict[str, object] = {"channels": settings.messaging, "engines": settings.tts}
    values.update(context)
    return render(request, "admin/checks.html", values, status)


@router.get("")
def checks_page(request: Request, member: Admin) -> Response:
    return _page(request)


@router.post("/message")
async def send_test_code(
    request: Request, member: FormAdmin, to: Annotated[str, Form()] = ""
) -> Response:
    services = services_of(request)
    language = services.runtime.settings.language
    address = to.strip()
    if "@" not in address:
        try:
            address = normalize_phone(address)
        except InvalidIdentifier:
            return _page(request, 422, error=web_text("error_invalid_phone", language), to=to)
    code = f"{secrets.randbelow(10**6):06d}"
    message = OutgoingMessage(
        to=address, text=phone_text("otp_message", language, code=code), kind="otp"
    )
    try:
        result = await services.messenger.send_now(message)
    except DeliveryError as exc:
        failed = web_text("check_message_failed", language, reason=str(exc))
        return _page(request, 502, error=failed, to=to)
    sent = web_text(
        "check_message_sent", language, to=mask(address), provider_id=result.provider_id
    )
    return _page(request, notice=sent, to=to)


@router.post("/speech")
async def speak(request: Request, member: FormAdmin, text: Annotated[str, Form()] = "") -> Response:
    settings = services_of(request).runtime.settings
    words = " ".join(text.split())[:MAX_SPEECH_CHARS]
    if not words:
        return _page(request)
    try:
        audio = await run_in_threadpool(build_audio_cache(settings).get, words)
    except SpeechError as exc:
        failed = web_text("check_speech_failed", settings.language, reason=str(exc))
        return _page(request, 502, error=failed, text=words)
    return _page(request, audio_url=f"/audio/{audio.name}", text=words)
