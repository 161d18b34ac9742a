"""What ``deploy/`` ships for running atende as a service (issue 12) keeps working: the systemd
unit keeps its sandbox and starts ``atende serve`` from a virtualenv on the example env file,
with the file modes a local Asterisk needs; ``systemctl stop`` lets calls in progress finish;
the nginx site parses as nginx reads it and forwards what atende's settings expect."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import crossplane  # type: ignore[import-untyped]
import pytest
from sqlalchemy import create_engine, text

from atende.agi.emulator import AsteriskEmulator
from atende.config import load_settings
from cli_runner import README, served_atende
from ura_harness import ScriptedCaller

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNIT = DEPLOY / "systemd" / "atende.service"
ENV_FILE = DEPLOY / "atende.env"
NGINX_SITE = DEPLOY / "nginx" / "atende.conf"
INSTALLED_VENV = "/opt/atende/venv"  # where README's install steps put it


def unit_options(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file as section -> option -> values (options may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        name, _, value = line.partition("=")
        current.setdefault(name.strip(), []).append(value.strip())
    return sections


def environment_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines as systemd's ``EnvironmentFile=`` reads the plain ones."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and line[0] not in "#;":
            name, equals, value = line.partition("=")
            assert equals and re.fullmatch(r"[A-Z_][A-Z0-9_]*", name), f"not NAME=value: {raw}"
            assert not value.startswith(("'", '"')) and " #" not in value, f"keep it plain: {raw}"
            values[name] = value
    return values


SERVICE = unit_options(UNIT)["Service"]
ENV = environment_file(ENV_FILE)


def one(option: str) -> str:
    [value] = SERVICE[option]
    return value


def test_the_unit_keeps_its_user_data_directory_and_sandbox() -> None:
    assert (one("User"), one("Group")) == ("atende", "atende")
    assert "DynamicUser" not in SERVICE  # its /var/lib/private would hide audio from Asterisk
    assert one("ExecStart") == f"{INSTALLED_VENV}/bin/atende serve"
    assert one("EnvironmentFile") == "/etc/atende/atende.env"
    assert one("Restart") == "on-failure"
    # The data directory is the state directory, with the modes atende gives it itself.
    assert one("StateDirectory") == "atende"
    assert (
        one("Environment")
        == "ATENDE_DATA_DIR=/var/lib/atende"
        == f"ATENDE_DATA_DIR={ENV['ATENDE_DATA_DIR']}"
    )
    assert one("StateDirectoryMode") == "0711"
    assert int(one("UMask"), 8) & 0o007 == 0o007  # nothing readable by others unless chmodded
    for option, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "CapabilityBoundingSet": "",
        "RestrictSUIDSGID": "yes",
    }.items():
        assert one(option) == value, option
    assert "@system-service" in SERVICE["SystemCallFilter"]
    assert float(one("TimeoutStopSec")) > 30  # atende serve's grace for calls in progress
    assert unit_options(UNIT)["Install"]["WantedBy"] == ["multi-user.target"]


def unit_for_this_venv(tmp_path: Path) -> Path:
    """The unit with ExecStart on the virtualenv running these tests."""
    unit = tmp_path / "atende.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED_VENV, sys.prefix))
    return unit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_systemd_accepts_the_unit_and_rates_its_exposure_low(tmp_path: Path) -> None:
    unit = unit_for_this_venv(tmp_path)
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
    # "OK" below 2.0 on systemd's 0-10 scale (--threshold is in tenths).
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert security.returncode == 0, security.stdout[-2000:]


def test_the_env_file_reads_the_same_for_systemd_and_for_the_admin_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [n for n in os.environ if n.startswith("ATENDE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ATENDE_CONFIG", str(ENV_FILE))  # what deploy/atende-admin does
    from_file = load_settings()
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)  # what systemd does
    monkeypatch.delenv("ATENDE_CONFIG")
    from_environment = load_settings()
    assert from_file.model_dump() == from_environment.model_dump()
    assert str(from_file.data_dir) == "/var/lib/atende"
    assert (from_file.http_host, from_file.trusted_proxies) == ("127.0.0.1", "127.0.0.1")
    assert from_file.web_cookie_secure == "always"
    assert from_file.database_url is None  # SQLite: one node, the guard of test_single_node
    admin = (DEPLOY / "atende-admin").read_text()
    assert (
        "ATENDE_CONFIG=/etc/atende/atende.env" in admin and f"{INSTALLED_VENV}/bin/atende" in admin
    )
    assert os.access(DEPLOY / "atende-admin", os.X_OK)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


MAIN = "abrir um chamado"
MARIA = "Você é Maria da Silva"


def test_exec_start_runs_from_a_venv_on_the_env_file_and_stops_after_its_calls(
    tmp_path: Path,
) -> None:
    """ExecStart under the unit's umask and environment; files as Asterisk needs them; and
    SIGTERM (``systemctl stop``) mid-call lets the call finish before the process ends."""
    data_dir = tmp_path / "state"
    data_dir.mkdir(mode=int(one("StateDirectoryMode"), 8))
    os.chmod(data_dir, int(one("StateDirectoryMode"), 8))
    # served_atende gives its own (free ports, the test's state directory)
    own = ("ATENDE_HTTP_PORT", "ATENDE_AGI_PORT", "ATENDE_DATA_DIR")
    env = {
        **{name: value for name, value in ENV.items() if name not in own},
        "ATENDE_WEB_COOKIE_SECURE": "auto",  # served_atende checks health over plain http
        "ATENDE_NODE_NAME": "node-a",
        "ATENDE_OTP": "never",
        "ATENDE_AUDIO_PERSONAL_TRANSCRIPTS": "true",  # the scripted caller reads what it hears
    }
    command = one("ExecStart").replace(INSTALLED_VENV, sys.prefix).split()
    with served_atende(data_dir, command=command, umask=int(one("UMask"), 8), **env) as served:

        async def call_while_stopping() -> AsteriskEmulator:
            def stop_then_press_1() -> str:
                served.process.send_signal(signal.SIGTERM)
                return "1"

            caller = ScriptedCaller(
                [
                    (MAIN, stop_then_press_1),
                    (MARIA, "1"),
                    ("tipo de serviço", "3"),
                    ("Impressoras", "1"),
                    ("ouvir o número novamente", "2"),
                ]
            )
            emulator = AsteriskEmulator(
                served.agi_port, on_prompt=caller, callerid="2001", uniqueid="1795228819.91"
            )
            await emulator.run(60)
            assert not caller.steps and not caller.unexpected, caller.unexpected
            return emulator

        asyncio.run(call_while_stopping())
        assert served.process.wait(timeout=60) == 0  # ended by itself, cleanly

    engine = create_engine(f"sqlite:///{data_dir / 'atende.db'}")
    with engine.connect() as connection:
        outcome = connection.execute(text("SELECT outcome FROM calls")).scalar_one()
    engine.dispose()
    assert outcome == "ticket_opened"  # finished by the stopping process, not "interrupted"
    assert mode(data_dir) == 0o711 and mode(data_dir / "atende.db") == 0o600
    audio = data_dir / "audio"
    wavs = list(audio.glob("*.wav"))
    assert wavs and mode(audio) == 0o711  # Asterisk passes through to the prompts...
    assert {mode(wav) for wav in wavs} == {0o644}  # ...and reads them
    assert mode(data_dir / "recordings") == 0o711


def test_nginx_accepts_the_site_and_forwards_what_atende_trusts(tmp_path: Path) -> None:
    """The site parses as nginx reads it (crossplane, nginx's own configuration parser, with
    each directive checked against its context and argument count), wrapped as a distribution's
    nginx.conf would include it; installing nginx itself would start a web server on a
    developer's machine."""
    site = NGINX_SITE.read_text()
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text("events {}\nhttp {\n    include site.conf;\n}\n")
    parsed = crossplane.parse(str(tmp_path / "nginx.conf"), check_ctx=True, check_args=True)
    assert parsed["status"] == "ok", parsed["errors"]
    included = [config["file"] for config in parsed["config"]]
    assert str(tmp_path / "site.conf") in included
    assert f"proxy_pass http://{ENV['ATENDE_HTTP_HOST']}:{ENV['ATENDE_HTTP_PORT']};" in site
    for line in (
        "proxy_http_version 1.1;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        'add_header Strict-Transport-Security "max-age=63072000" always;',
        "client_max_body_size 20m;",
    ):
        assert line in site


def test_the_readme_installs_what_deploy_ships() -> None:
    section = README.read_text().split("\n## Running it as a service\n", 1)[1].split("\n## ", 1)[0]
    for needed in (
        "deploy/systemd/atende.service",
        "deploy/atende.env",
        "deploy/atende-admin",
        "deploy/nginx/atende.conf",
        f"{INSTALLED_VENV}/bin/pip install",
        "systemctl enable --now atende",
        "journalctl -u atende",
        "atende user create",
        "atende asterisk-config",
        "pg_dump",
    ):
        assert needed in section, needed
