"""The ``atende`` command: run the service, manage the database, tokens, people, users, flows.

Every command reads the same settings; a wrong setting ends the command with one line naming
it and exit status 2, before anything starts. So does a missing system program that
``atende serve`` needs (espeak-ng, sox), with the command that installs it.

The command speaks English, all of it: its audience is the integrator who installs atende and
wires it to the PBX and the helpdesk, and who works among English logs, settings, scripts and
documentation (this README, Asterisk's, the helpdesks' APIs). What callers hear and the support
team's dashboard show is Brazilian Portuguese (``texts.py``, ``web/texts.py``).
"""

from __future__ import annotations

import asyncio
import getpass
import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from atende.config import Settings, SettingsError, load_settings
from atende.private_paths import private_directory
from atende.services.errors import ServiceError

if TYPE_CHECKING:  # the commands import what they use: `--help` or `flows check` starts fast
    from atende.runtime import Runtime
    from atende.services.bundle import Services

# Plain help (click's), not Rich panels: it reads well in any terminal, pipe or log, and this
# Typer labels every option with its Python type in Rich mode (`--help <bool>`).
PLAIN: dict[str, Any] = {"no_args_is_help": True, "rich_markup_mode": None}
app = typer.Typer(
    help="atende: an IVR (URA) for Asterisk with helpdesk tickets and attendance protocols.",
    **PLAIN,
)
db_app = typer.Typer(help="Database.", **PLAIN)
token_app = typer.Typer(help="API tokens.", **PLAIN)
people_app = typer.Typer(help="People (callers).", **PLAIN)
user_app = typer.Typer(help="Dashboard users (the support team).", **PLAIN)
connectors_app = typer.Typer(help="Directory and helpdesk connectors.", **PLAIN)
flows_app = typer.Typer(
    help="Call flows: check, publish, restore, show; route dialled numbers to them.", **PLAIN
)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(people_app, name="people")
app.add_typer(connectors_app, name="connectors")
app.add_typer(user_app, name="user")
app.add_typer(flows_app, name="flows")

console = Console(stderr=True)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None


def fail(message: str) -> typer.Exit:
    """Print ``atende: message`` as one line on stderr; raise what this returns (status 2)."""
    console.print(f"atende: {message}", style="red", soft_wrap=True, markup=False, highlight=False)
    return typer.Exit(2)


@contextmanager
def service_errors() -> Iterator[None]:
    """A refused input (unknown name, bad value) ends the command with its message."""
    try:
        yield
    except ServiceError as exc:
        raise fail(exc.message) from None


