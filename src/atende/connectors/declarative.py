"""The ``http`` connector: a REST API described in a YAML file instead of code.

Per operation the file gives the method, the URL, headers, query, a JSON or form body, and
where each of our fields is in the JSON answer (JSONPath such as ``$.dados.nome``, or a dotted
path ``dados.nome``); how the API's status values map to ours; and how to authenticate:
static headers (a token), an OAuth2 client-credentials bearer token, or a session login step
(seed 000's ``autenticar_sessao``: a cookie, or a token read from the login answer), renewed
once when the API answers with one of ``expired_status``. Strings are Jinja2 templates
rendered in the sandboxed environment (the file may come from a customer; a template cannot
reach Python objects); a string that is one ``{{ expression }}`` keeps the expression's type,
so numbers stay numbers in JSON. ``examples/connectors/`` holds working files; the README
section "Connecting your helpdesk" lists every key.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment
from jsonpath_ng import parse as parse_jsonpath
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from atende.adapters import DIRECTORIES, HELPDESKS
from atende.config import AdapterSettings, Settings, SettingsError
from atende.connectors.http_base import HttpBase, Timeouts, timeouts_of
from atende.connectors.ports import (
    ConnectorError,
    DirectoryEntry,
    ExternalRef,
    ExternalStatus,
    ExternalSummary,
    LookupField,
    NotSupported,
    TicketDraft,
    map_status,
)
from atende.domain.ticket_status import TicketStatus
from atende.registry import register

TEMPLATES = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_ONE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expression>[^{}]*)\}\}\s*$")
TOKEN_MARGIN_S = 30.0  # renew an OAuth2 token this long before it expires


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RequestSpec(_Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    json_body: Any = Field(None, alias="json")
    form: dict[str, str] | None = None
    timeout: float | None = Field(None, gt=0)


class OperationSpec(RequestSpec):
    found_when: str | None = None  # a path whose value must be true, else "not found"
    not_found_status: list[int] = [404]
    fields: dict[str, str] = {}


class ListSpec(OperationSpec):
    items: str  # the path of the list of tickets


class AuthSpec(_Strict):
    kind: Literal["none", "oauth2_client_credentials", "session"] = "none"
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None
    login: RequestSpec | None = None
    token: str | None = None  # where the session token is in the login answer
    logout: RequestSpec | None = None
    expired_status: list[int] = [401]


class DirectorySpec(_Strict):
    find_person: dict[LookupField, OperationSpec]


class HelpdeskSpec(_Strict):
    open_ticket: OperationSpec
    find_ticket: OperationSpec | None = None
    ticket_status: OperationSpec | None = None
    list_tickets: ListSpec | None = None
    statuses: dict[str, TicketStatus] = {}


class ConnectorSpec(_Strict):
    name: str = "http"
    base_url: str
    headers: dict[str, str] = {}
    timeout: float | None = Field(None, gt=0)
    auth: AuthSpec = AuthSpec()
    directory: DirectorySpec | None = None
    helpdesk: HelpdeskSpec | None = None

    def timeouts(self, settings_timeouts: Timeouts) -> Timeouts:
        """The operation's own ``timeout`` wins, then ATENDE_CONNECTOR_TIMEOUTS, then the
        file's ``timeout``, then ATENDE_CONNECTOR_TIMEOUT."""
        own: dict[str, float] = {}
        if self.helpdesk is not None:
            for name in ("open_ticket", "find_ticket", "ticket_status", "list_tickets"):
                operation = getattr(self.helpdesk, name)
                if operation is not None and operation.timeout:
                    own[name] = operation.timeout
        if self.directory is not None:
            lookups = [op.timeout for op in self.directory.find_person.values() if op.timeout]
            if lookups:
                own["find_person"] = max(lookups)
        return Timeouts(
            self.timeout or settings_timeouts.default,
            {**settings_timeouts.per_operation, **own},
        )

    def directory_adapter(self, timeouts: Timeouts, variable: str) -> HttpConnector:
        if self.directory is None:
            raise SettingsError(f"{variable}: the file has no 'directory' section")
        return HttpConnector(self, self.timeouts(timeouts))

    def helpdesk_adapter(self, timeouts: Timeouts, variable: str) -> HttpConnector:
        if self.helpdesk is None:
            raise SettingsError(f"{variable}: the file has no 'helpdesk' section")
        return HttpConnector(self, self.timeouts(timeouts))


