"""An AWS Polly stand-in for ``SynthesizeSpeech`` (REST-JSON ``POST /v1/speech``).

What it keeps to, from the Polly API reference: a SigV4 ``Authorization`` header for the
``polly`` service (``AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/polly/aws4_request, ...``,
else 403 ``UnrecognizedClientException``); the body's ``VoiceId``, ``Engine``,
``OutputFormat`` and ``SampleRate`` (``pcm`` at ``8000`` or ``16000``; else 400
``InvalidSampleRateException``); a voice that has no neural engine gets 400
``EngineNotSupportedException``; more than 3000 characters 400 ``TextLengthExceededException``.
The answer is the audio stream (``audio/pcm``: signed 16-bit little-endian mono) with
``x-amzn-RequestCharacters``; errors carry ``x-amzn-ErrorType`` and ``{"message"}``. The audio
is a tone lasting 50 ms per character, so longer texts give longer audio.
"""

from __future__ import annotations

import array
import math
import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakes.scripted import Scripted

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "sa-east-1"
NEURAL_PT_BR = {"Camila", "Vitoria", "Thiago"}
SECONDS_PER_CHARACTER = 0.05
AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[^/]+)/polly/aws4_request,"
    r" SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$"
)


def error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"message": message}, status_code=status, headers={"x-amzn-ErrorType": kind}
    )


def tone(seconds: float, rate: int) -> bytes:
    samples = array.array(
        "h",
        (int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate))),
    )
    return samples.tobytes()


class PollyState(Scripted):
    def __init__(self) -> None:
        super().__init__()
        self.spoken: list[dict[str, Any]] = []


def polly_app(state: PollyState) -> Starlette:
    async def speech(request: Request) -> Response:
        body = await request.json()
        scripted = state.next_answer({"headers": dict(request.headers), **body})
        if scripted is not None:
            return scripted
        signed = AUTHORIZATION.match(request.headers.get("Authorization", ""))
        if not signed or signed["key"] != ACCESS_KEY or not request.headers.get("X-Amz-Date"):
            return error(403, "UnrecognizedClientException", "The security token is invalid.")
        if signed["region"] != REGION:
            return error(
                403, "InvalidSignatureException", "Credential should be scoped to a valid region."
            )
        if body.get("OutputFormat") != "pcm" or body.get("SampleRate") not in ("8000", "16000"):
            return error(400, "InvalidSampleRateException", "Sample rate is not valid for pcm.")
        if body.get("Engine") == "neural" and body.get("VoiceId") not in NEURAL_PT_BR:
            return error(400, "EngineNotSupportedException", "This voice does not support neural.")
        text = str(body.get("Text", ""))
        if len(text) > 3000:
            return error(400, "TextLengthExceededException", "Maximum text length exceeded.")
        state.spoken.append(body)
        audio = tone(len(text) * SECONDS_PER_CHARACTER, int(body["SampleRate"]))
        headers = {"x-amzn-RequestCharacters": str(len(text))}
        return Response(audio, media_type="audio/pcm", headers=headers)

    return Starlette(routes=[Route("/v1/speech", speech, methods=["POST"])])