def open_services(migrate: bool = True) -> Services:
    from atende.bootstrap import build_services
    from atende.db.migrate import upgrade
    from atende.runtime import build_runtime

    settings = settings_or_exit()
    private_directory(settings.data_dir)
    if migrate:
        upgrade(settings.effective_database_url)
    try:
        return build_services(build_runtime(settings))
    except SettingsError as exc:  # a connector file (ATENDE_*_FILE) that cannot work
        raise fail(str(exc)) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest version."""
    from atende.db.migrate import upgrade

    settings = settings_or_exit()
    private_directory(settings.data_dir)
    upgrade(settings.effective_database_url)
    console.print("database is up to date")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(metavar="NAME", help="Who or what uses this token")],
    scope: Annotated[
        list[str], typer.Option(metavar="SCOPE", help="read, write or admin (repeatable)")
    ],
    allow: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CIDR", help="Client network allowed to use it (repeatable; default: any)"
        ),
    ] = None,
) -> None:
    """Create an API token; the token itself is printed once, as the last line."""
    services = open_services()
    with service_errors():
        _, clear = services.tokens.create(name, scope, allow or [])
    console.print(f"token {name!r} created with scopes {', '.join(scope)}; it is shown only now:")
    print(clear)


@token_app.command("list")
def token_list() -> None:
    """List the API tokens (never the tokens themselves: only their hashes are kept)."""
    tokens = open_services().tokens.list()
    print_rows(
        ("id", "name", "scopes", "allow", "created", "last used", "revoked"),
        [
            (
                str(t.id),
                t.name,
                ",".join(t.scopes),
                ",".join(t.allow) or "any",
                when(t.created_at),
                when(t.last_used_at),
                when(t.revoked_at),
            )
            for t in tokens
        ],
    )


@token_app.command("revoke")
def token_revoke(
    token: Annotated[
        str,
        typer.Argument(
            metavar="ID-OR-NAME", help="The token's id or name (see `atende token list`)"
        ),
    ],
) -> None:
    """Revoke an API token: requests carrying it are refused from now on."""
    tokens = open_services().tokens
    with service_errors():
        found = tokens.find(token)
        tokens.revoke(found.id)
    console.print(f"token {found.id} ({found.name!r}) revoked")


@people_app.command("import")
def people_import(
    file: Annotated[Path, typer.Argument(metavar="CSV-FILE", exists=True, dir_okay=False)],
) -> None:
    """Create or update people from a CSV (code,name,phone,extensions,email,card_number,cpf)."""
    from atende.services.spreadsheets import line_ranges

    services = open_services()
    try:
        result = services.people.import_csv(file.read_bytes())
    except ServiceError as exc:
        console.print(f"[red]atende: {exc.message}[/red]")
        raise typer.Exit(2) from None
    for rejected in result.rejected:
        console.print(f"[yellow]line {rejected.line}: {rejected.error.message}[/yellow]")
    if result.imported_lines:
        console.print(f"imported lines: {line_ranges(result.imported_lines)}")
    console.print(
        f"{result.created} created, {result.updated} updated, {len(result.rejected)} rejected"
    )
    if result.rejected:
        raise typer.Exit(1)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(metavar="USERNAME", help="Sign-in name, e.g. maria")],
    name: Annotated[str, typer.Option(metavar="NAME", help="Full name shown in the dashboard")],
    role: Annotated[str, typer.Option(metavar="ROLE", help="technician or admin")] = "admin",
) -> None:
    """Create a dashboard user; the password is asked twice (or read from ATENDE_USER_PASSWORD)."""
    password = new_password()
    services = open_services()
    with service_errors():
        services.users.create(username, name, password, role)
    console.print(f"user {username!r} created ({role}); sign in at /login")


@user_app.command("list")
def user_list() -> None:
    """List the dashboard users."""
    users = open_services().users.list()
    print_rows(
        ("username", "name", "role", "active", "created", "last sign-in"),
        [
            (
                u.username,
                u.name,
                u.role,
                "yes" if u.active else "no",
                when(u.created_at),
                when(u.last_login_at),
            )
            for u in users
        ],
    )


@user_app.command("password")
def user_password(
    username: Annotated[str, typer.Argument(metavar="USERNAME", help="Sign-in name of the user")],
) -> None:
    """Set a user's password (asked twice, or read from ATENDE_USER_PASSWORD); this signs them
    out everywhere."""
    users = open_services().users
    with service_errors():
        user = users.by_username(username)
        users.update(user.id, password=new_password())
    console.print(f"password of {user.username!r} changed; their sessions have ended")


def new_password() -> str:
    return os.environ.get("ATENDE_USER_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )


def when(moment: datetime | None) -> str:
    """A stored UTC time for a listing, in UTC to the minute; ``-`` for never."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def print_rows(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A listing on stdout: tab-separated columns under a header, easy to read and to script."""
    for row in (header, *rows):
        print("\t".join(row))


@connectors_app.command("check")
def connectors_check(
    code: Annotated[
        str | None,
        typer.Option(metavar="CODE", help="A registration code to look up in the directory"),
    ] = None,
) -> None:
    """Try the configured directory and helpdesk and print what works (changes nothing)."""
    from atende.services.connector_check import check

    services = open_services()
    findings = asyncio.run(check(services.directory, services.helpdesk, code))
    for finding in findings:
        mark = "[green]ok[/green]  " if finding.ok else "[red]FAIL[/red]"
        console.print(f"{mark} {finding.text}", soft_wrap=True, highlight=False)
    if not all(finding.ok for finding in findings):
        raise typer.Exit(1)


