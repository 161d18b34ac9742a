"""Settings of one atende installation, read once from ``ATENDE_*`` variables or a config file.

Every part of the product takes its settings from here, so an integrator has one list to read
(the README's table mirrors it) and a wrong value stops startup with one line naming it
(see :func:`load_settings`), instead of failing on the first call of the day.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

T = TypeVar("T")


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
    # allow-lists check); anything else is taken at its TCP address.
    trusted_proxies: str = "127.0.0.1,::1"

    protocol_format: Literal["ans", "helpdesk"] = "helpdesk"
    ans_registration: str = "000000"
    protocol_check_digit: bool = True
    timezone: str = "America/Sao_Paulo"

    agi_host: str = "127.0.0.1"
    agi_port: int = Field(4573, ge=0, le=65535)  # 0: any free port (tests)
    agi_allow: str = "127.0.0.0/8,::1/128"
    agi_max_calls: int = Field(1000, ge=1)
    agi_command_timeout: float = Field(60.0, gt=0)

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
    messaging: str = "outbox"

    # Dashboard: how long a sign-in lasts without use, whether its cookie is Secure (auto: when
    # the request came over https), failed sign-ins allowed per address and name in 15 minutes.
    web_session_hours: float = Field(12.0, gt=0)
    web_cookie_secure: Literal["auto", "always", "never"] = "auto"
    web_login_attempts: int = Field(5, ge=1)

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
        if not (value.isdigit() and len(value) == 6):
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


def named_chain(variable: str, value: str, known: Mapping[str, T]) -> list[T]:
    """The entries of a comma-separated fallback chain setting (``ATENDE_TTS=polly,espeak``),
    first preferred; an empty or unknown name stops startup naming the variable."""
    names = [name.strip() for name in value.split(",") if name.strip()]
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