def render(value: Any, context: dict[str, Any]) -> Any:
    """``value`` with every string rendered as a template (recursively in lists and maps)."""
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if not isinstance(value, str):
        return value
    single = _ONE_EXPRESSION.match(value)
    if single:
        result = TEMPLATES.compile_expression(single["expression"], undefined_to_none=False)(
            **context
        )
        if isinstance(result, Undefined):
            str(result)  # StrictUndefined: raises UndefinedError naming what is missing
        return result
    return TEMPLATES.from_string(value).render(context)


def _check_templates(value: Any) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _check_templates(item)
    elif isinstance(value, list):
        for item in value:
            _check_templates(item)
    elif isinstance(value, str):
        TEMPLATES.parse(value)


def extract(path: str, data: Any) -> Any:
    """The first value at ``path`` (JSONPath, or dotted) in ``data``; None when absent."""
    matches = _jsonpath(path).find(data)
    return matches[0].value if matches else None


def extract_all(path: str, data: Any) -> list[Any]:
    found = [match.value for match in _jsonpath(path).find(data)]
    return found[0] if len(found) == 1 and isinstance(found[0], list) else found


def _jsonpath(path: str) -> Any:
    return parse_jsonpath(path if path.startswith("$") else f"$.{path}")


def read_yaml(path: Path, variable: str) -> Any:
    """A connector file's content; SettingsError naming ``variable`` when it cannot be read."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"{variable}: cannot read {path}: {exc}") from None


@contextlib.contextmanager
def file_errors(path: Path, variable: str, *errors: type[Exception]) -> Iterator[None]:
    """Turn what is wrong in a connector file into one SettingsError line naming
    ``variable``: the place of a validation error, or the ``errors`` given."""
    try:
        yield
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SettingsError(f"{variable}: {path}: {where}: {first['msg']}") from None
    except Exception as exc:
        if not isinstance(exc, (TemplateError, *errors)):
            raise
        raise SettingsError(f"{variable}: {path}: {type(exc).__name__}: {exc}") from None


def load_spec(path: Path, variable: str) -> ConnectorSpec:
    """Read and check a connector file; SettingsError names ``variable`` and what is wrong."""
    raw = read_yaml(path, variable)
    with file_errors(path, variable, JsonPathParserError, JsonPathLexerError):
        spec = ConnectorSpec.model_validate(raw)
        _check_templates(raw)
        for operation in _operations(spec):
            for extracted in [*operation.fields.values(), operation.found_when or "$"]:
                _jsonpath(extracted)
        spec.base_url = str(render(spec.base_url, {"env": dict(os.environ)}))
    return spec


def _operations(spec: ConnectorSpec) -> list[OperationSpec]:
    found: list[OperationSpec] = []
    if spec.directory is not None:
        found += spec.directory.find_person.values()
    if spec.helpdesk is not None:
        helpdesk = spec.helpdesk
        found += [helpdesk.open_ticket]
        found += [op for op in (helpdesk.find_ticket, helpdesk.ticket_status) if op]
        found += [helpdesk.list_tickets] if helpdesk.list_tickets else []
    return found


class HttpConnector(HttpBase):
    """A directory and/or helpdesk described by a :class:`ConnectorSpec`."""

    def __init__(self, spec: ConnectorSpec, timeouts: Timeouts) -> None:
        super().__init__(spec.base_url, timeouts)
        self.spec = spec
        self.name = spec.name
        self.session: dict[str, Any] = {}  # what the login step gave (``{{ session.token }}``)
        self.bearer: tuple[str, float] | None = None  # OAuth2 token and when it expires

    @property
    def reads_status(self) -> bool:
        return self.spec.helpdesk is not None and self.spec.helpdesk.ticket_status is not None

    # -- requests and authentication -----------------------------------------------------

    def context(self, **values: Any) -> dict[str, Any]:
        return {"env": dict(os.environ), "session": self.session, **values}

    async def request(
        self, operation: str, spec: RequestSpec, context: dict[str, Any]
    ) -> httpx.Response:
        headers = render({**self.spec.headers, **spec.headers}, context)
        if self.bearer is not None:
            headers.setdefault("Authorization", f"Bearer {self.bearer[0]}")
        options: dict[str, Any] = {
            "headers": headers,
            "params": render(spec.query, context) or None,
        }
        if spec.json_body is not None:
            options["json"] = render(spec.json_body, context)
        elif spec.form is not None:
            options["data"] = render(spec.form, context)
        return await self.send(operation, spec.method, render(spec.url, context), **options)

    async def call(self, operation: str, spec: RequestSpec, **values: Any) -> httpx.Response:
        """A request with credentials, logging in again once when they are refused."""
        auth = self.spec.auth
        response = None
        for _ in range(2):
            async with self.login_lock():
                await self.authenticate(operation)
            context = self.context(**values)
            response = await self.request(operation, spec, context)
            if auth.kind == "none" or response.status_code not in auth.expired_status:
                return response
            self.session, self.bearer = {}, None
        assert response is not None
        return response

    async def authenticate(self, operation: str) -> None:
        auth = self.spec.auth
        if auth.kind == "session" and not self.session and auth.login is not None:
            response = await self.request(operation, auth.login, self.context())
            if not response.is_success:
                raise self.failure(f"{operation} (login)", response)
            token = extract(auth.token, self.json_of(operation, response)) if auth.token else ""
            self.session = {"token": token, "active": True}
        elif auth.kind == "oauth2_client_credentials" and (
            self.bearer is None or self.bearer[1] <= time.monotonic()
        ):
            await self.fetch_bearer(operation)

    async def fetch_bearer(self, operation: str) -> None:
        auth = self.spec.auth
        form = {"grant_type": "client_credentials"}
        for name in ("client_id", "client_secret", "scope"):
            value = getattr(auth, name)
            if value:
                form[name] = str(render(value, self.context()))
        response = await self.send(operation, "POST", str(auth.token_url), data=form)
        if not response.is_success:
            raise self.failure(f"{operation} (token)", response)
        answer = self.json_of(operation, response)
        lifetime = float(answer.get("expires_in") or 3600)
        self.bearer = (str(answer["access_token"]), time.monotonic() + lifetime - TOKEN_MARGIN_S)

    async def answer(self, operation: str, spec: OperationSpec, **values: Any) -> Any | None:
        """The JSON answer of an operation, or None when it says "not found"."""
        response = await self.call(operation, spec, **values)
        if response.status_code in spec.not_found_status:
            return None
        if not response.is_success:
            raise self.failure(operation, response)
        data = self.json_of(operation, response)
        if spec.found_when and not extract(spec.found_when, data):
            return None
        return data

    @staticmethod
    def field(spec: OperationSpec, name: str, data: Any) -> str | None:
        path = spec.fields.get(name)
        value = extract(path, data) if path else None
        return None if value is None else str(value)

    def required(self, operation: str, spec: OperationSpec, name: str, data: Any) -> str:
        value = self.field(spec, name, data)
        if value is None:
            # Not retryable: the API did answer, the file points at the wrong place.
            raise ConnectorError(
                f"{self.name} {operation}: no {name} at {spec.fields.get(name)!r} in the answer",
                retryable=False,
            )
        return value

    async def check(self) -> str:
        async with self.login_lock():
            await self.authenticate("check")
        kind = self.spec.auth.kind
        return "no authentication configured" if kind == "none" else f"{kind} accepted"

    # -- Directory -----------------------------------------------------------------------

    async def find(self, field: LookupField, value: str) -> DirectoryEntry | None:
        assert self.spec.directory is not None
        spec = self.spec.directory.find_person.get(field)
        if spec is None:
            raise NotSupported(f"{self.name}: no find_person by {field}")
        data = await self.answer("find_person", spec, field=field, value=value)
        if data is None:
            return None
        if "code" in spec.fields or field != "code":
            value = self.required("find_person", spec, "code", data)
        return DirectoryEntry(
            code=value,
            name=self.required("find_person", spec, "name", data),
            phone=self.field(spec, "phone", data),
            email=self.field(spec, "email", data),
            card_number=self.field(spec, "card_number", data),
        )

    # -- Helpdesk ------------------------------------------------------------------------

    @property
    def helpdesk(self) -> HelpdeskSpec:
        assert self.spec.helpdesk is not None
        return self.spec.helpdesk

    def ref(self, operation: str, spec: OperationSpec, data: Any) -> ExternalRef:
        ticket_id = self.required(operation, spec, "id", data)
        return ExternalRef(id=ticket_id, number=self.field(spec, "number", data) or ticket_id)

    def status_of(self, operation: str, spec: OperationSpec, data: Any) -> ExternalStatus:
        raw = self.required(operation, spec, "status", data)
        return map_status(raw, self.helpdesk.statuses)

    async def open_ticket(self, draft: TicketDraft) -> ExternalRef:
        spec = self.helpdesk.open_ticket
        data = await self.answer("open_ticket", spec, ticket=draft)
        if data is None:
            raise ConnectorError(f"{self.name} open_ticket: the API refused it", retryable=False)
        return self.ref("open_ticket", spec, data)

    async def find_ticket(self, draft: TicketDraft) -> ExternalRef | None:
        spec = self.helpdesk.find_ticket
        if spec is None:
            return None
        data = await self.answer("find_ticket", spec, ticket=draft)
        return None if data is None else self.ref("find_ticket", spec, data)

    async def ticket_status(self, ref: ExternalRef, person: DirectoryEntry) -> ExternalStatus:
        spec = self.helpdesk.ticket_status
        if spec is None:
            raise NotSupported(f"{self.name}: no ticket_status operation")
        data = await self.answer("ticket_status", spec, external=ref, person=person)
        if data is None:
            raise ConnectorError(f"{self.name} ticket_status: ticket not found", retryable=False)
        return self.status_of("ticket_status", spec, data)

    async def list_tickets(self, person: DirectoryEntry) -> list[ExternalSummary]:
        spec = self.helpdesk.list_tickets
        if spec is None:
            raise NotSupported(f"{self.name}: no list_tickets operation")
        data = await self.answer("list_tickets", spec, person=person)
        return [
            ExternalSummary(
                ref=self.ref("list_tickets", spec, item),
                title=self.field(spec, "title", item) or "",
                status=self.status_of("list_tickets", spec, item),
            )
            for item in (extract_all(spec.items, data) if data is not None else [])
        ]

    async def close(self) -> None:
        logout = self.spec.auth.logout
        if logout is not None and self.session and self._http is not None:
            with contextlib.suppress(ConnectorError):  # the API is gone, the session with it
                await self.request("close", logout, self.context())
        self.session = {}
        await super().close()


def existing_file(value: Path) -> Path:
    if not value.is_file():
        raise ValueError("no such file")
    return value


class DirectoryFile(AdapterSettings):
    """The YAML file that describes the directory (``http`` here, ``sql``)."""

    directory_file: Path

    _exists = field_validator("directory_file")(existing_file)


class HelpdeskFile(AdapterSettings):
    helpdesk_file: Path

    _exists = field_validator("helpdesk_file")(existing_file)


@register(DIRECTORIES, "http", DirectoryFile)
def build_directory(settings: Settings, own: DirectoryFile) -> HttpConnector:
    variable = "ATENDE_DIRECTORY_FILE"
    return load_spec(own.directory_file, variable).directory_adapter(
        timeouts_of(settings), variable
    )


@register(HELPDESKS, "http", HelpdeskFile)
def build_helpdesk(settings: Settings, own: HelpdeskFile) -> HttpConnector:
    variable = "ATENDE_HELPDESK_FILE"
    return load_spec(own.helpdesk_file, variable).helpdesk_adapter(timeouts_of(settings), variable)