@connectors_app.command("retry")
def connectors_retry() -> None:
    """Queue again the tickets the helpdesk refused (after fixing what it complained of)."""
    pusher = open_services().helpdesk.pusher
    count = pusher.retry_failed() if pusher is not None else 0
    console.print(f"{count} refused tickets queued again")


@app.command()
def demo() -> None:
    """Add the demo people (see the README) to the directory."""
    from atende.demo import load_demo_people

    added = load_demo_people(open_services().people)
    console.print(f"{added} demo people added")


FlowName = Annotated[str, typer.Argument(metavar="NAME", help="The flow's name, e.g. ti")]
FlowFile = Annotated[Path, typer.Argument(metavar="FILE", exists=True, dir_okay=False)]
VersionOption = Annotated[
    int | None, typer.Option(metavar="N", help="A version (default: the current one)")
]


def cli_actor() -> str:
    """Who publishes from this shell, for a flow's history: ``cli:<user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no user name in this environment (a bare container)
        return "cli:unknown"


def checked_flow_text(file: Path) -> str:
    """The text of a flow file that can be published; else every error on stdout, exit 1."""
    from atende.flows.errors import FlowInvalid
    from atende.services.flow_store import check_text

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail(f"{file}: not UTF-8 text") from None
    try:
        check_text(text, str(file))
    except FlowInvalid as invalid:
        print(invalid)
        raise typer.Exit(1) from None
    return text


@flows_app.command("list")
def flows_list() -> None:
    """List the flows: current version, when and by whom it was published, routed numbers."""
    services = open_services()
    summaries = services.flows.summaries()
    print_rows(
        ("name", "version", "published", "by", "numbers"),
        [
            (
                s.current.name,
                str(s.current.version),
                when(s.current.published_at),
                s.current.published_by,
                ",".join(s.routes) or "-",
            )
            for s in summaries
        ],
    )
    default = services.runtime.settings.flow
    console.print(f"the FastAGI path ura runs {default} (ATENDE_FLOW)", highlight=False)


@flows_app.command("show")
def flows_show(name: FlowName, version: VersionOption = None) -> None:
    """Print a flow as an indented tree of what the caller hears and presses."""
    from atende.flows.describe import describe

    flows = open_services().flows
    with service_errors():
        published = flows.current(name) if version is None else flows.get(name, version)
    console.print(
        f"{published.name} version {published.version}, published"
        f" {when(published.published_at)} by {published.published_by}",
        highlight=False,
        markup=False,
    )
    print(describe(published.flow), end="")


@flows_app.command("check")
def flows_check(file: FlowFile) -> None:
    """Validate a flow file without publishing it: "ok", or every error and exit status 1."""
    checked_flow_text(file)
    print(f"{file}: ok")


@flows_app.command("publish")
def flows_publish(
    file: FlowFile,
    note: Annotated[str, typer.Option(metavar="TEXT", help="What changed, for the history")] = "",
) -> None:
    """Publish a flow file as the next version of the flow it names: new calls run it at once,
    calls in progress finish on the version they started with."""
    text = checked_flow_text(file)
    flows = open_services().flows
    with service_errors():
        published = flows.publish(text, cli_actor(), note)
    console.print(f"flow {published.name} version {published.version} published", highlight=False)


@flows_app.command("versions")
def flows_versions(name: FlowName) -> None:
    """List every version of a flow, oldest first."""
    flows = open_services().flows
    with service_errors():
        history = flows.versions(name)
    print_rows(
        ("version", "published", "by", "note", "current"),
        [
            (str(v.version), when(v.published_at), v.published_by, v.note, "*" if v.current else "")
            for v in history
        ],
    )


@flows_app.command("restore")
def flows_restore(
    name: FlowName,
    version: Annotated[int, typer.Argument(metavar="VERSION", help="The version to bring back")],
) -> None:
    """Make an earlier version current again (published anew, as the next version)."""
    flows = open_services().flows
    with service_errors():
        restored = flows.restore(name, version, cli_actor())
    console.print(
        f"flow {name} version {version} restored as version {restored.version}", highlight=False
    )


@flows_app.command("export")
def flows_export(name: FlowName, version: VersionOption = None) -> None:
    """Print a flow's YAML exactly as published, to edit and publish again."""
    flows = open_services().flows
    with service_errors():
        text = flows.text(name, version)
    print(text, end="" if text.endswith("\n") else "\n")


