"""The ``atende`` command: run the service, manage the database, tokens and people.

Every command reads the same settings; a wrong setting ends the command with one line naming
it and exit status 2, before anything starts.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from atende.config import Settings, SettingsError, load_settings
from atende.db.migrate import upgrade
from atende.private_paths import private_directory
from atende.runtime import Runtime, build_runtime
from atende.services.bundle import Services, build_services

app = typer.Typer(
    help="atende: URA (IVR) e central de chamados e protocolos.", no_args_is_help=True
)
db_app = typer.Typer(help="Database.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
people_app = typer.Typer(help="People (callers).", no_args_is_help=True)
user_app = typer.Typer(help="Dashboard users (the support team).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(people_app, name="people")
connectors_app = typer.Typer(help="Directory and helpdesk connectors.", no_args_is_help=True)
app.add_typer(connectors_app, name="connectors")
app.add_typer(user_app, name="user")

console = Console(stderr=True)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        console.print(f"[red]atende: {exc}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None


def open_services(migrate: bool = True) -> Services:
    settings = settings_or_exit()
    private_directory(settings.data_dir)
    if migrate:
        upgrade(settings.effective_database_url)
    try:
        return build_services(build_runtime(settings))
    except SettingsError as exc:  # a connector file (ATENDE_*_FILE) that cannot work
        console.print(f"[red]atende: {exc}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest version."""
    settings = settings_or_exit()
    private_directory(settings.data_dir)
    upgrade(settings.effective_database_url)
    console.print("database is up to date")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="Who or what uses this token")],
    scope: Annotated[list[str], typer.Option(help="read, write or admin (repeatable)")],
    allow: Annotated[list[str] | None, typer.Option(help="Allowed client network (CIDR)")] = None,
) -> None:
    """Create an API token; the token itself is printed once, as the last line."""
    from atende.services.errors import ServiceError

    services = open_services()
    try:
        _, clear = services.tokens.create(name, scope, allow or [])
    except ServiceError as exc:
        console.print(f"[red]atende: {exc.message}[/red]")
        raise typer.Exit(2) from None
    console.print(f"token {name!r} created with scopes {', '.join(scope)}; it is shown only now:")
    print(clear)


@people_app.command("import")
def people_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Create or update people from a CSV (code,name,phone,extensions,email,card_number,cpf)."""
    from atende.services.errors import ServiceError
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
    username: Annotated[str, typer.Argument(help="Sign-in name, e.g. maria")],
    name: Annotated[str, typer.Option(help="Full name shown in the dashboard")],
    role: Annotated[str, typer.Option(help="technician or admin")] = "admin",
) -> None:
    """Create a dashboard user; the password is asked twice (or read from ATENDE_USER_PASSWORD)."""
    import os

    from atende.services.errors import ServiceError

    password = os.environ.get("ATENDE_USER_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    services = open_services()
    try:
        services.users.create(username, name, password, role)
    except ServiceError as exc:
        console.print(f"[red]atende: {exc.message}[/red]")
        raise typer.Exit(2) from None
    console.print(f"user {username!r} created ({role}); sign in at /login")


@connectors_app.command("check")
def connectors_check(
    code: Annotated[
        str | None, typer.Option(help="A registration code to look up in the directory")
    ] = None,
) -> None:
    """Try the configured directory and helpdesk and print what works (changes nothing)."""
    from atende.connectors.check import check

    findings = asyncio.run(check(open_services().connectors, code))
    for finding in findings:
        mark = "[green]ok[/green]  " if finding.ok else "[red]FAIL[/red]"
        console.print(f"{mark} {finding.text}", soft_wrap=True, highlight=False)
    if not all(finding.ok for finding in findings):
        raise typer.Exit(1)


@connectors_app.command("retry")
def connectors_retry() -> None:
    """Queue again the tickets the helpdesk refused (after fixing what it complained of)."""
    pusher = open_services().connectors.pusher
    count = pusher.retry_failed() if pusher is not None else 0
    console.print(f"{count} refused tickets queued again")


@app.command()
def demo() -> None:
    """Add the demo people (see the README) to the directory."""
    from atende.demo import load_demo_people

    added = load_demo_people(open_services().people)
    console.print(f"{added} demo people added")


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
def serve() -> None:
    """Run the HTTP API and the FastAGI server (the URA) in one process."""
    from atende.logs import configure_logging
    from atende.serve import run

    configure_logging()
    services = open_services()
    first_run(services.runtime, services)
    asyncio.run(run(services))


@app.command()
def call(
    caller_id: Annotated[
        str | None, typer.Option(help="Caller id to present, e.g. an extension (2001)")
    ] = None,
    host: Annotated[str | None, typer.Option(help="FastAGI host (default ATENDE_AGI_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="FastAGI port (default ATENDE_AGI_PORT)")] = None,
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
    host: Annotated[str, typer.Option(help="Address Asterisk uses to reach atende")] = "",
    extension: Annotated[str, typer.Option(help="Extension callers dial")] = "4000",
) -> None:
    """Print the dialplan to paste into Asterisk (and the FreePBX Custom Destination)."""
    from atende.asterisk_config import dialplan

    settings = settings_or_exit()
    print(dialplan(host or settings.agi_host, settings.agi_port, extension, settings))


@app.command()
def agi() -> None:
    """Run only the FastAGI server (e.g. on the Asterisk host, beside a central HTTP app)."""
    from atende.logs import configure_logging
    from atende.serve import run

    configure_logging()
    asyncio.run(run(open_services(), http=False))


if __name__ == "__main__":
    app()
