"""Settings of one atende installation, read once from ``ATENDE_*`` variables or a config file.

Every part of the product takes its settings from here, so an integrator has one list to read
(the README's table mirrors it) and a wrong value stops startup with one line naming it
(see :func:`load_settings`), instead of failing on the first call of the day.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from atende.domain.digits import is_digits

T = TypeVar("T")

# What a connector does, each with its own timeout (ATENDE_CONNECTOR_TIMEOUTS).
CONNECTOR_OPERATIONS = (
    "find_person",
    "open_ticket",
    "find_ticket",
    "ticket_status",
    "list_tickets",
)

# Settings a message channel cannot send without, by the channel named in ATENDE_MESSAGING.
MESSAGING_SETTINGS = {
    "whatsapp_token": "whatsapp",
    "whatsapp_phone_number_id": "whatsapp",
    "twilio_account_sid": "twilio",
    "twilio_auth_token": "twilio",
    "twilio_from": "twilio",
    "webhook_url": "webhook",
    "smtp_host": "email",
    "smtp_from": "email",
}


class SettingsError(Exception):
    """A setting has a value atende cannot use; the message names the variable."""


class Settings(BaseSettings):
    """All settings, with the embedded defaults a newcomer runs on."""

    model_config = SettingsConfigDict(env_prefix="ATENDE_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    language: str = "pt_BR"

    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    # Reverse proxies whose X-Forwarded-For is believed (the client address that token IP
    # allow-lists check); anything else is taken at its TCP address. None by default: any local
    # process could otherwise claim an allow-listed address through the header.
    trusted_proxies: str = ""

    protocol_format: Literal["ans", "helpdesk"] = "helpdesk"
    ans_registration: str = "000000"
    protocol_check_digit: bool = True
    timezone: str = "America/Sao_Paulo"

    agi_host: str = "127.0.0.1"
    agi_port: int = Field(4573, ge=0, le=65535)  # 0: any free port (tests)
    agi_allow: str = "127.0.0.0/8,::1/128"
    agi_max_calls: int = Field(1000, ge=1)
    agi_command_timeout: float = Field(60.0, gt=0)
    # Calls of a process that died are closed: by its own next start on this node at once, by
    # any other process once its heartbeat is older than ``owner_stale_after`` seconds.
    node_name: str = Field("", max_length=100)  # "": the host name
    heartbeat_interval: float = Field(5.0, gt=0)
    owner_stale_after: float = Field(30.0, gt=0)

    # The flow that answers agi://HOST:4573/ura (the path of every existing dialplan).
    flow: str = Field("ti", pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)
    protocol_at_start: bool = False
    otp: Literal["always", "untrusted", "never"] = "untrusted"
    survey: bool = False
    hours: str = "mon-fri 08:00-12:00,13:30-17:30"
    holidays: str = "BR"
    extra_holidays: str = ""
    attendant_dest: str = "from-internal,200,1"

    tts: str = "espeak"
    espeak_voice: str = "pt-br"
    sounds_dir: Path | None = None
    audio_base_url: str | None = None
    # Development only: also keep the words of audio that holds a person's name beside it.
    audio_personal_transcripts: bool = False
    messaging: str = "outbox"

    # Message channels and speech engines (issue 4); see MESSAGING_SETTINGS for what each
    # channel named in ATENDE_MESSAGING needs. Vendor URLs are settings so a stand-in can serve.
    message_timeout: float = Field(10.0, gt=0)
    whatsapp_token: str | None = Field(None, validate_default=True)
    whatsapp_phone_number_id: str | None = Field(None, validate_default=True)
    whatsapp_api_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_otp_template: str = "atende_codigo"  # an authentication template (copy-code)
    whatsapp_template: str = "atende_aviso"  # a utility template, body "... {{1}}"
    whatsapp_language: str = "pt_BR"
    twilio_account_sid: str | None = Field(None, validate_default=True)
    twilio_auth_token: str | None = Field(None, validate_default=True)
    twilio_from: str | None = Field(None, validate_default=True)  # +E.164, or an MG... SID
    twilio_whatsapp: bool = False  # through Twilio's WhatsApp sender instead of SMS
    twilio_api_url: str = "https://api.twilio.com"
    twilio_verify_service: str | None = None  # VA...: Twilio Verify sends and checks codes
    twilio_verify_url: str = "https://verify.twilio.com"
    webhook_url: str | None = Field(None, validate_default=True)
    webhook_header: str = "Authorization"
    webhook_secret: str | None = None
    smtp_host: str | None = Field(None, validate_default=True)
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = Field(None, validate_default=True)
    polly_voice: Literal["Camila", "Vitoria", "Thiago"] = "Camila"
    polly_region: str | None = Field(None, validate_default=True)  # else AWS_DEFAULT_REGION, ~/.aws
    polly_endpoint_url: str | None = None
    piper_model: Path | None = Field(None, validate_default=True)
    speech_timeout: float = Field(5.0, gt=0)

    # Connectors (issue 5): the directory callers are found in, the helpdesk tickets go to.
    directory: Literal["builtin", "http", "sql"] = "builtin"
    directory_file: Path | None = Field(None, validate_default=True)
    helpdesk: Literal["builtin", "http", "glpi", "zammad", "osticket"] = "builtin"
    helpdesk_file: Path | None = Field(None, validate_default=True)
    helpdesk_url: str | None = Field(None, validate_default=True)
    helpdesk_token: str | None = Field(None, validate_default=True)
    glpi_app_token: str | None = None
    zammad_group: str = "Users"
    zammad_cti_token: str | None = None
    helpdesk_categories: str = ""  # "3.1=12,3.2=13": menu keys -> the helpdesk's category id
    connector_timeout: float = Field(15.0, gt=0)
    connector_timeouts: str = ""  # "find_person=5,ticket_status=5"
    one_moment_after: float = Field(3.0, gt=0)
    breaker_failures: int = Field(5, ge=1)
    breaker_reset: float = Field(30.0, gt=0)

    # Dashboard: how long a sign-in lasts without use, whether its cookie is Secure (auto: when
    # the request came over https), failed sign-ins allowed per address and name in 15 minutes.
    web_session_hours: float = Field(12.0, gt=0)
    web_cookie_secure: Literal["auto", "always", "never"] = "auto"
    web_login_attempts: int = Field(5, ge=1)

    @field_validator("ans_registration")
    @classmethod
    def _six_digits(cls, value: str) -> str:
        if not (is_digits(value) and len(value) == 6):
            raise ValueError("must be the operator's 6-digit ANS registration")
        return value

    @field_validator("agi_allow", "trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)
        return value

    @field_validator("attendant_dest")
    @classmethod
    def _dest(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",")]
        if len(parts) != 3 or not all(parts):
            raise ValueError("must be context,extension,priority")
        return value

    @field_validator("owner_stale_after")
    @classmethod
    def _stale_after(cls, value: float, info: ValidationInfo) -> float:
        if value <= 2 * info.data.get("heartbeat_interval", 0):
            raise ValueError("must be more than twice ATENDE_HEARTBEAT_INTERVAL")
        return value

    @field_validator("directory_file", "helpdesk_file")
    @classmethod
    def _connector_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        kind = info.data.get("directory" if info.field_name == "directory_file" else "helpdesk")
        if kind in ("http", "sql") and value is None:
            raise ValueError(f"name the YAML file that describes the {kind} connector")
        if value is not None and not value.is_file():
            raise ValueError("no such file")
        return value

    @field_validator("helpdesk_url", "helpdesk_token")
    @classmethod
    def _helpdesk_access(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("helpdesk")
        if kind in ("glpi", "zammad", "osticket") and not value:
            raise ValueError(f"needed when ATENDE_HELPDESK={kind}")
        return value

    @field_validator("connector_timeouts")
    @classmethod
    def _timeouts(cls, value: str) -> str:
        for operation, seconds in key_values(value).items():
            if operation not in CONNECTOR_OPERATIONS:
                raise ValueError(f"unknown operation {operation!r}")
            if float(seconds) <= 0:
                raise ValueError(f"{operation}: give a number of seconds above 0")
        return value

    @field_validator("helpdesk_categories")
    @classmethod
    def _categories(cls, value: str) -> str:
        key_values(value)
        return value

    @field_validator(*MESSAGING_SETTINGS)
    @classmethod
    def _channel_setting(cls, value: str | None, info: ValidationInfo) -> str | None:
        channel = MESSAGING_SETTINGS[str(info.field_name)]
        chain = chain_names(str(info.data.get("messaging", "")))
        if not value and channel in chain:
            raise ValueError(f"needed when ATENDE_MESSAGING names {channel}")
        return value

    @field_validator("piper_model")
    @classmethod
    def _piper_model(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        chain = chain_names(str(info.data.get("tts", "")))
        if value is None and "piper" in chain:
            raise ValueError("needed when ATENDE_TTS names piper: a voice's .onnx file")
        if value is not None and not value.is_file():
            raise ValueError("no such file")
        if value is not None and not Path(f"{value}.json").is_file():
            raise ValueError(f"the voice's {value.name}.json must be beside it")
        if "piper" in chain and importlib.util.find_spec("piper") is None:
            raise ValueError("piper needs its packages: pip install 'atende[piper]'")
        return value

    @field_validator("polly_region")
    @classmethod
    def _polly_region(cls, value: str | None, info: ValidationInfo) -> str | None:
        chain = chain_names(str(info.data.get("tts", "")))
        if value is None and "polly" in chain:
            import botocore.session  # only when Polly is used

            if not botocore.session.get_session().get_config_variable("region"):
                raise ValueError("needed by polly when the AWS chain has none (e.g. sa-east-1)")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # An optional config file (ATENDE_CONFIG, KEY=value lines like a .env) sits under the
        # environment: a variable set for one run wins over the file.
        config_file = os.environ.get("ATENDE_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file:
            from pydantic_settings import DotEnvSettingsSource

            sources.append(DotEnvSettingsSource(settings_cls, env_file=config_file))
        return tuple(sources)

    @cached_property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to SQLite under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'atende.db').resolve()}"

    @cached_property
    def agi_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [
            ipaddress.ip_network(p.strip(), strict=False)
            for p in self.agi_allow.split(",")
            if p.strip()
        ]

    @cached_property
    def attendant_destination(self) -> tuple[str, str, str]:
        context, exten, priority = (p.strip() for p in self.attendant_dest.split(","))
        return context, exten, priority

    @cached_property
    def operation_timeouts(self) -> dict[str, float]:
        return {name: float(value) for name, value in key_values(self.connector_timeouts).items()}

    @cached_property
    def category_refs(self) -> dict[str, str]:
        """Catalog menu keys ("3.1") to the external helpdesk's category id."""
        return key_values(self.helpdesk_categories)