@flows_app.command("schema")
def flows_schema() -> None:
    """Print the JSON Schema of a flow document, for editors that complete YAML."""
    from atende.flows.schema import json_schema_text

    print(json_schema_text(), end="")


@flows_app.command("route")
def flows_route(
    number: Annotated[
        str, typer.Argument(metavar="NUMBER", help="The dialled number (agi_dnid/agi_extension)")
    ],
    name: FlowName,
) -> None:
    """Send calls to a dialled number to a flow, whatever FastAGI path they come by."""
    flows = open_services().flows
    with service_errors():
        flows.set_route(number, name)
    console.print(f"calls to {number} run the flow {name}", highlight=False)


@flows_app.command("unroute")
def flows_unroute(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="A routed dialled number")],
) -> None:
    """Stop routing a dialled number: its calls run the flow of their FastAGI path again."""
    flows = open_services().flows
    with service_errors():
        flows.remove_route(number)
    console.print(f"calls to {number} run the flow of their FastAGI path", highlight=False)


def open_services_to_serve() -> Services:
    """Services for ``serve`` and ``agi``, once the programs the speech engines run are found:
    a missing one is named in one line with its package, not found by the first prompt."""
    from atende.bootstrap import missing_system_packages

    try:
        missing = missing_system_packages(settings_or_exit())
    except SettingsError as exc:  # an unknown engine in ATENDE_TTS
        raise fail(str(exc)) from None
    if missing:
        one = len(missing) == 1
        packages = " ".join(dict.fromkeys(missing.values()))
        raise fail(
            f"{' and '.join(missing)} {'is' if one else 'are'} not installed; install"
            f" {'it' if one else 'them'} with: apt-get install {packages}"
        )
    services = open_services()
    problems = services.flows.check_current()
    if problems:
        raise fail(
            "the call flows cannot run; publish a fixed version (atende flows publish) or"
            " restore an earlier one (atende flows restore):\n"
            + "\n".join(f"  {problem}" for problem in problems)
        )
    return services


def first_run(runtime: Runtime, services: Services) -> None:
    """On embedded defaults, make a fresh install usable at once: demo people, admin token."""
    from atende.demo import load_demo_people

    if runtime.settings.database_url is None and not services.people.find(extension="2001"):
        load_demo_people(services.people)
    if not services.tokens.list():
        _, clear = services.tokens.create("admin", ["admin"])
        console.print("[bold]First start: an admin token was created (shown only now):[/bold]")
        console.print(clear, soft_wrap=True)


@app.command()
def serve(
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Processes sharing the HTTP and FastAGI ports (default ATENDE_WORKERS, 1)",
        ),
    ] = None,
    worker_of: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run the HTTP API and the FastAGI server (the URA): in one process, or in N worker
    processes started and watched by this one."""
    from atende.logs import configure_logging
    from atende.workers import Supervisor, die_with_supervisor

    configure_logging()
    if worker_of is not None:  # started by the supervisor below, which did the first run
        die_with_supervisor(worker_of)
        run_until_stopped(open_services_to_serve(), http=True, supervisor_pid=worker_of)
        return
    count = workers or settings_or_exit().workers
    services = open_services_to_serve()
    first_run(services.runtime, services)
    if count == 1:
        run_until_stopped(services, http=True)
        return
    from atende.ivr.wiring import build_phone
    from atende.serve import prerender

    prerender(build_phone(services))  # once, not by every worker at the same time
    asyncio.run(services.close())
    services.runtime.engine.dispose()
    raise typer.Exit(Supervisor(count).run())


def run_until_stopped(services: Services, *, http: bool, supervisor_pid: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT; a SQLite database another live process serves ends the
    command with one line naming that process's node."""
    from atende.serve import run
    from atende.services.call_owners import DatabaseInUse

    try:
        asyncio.run(run(services, http=http, supervisor_pid=supervisor_pid))
    except DatabaseInUse as exc:
        raise fail(str(exc)) from None


