"""AWS Polly through boto3: Brazilian Portuguese neural voices, straight in Asterisk's format.

Polly returns raw PCM (signed 16-bit little-endian mono) at 8 kHz when asked, the rate Asterisk
plays without transcoding, so nothing is resampled. Voices: Camila, Vitória (``Vitoria``) and
Thiago, all neural. Credentials come from the standard AWS chain (``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY``, ``~/.aws/credentials``, an instance or container role); the region
from ``ATENDE_POLLY_REGION`` or that chain (``sa-east-1`` is São Paulo). Timeouts are short and
botocore retries once at most: a call waiting for speech must hear the next engine instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError
from pydantic import Field, field_validator

from atende.adapters import SPEECH
from atende.config import AdapterSettings, Settings, SettingsError
from atende.registry import register
from atende.speech.port import SAMPLE_RATE, SpeechError, asterisk_wav


class PollyEngine:
    name = "polly"
    system_packages: ClassVar[Mapping[str, str]] = {}  # nothing to install with apt-get

    def __init__(
        self,
        voice: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.voice = voice
        config = Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"total_max_attempts": 2, "mode": "standard"},
        )
        try:
            # A session of its own: credentials are read from the chain for this engine,
            # not kept in boto3's process-wide default session.
            session = boto3.session.Session(region_name=region)
            self.client = session.client("polly", endpoint_url=endpoint_url, config=config)
        except NoRegionError:
            raise SettingsError(
                "ATENDE_POLLY_REGION: no AWS region set (e.g. sa-east-1), nor AWS_DEFAULT_REGION"
            ) from None

    def synthesize(self, text: str) -> bytes:
        try:
            answer = self.client.synthesize_speech(
                Engine="neural",
                LanguageCode="pt-BR",
                OutputFormat="pcm",
                SampleRate=str(SAMPLE_RATE),
                Text=text,
                TextType="text",
                VoiceId=self.voice,
            )
            with answer["AudioStream"] as stream:
                pcm = stream.read()
        except ClientError as exc:
            # The code and status only: a message about the input could quote the text.
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise SpeechError(f"polly: {error.get('Code', 'error')} (HTTP {status})") from None
        except BotoCoreError as exc:
            # Its text names no input (no credentials, no connection, timeout).
            raise SpeechError(f"polly: {exc}") from None
        if not pcm:
            raise SpeechError("polly: empty audio")
        return asterisk_wav(pcm, SAMPLE_RATE)


class PollySettings(AdapterSettings):
    polly_voice: Literal["Camila", "Vitoria", "Thiago"] = "Camila"
    polly_region: str | None = Field(None, validate_default=True)  # else the AWS chain's
    polly_endpoint_url: str | None = None  # a stand-in's, in tests

    @field_validator("polly_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is None:
            import botocore.session

            if not botocore.session.get_session().get_config_variable("region"):
                raise ValueError("needed by polly when the AWS chain has none (e.g. sa-east-1)")
        return value


@register(SPEECH, "polly", PollySettings)
def build(settings: Settings, own: PollySettings) -> PollyEngine:
    return PollyEngine(
        own.polly_voice,
        region=own.polly_region,
        endpoint_url=own.polly_endpoint_url,
        timeout=settings.speech_timeout,
    )