def key_values(value: str) -> dict[str, str]:
    """``"a=1,b=2"`` as a dict; a part without ``=`` is a ValueError."""
    pairs: dict[str, str] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        key, equals, item = part.partition("=")
        if not equals or not key.strip() or not item.strip():
            raise ValueError(f"{part.strip()!r} is not name=value")
        pairs[key.strip()] = item.strip()
    return pairs


def chain_names(value: str) -> list[str]:
    """The names of a comma-separated fallback chain setting, in order, blanks dropped."""
    return [name.strip() for name in value.split(",") if name.strip()]


def named_chain(variable: str, value: str, known: Mapping[str, T]) -> list[T]:
    """The entries of a comma-separated fallback chain setting (``ATENDE_TTS=polly,espeak``),
    first preferred; an empty or unknown name stops startup naming the variable."""
    names = chain_names(value)
    choices = ", ".join(known)
    if not names:
        raise SettingsError(f"{variable}: name at least one of {choices}")
    for name in names:
        if name not in known:
            raise SettingsError(f"{variable}: unknown {name!r} (known: {choices})")
    return [known[name] for name in names]


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation failure into one line naming the variable."""
    config_file = os.environ.get("ATENDE_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise SettingsError(f"ATENDE_CONFIG: no such file: {config_file}")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "ATENDE_" + str(first["loc"][0]).upper() if first["loc"] else "ATENDE_*"
        raise SettingsError(f"{name}: {first['msg']} (got {first.get('input')!r})") from None
