"""Setting atende up as a new integrator does: the README's commands as copied, English help,
managing tokens and users from the shell, the Asterisk side, and a machine missing a program."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from atende.cli import app
from cli_runner import ATENDE, readme_block, run_atende, run_shell, running_atende
from conftest import services_on

PORTUGUESE_WORDS = re.compile(r"\b(de|da|para|com|chamados|ligação|senha|usuário)\b", re.I)


def test_readme_token_and_curl_examples_work_as_copied(tmp_path: Path) -> None:
    example = readme_block("## Using the API")
    assert "scripts/run token create" in example and "curl" in example
    with running_atende(tmp_path) as (url, _):
        # Only what differs on a test machine: the command's place, the server's port.
        script = example.replace("scripts/run ", f"{ATENDE} ").replace("http://127.0.0.1:8080", url)
        result = run_shell(script + "\necho", ATENDE_DATA_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert '"error"' not in result.stdout, result.stdout
    assert '"protocol"' in result.stdout and '"Sala 3"' in result.stdout


def test_readme_user_examples_work_as_copied(
    cli_env: dict[str, str], shared_engine: Engine
) -> None:
    script = readme_block("## Dashboard").replace("scripts/run ", f"{ATENDE} ")
    result = run_shell(script, ATENDE_USER_PASSWORD="uma-senha-boa-1", **cli_env)
    assert result.returncode == 0, result.stderr
    users = services_on(cli_env, shared_engine).users
    assert users.authenticate("tiago", "uma-senha-boa-1") is not None


def test_help_is_english_everywhere_without_typer_artifacts() -> None:
    commands = [
        [],
        ["db"],
        ["token"],
        ["token", "create"],
        ["token", "list"],
        ["token", "revoke"],
        ["people"],
        ["user"],
        ["user", "create"],
        ["user", "list"],
        ["user", "password"],
        ["connectors"],
        ["flows"],
        *[["flows", command] for command in ("list", "show", "check", "publish", "restore")],
        ["flows", "route"],
        ["serve"],
        ["call"],
        ["asterisk-config"],
        ["agi"],
    ]
    runner = CliRunner()
    for command in commands:
        result = runner.invoke(app, [*command, "--help"], prog_name="atende")
        assert result.exit_code == 0, (command, result.output)
        text = result.output
        assert "Usage:" in text
        assert not re.search(r"<(bool|list\[str\])>", text), (command, text)
        assert not PORTUGUESE_WORDS.search(text), (command, PORTUGUESE_WORDS.search(text))


def test_token_list_shows_every_token_but_never_the_secret(
    cli_env: dict[str, str], shared_engine: Engine
) -> None:
    created = run_atende("token", "create", "--name", "erp", "--scope", "write", **cli_env)
    secret = created.stdout.strip()
    run_atende(
        "token", "create", "--name", "bi", "--scope", "read", "--allow", "10.0.0.0/8", **cli_env
    )
    services_on(cli_env, shared_engine).tokens.check(secret, "127.0.0.1")  # marks it used
    listing = run_atende("token", "list", **cli_env)
    assert listing.returncode == 0, listing.stderr
    assert secret not in listing.stdout and "atd_" not in listing.stdout
    header, *rows = [line.split("\t") for line in listing.stdout.strip().splitlines()]
    assert header == ["id", "name", "scopes", "allow", "created", "last used", "revoked"]
    erp, bi = rows
    assert erp[1:4] == ["erp", "write", "any"] and erp[5] != "-" and erp[6] == "-"
    assert bi[1:4] == ["bi", "read", "10.0.0.0/8"] and bi[5] == "-"


def test_token_revoke_by_name_or_id_ends_it(cli_env: dict[str, str], shared_engine: Engine) -> None:
    tokens = services_on(cli_env, shared_engine).tokens
    secrets = [
        run_atende("token", "create", "--name", name, "--scope", "read", **cli_env).stdout.strip()
        for name in ("erp", "bi", "bi")
    ]
    revoked = run_atende("token", "revoke", "erp", **cli_env)
    assert revoked.returncode == 0, revoked.stderr
    assert tokens.check(secrets[0], "127.0.0.1").token is None
    assert tokens.check(secrets[1], "127.0.0.1").token is not None
    ambiguous = run_atende("token", "revoke", "bi", **cli_env)
    assert ambiguous.returncode == 2 and "give the id" in ambiguous.stderr
    assert tokens.check(secrets[1], "127.0.0.1").token is not None  # nothing revoked
    by_id = run_atende("token", "revoke", str(tokens.list()[2].id), **cli_env)
    assert by_id.returncode == 0, by_id.stderr
    assert tokens.check(secrets[2], "127.0.0.1").token is None
    assert tokens.check(secrets[1], "127.0.0.1").token is not None
    unknown = run_atende("token", "revoke", "nobody", **cli_env)
    assert unknown.returncode == 2 and "nobody" in unknown.stderr
    listing = run_atende("token", "list", **cli_env).stdout.strip().splitlines()
    assert [row.split("\t")[6] != "-" for row in listing[1:]] == [True, False, True]


def test_user_list_and_password(cli_env: dict[str, str], shared_engine: Engine) -> None:
    users = services_on(cli_env, shared_engine).users
    first = {**cli_env, "ATENDE_USER_PASSWORD": "senha-antiga-1"}
    run_atende("user", "create", "ana", "--name", "Ana Souza", **first)
    run_atende("user", "create", "tiago", "--name", "Tiago", "--role", "technician", **first)
    listing = run_atende("user", "list", **cli_env)
    assert listing.returncode == 0, listing.stderr
    rows = [line.split("\t") for line in listing.stdout.strip().splitlines()]
    assert rows[0] == ["username", "name", "role", "active", "created", "last sign-in"]
    assert [row[:4] for row in rows[1:]] == [
        ["ana", "Ana Souza", "admin", "yes"],
        ["tiago", "Tiago", "technician", "yes"],
    ]
    assert "$argon2" not in listing.stdout

    changed = run_atende(
        "user", "password", "tiago", **{**cli_env, "ATENDE_USER_PASSWORD": "senha-nova-12"}
    )
    assert changed.returncode == 0, changed.stderr
    assert users.authenticate("tiago", "senha-nova-12") is not None
    assert users.authenticate("tiago", "senha-antiga-1") is None
    assert users.authenticate("ana", "senha-antiga-1") is not None
    short = run_atende("user", "password", "ana", **{**cli_env, "ATENDE_USER_PASSWORD": "curta"})
    assert short.returncode == 2 and "password" in short.stderr
    unknown = run_atende("user", "password", "rui", **first)
    assert unknown.returncode == 2 and "rui" in unknown.stderr


def test_user_password_is_asked_twice_when_not_given(
    cli_env: dict[str, str], shared_engine: Engine
) -> None:
    run_atende(
        "user", "create", "ana", "--name", "Ana", ATENDE_USER_PASSWORD="senha-antiga-1", **cli_env
    )
    result = run_atende(
        "user", "password", "ana", input="senha-nova-123\nsenha-nova-123\n", **cli_env
    )
    assert result.returncode == 0, result.stderr
    assert services_on(cli_env, shared_engine).users.authenticate("ana", "senha-nova-123")


def test_asterisk_config_for_a_remote_asterisk_names_the_settings_to_set(tmp_path: Path) -> None:
    env = {"ATENDE_DATA_DIR": str(tmp_path)}
    remote = run_atende("asterisk-config", "--host", "10.0.0.5", **env)
    assert remote.returncode == 0, remote.stderr
    assert "AGI(agi://10.0.0.5:4573/ura)" in remote.stdout
    assert "ATENDE_AGI_" not in remote.stdout  # stdout stays a dialplan to paste
    assert "  ATENDE_AGI_HOST=0.0.0.0" in remote.stderr.splitlines()
    assert "  ATENDE_AGI_ALLOW=127.0.0.0/8,::1/128,ASTERISK_ADDRESS/32" in remote.stderr

    known = run_atende(
        "asterisk-config", "--host", "10.0.0.5", "--asterisk-address", "10.0.0.9", **env
    )
    assert "  ATENDE_AGI_ALLOW=127.0.0.0/8,::1/128,10.0.0.9/32" in known.stderr.splitlines()

    already = run_atende(
        "asterisk-config",
        "--host",
        "10.0.0.5",
        "--asterisk-address",
        "10.0.0.9",
        ATENDE_AGI_HOST="0.0.0.0",
        ATENDE_AGI_ALLOW="10.0.0.0/24",
        **env,
    )
    assert already.returncode == 0 and already.stderr == ""
    local = run_atende("asterisk-config", **env)
    assert local.returncode == 0 and local.stderr == ""
    bad = run_atende("asterisk-config", "--host", "10.0.0.5", "--asterisk-address", "pbx", **env)
    assert bad.returncode == 2 and "--asterisk-address" in bad.stderr


@pytest.mark.parametrize(
    ("present", "message"),
    [
        (["sox"], "atende: espeak-ng is not installed; install it with: apt-get install espeak-ng"),
        (
            [],
            "atende: espeak-ng and sox are not installed; install them with:"
            " apt-get install espeak-ng sox",
        ),
    ],
)
@pytest.mark.parametrize("command", ["serve", "agi"])
def test_serve_without_espeak_says_what_to_install_in_one_line(
    tmp_path: Path, present: list[str], message: str, command: str
) -> None:
    path = tmp_path / "bin"
    path.mkdir()
    for program in present:
        (path / program).symlink_to(shutil.which(program) or program)
    result = run_atende(
        command, ATENDE_DATA_DIR=str(tmp_path / "var"), ATENDE_AGI_PORT="0", PATH=str(path)
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [message]
