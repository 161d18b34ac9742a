"""Settings of one atende installation, read once from ``ATENDE_*`` variables or a config file.

Every part of the product takes its settings from here, so an integrator has one list to read
(the README's table mirrors it) and a wrong value stops startup with one line naming it
(see :func:`load_settings`), instead of failing on the first call of the day.
"""

from __future__ import annotations

import ipaddress
import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, PrivateAttr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from atende.domain.digits import is_digits

# What a connector does, each with its own timeout (ATENDE_CONNECTOR_TIMEOUTS).
CONNECTOR_OPERATIONS = (
    "find_person",
    "open_ticket",
    "find_ticket",
    "ticket_status",
    "list_tickets",
)


class SettingsError(Exception):
    """A setting has a value atende cannot use; the message names the variable."""


class _FromEnvironment(BaseSettings):
    """``ATENDE_*`` variables, then the optional config file (``ATENDE_CONFIG``)."""

    model_config = SettingsConfigDict(env_prefix="ATENDE_", extra="ignore")

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


class AdapterSettings(_FromEnvironment):
    """The base of an adapter's own settings model (``ATENDE_GLPI_APP_TOKEN``...): read like
    :class:`Settings`, and only when the adapter is named (see :mod:`atende.registry`)."""


A = TypeVar("A", bound=AdapterSettings)


class Settings(_FromEnvironment):
    """The settings every installation has, with the embedded defaults a newcomer runs on.

    An adapter's own settings (a channel's token, a helpdesk's URL) are in its module's model;
    values given here as keyword arguments (``Settings(whatsapp_token=...)``, as tests and
    :func:`load_settings` do) reach those models too, through :meth:`of`.
    """

    _given: dict[str, object] = PrivateAttr(default_factory=dict)

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        fields = type(self).model_fields
        self._given = {name: value for name, value in values.items() if name not in fields}

    def of(self, model: type[A], needed_by: str = "") -> A:
        """The adapter settings ``model`` read now; SettingsError naming the variable when a
        value is wrong, or missing (then ``needed_by`` says why it is needed)."""
        given: dict[str, Any] = {
            name: value for name, value in self._given.items() if name in model.model_fields
        }
        try:
            return model(**given)
        except ValidationError as exc:
            raise _one_line(exc, needed_by) from None

    data_dir: Path = Path("var")
    database_url: str | None = None
    # The most database connections one process opens (see atende.db.engine).
    database_connections: int = Field(72, ge=2)
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
    workers: int = Field(1, ge=1)  # ``atende serve``'s processes on this node (atende.workers)
    heartbeat_interval: float = Field(5.0, gt=0)
    owner_stale_after: float = Field(20.0, gt=0)  # + one beat: closed within 25 s

    protocol_at_start: bool = False
    otp: Literal["always", "untrusted", "never"] = "untrusted"
    survey: bool = False
    hours: str = "mon-fri 08:00-12:00,13:30-17:30"
    holidays: str = "BR"
    extra_holidays: str = ""
    attendant_dest: str = "from-internal,200,1"
    flow: str = Field("ti", pattern=r"^[a-z0-9][a-z0-9-]*$")  # what agi://HOST:4573/ura runs

    # Adapters, each picked by name from those registered (see atende.registry and each
    # adapter module's own settings model): speech engines and message channels as fallback
    # chains, first preferred; the directory callers are found in, the helpdesk tickets go to
    # ("builtin": atende's own database); who sends and checks one-time codes ("": Twilio
    # Verify when ATENDE_TWILIO_VERIFY_SERVICE is set, else atende itself). ATENDE_PLUGINS:
    # modules of third-party adapters to import first (comma-separated module paths).
    tts: str = "espeak"
    messaging: str = "outbox"
    directory: str = "builtin"
    helpdesk: str = "builtin"
    verifier: str = ""
    plugins: str = ""

    sounds_dir: Path | None = None
    audio_base_url: str | None = None
    # Development only: also keep the words of audio that holds a person's name beside it.
    audio_personal_transcripts: bool = False
    message_timeout: float = Field(10.0, gt=0)
    speech_timeout: float = Field(5.0, gt=0)

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


def load_settings(**overrides: object) -> Settings:
    """Read the settings and check those of the adapters they name, turning a failure into one
    line naming the variable."""
    config_file = os.environ.get("ATENDE_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise SettingsError(f"ATENDE_CONFIG: no such file: {config_file}")
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise _one_line(exc) from None
    from atende.adapters import check_settings  # the adapters import this module

    check_settings(settings)
    return settings


def _one_line(exc: ValidationError, needed_by: str = "") -> SettingsError:
    """The first error of ``exc`` as one line naming its variable."""
    first = exc.errors()[0]
    name = "ATENDE_" + str(first["loc"][0]).upper() if first["loc"] else "ATENDE_*"
    if first["type"] == "missing" and needed_by:
        return SettingsError(f"{name}: {needed_by}")
    return SettingsError(f"{name}: {first['msg']} (got {first.get('input')!r})")