@app.command()
def call(
    caller_id: Annotated[
        str | None,
        typer.Option(metavar="NUMBER", help="Caller id to present, e.g. an extension (2001)"),
    ] = None,
    host: Annotated[
        str | None, typer.Option(metavar="HOST", help="FastAGI host (default ATENDE_AGI_HOST)")
    ] = None,
    port: Annotated[
        int | None, typer.Option(metavar="PORT", help="FastAGI port (default ATENDE_AGI_PORT)")
    ] = None,
    audio: Annotated[bool, typer.Option(help="Play prompts with sox's play or aplay")] = True,
) -> None:
    """Call the running URA from this terminal, as Asterisk would (try it with no PBX)."""
    from atende.softphone import Softphone, find_player

    settings = settings_or_exit()
    phone = Softphone(player=find_player() if audio else None)
    try:
        asyncio.run(phone.call(host or settings.agi_host, port or settings.agi_port, caller_id))
    except ConnectionRefusedError:
        console.print("[red]atende: no URA answers there; start it with `atende serve`[/red]")
        raise typer.Exit(1) from None


@app.command("asterisk-config")
def asterisk_config(
    host: Annotated[
        str,
        typer.Option(
            metavar="ADDRESS",
            help="Address Asterisk uses to reach atende (default ATENDE_AGI_HOST)",
        ),
    ] = "",
    extension: Annotated[
        str, typer.Option(metavar="EXTENSION", help="Extension callers dial")
    ] = "4000",
    asterisk_address: Annotated[
        str | None,
        typer.Option(metavar="IP", help="Address Asterisk connects from, if not this host"),
    ] = None,
    flow: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="The flow its calls run (default: ATENDE_FLOW)"),
    ] = None,
) -> None:
    """Print the dialplan to paste into Asterisk (and the FreePBX Custom Destination), and on
    stderr the FastAGI settings atende still needs for that Asterisk to get through."""
    from atende.asterisk_config import ASTERISK_ADDRESS, dialplan, listener_settings

    settings = settings_or_exit()
    host = host or settings.agi_host
    try:
        asterisk = ipaddress.ip_address(asterisk_address) if asterisk_address else None
    except ValueError:
        raise fail(f"--asterisk-address: not an IP address: {asterisk_address}") from None
    if flow is not None:
        with service_errors():
            open_services().flows.current_version(flow)
    print(dialplan(host, settings.agi_port, extension, settings, flow))
    needed = listener_settings(host, settings, asterisk)
    if not needed:
        return
    lines = [
        f"atende: its FastAGI server listens on {settings.agi_host} and accepts"
        f" {settings.agi_allow} only; for Asterisk to reach it at {host}, set these"
        " (environment or ATENDE_CONFIG file) and restart atende:",
        *(f"  {name}={value}" for name, value in needed.items()),
    ]
    if ASTERISK_ADDRESS in needed.get("ATENDE_AGI_ALLOW", ""):
        lines.append(f"  ({ASTERISK_ADDRESS}: where Asterisk connects from; --asterisk-address)")
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False, markup=False)


@app.command()
def agi() -> None:
    """Run only the FastAGI server: on the Asterisk host, say, beside a central HTTP app."""
    from atende.logs import configure_logging

    configure_logging()
    run_until_stopped(open_services_to_serve(), http=False)


if __name__ == "__main__":
    app()
