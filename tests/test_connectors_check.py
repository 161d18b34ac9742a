"""``atende connectors check`` as an integrator runs it on the first day, against stand-ins."""

from __future__ import annotations

from pathlib import Path

from cli_runner import run_atende
from fakes.glpi import APP_TOKEN, USER_TOKEN, GlpiState, glpi_app
from fakes.http_fake import FakeServer
from fakes.legacy_php import API_HASH, LegacyState, legacy_app
from fakes.osticket import API_KEY, OsTicketState, osticket_app
from fakes.zammad import API_TOKEN, ZammadState, zammad_app

LEGACY = Path(__file__).parent.parent / "examples" / "connectors" / "legacy_php.yaml"


def test_check_says_what_works_on_seed_000_api_and_glpi(tmp_path: Path) -> None:
    legacy = LegacyState(users={"1001": {"nome": "Maria da Silva", "telefone": "45999990001"}})
    with FakeServer(legacy_app(legacy)) as php, FakeServer(glpi_app(GlpiState())) as glpi:
        env = {
            "ATENDE_DATA_DIR": str(tmp_path),
            "ATENDE_DIRECTORY": "http",
            "ATENDE_DIRECTORY_FILE": str(LEGACY),
            "LEGACY_API_URL": php.url,
            "LEGACY_API_HASH": API_HASH,
            "ATENDE_HELPDESK": "glpi",
            "ATENDE_HELPDESK_URL": glpi.url,
            "ATENDE_HELPDESK_TOKEN": USER_TOKEN,
            "ATENDE_GLPI_APP_TOKEN": APP_TOKEN,
        }
        working = run_atende("connectors", "check", "--code", "1001", **env)
        refused = run_atende("connectors", "check", **{**env, "ATENDE_HELPDESK_TOKEN": "old"})
    down = run_atende("connectors", "check", **env)  # both stand-ins are stopped now
    assert working.returncode == 0, working.stderr
    assert "ok   directory chamados-web by code: found Maria da Silva (*********01)" in (
        working.stderr
    )
    assert "ok   helpdesk glpi: initSession accepted" in working.stderr
    assert "ok   outbox: 0 tickets waiting to be pushed, 0 refused" in working.stderr
    assert refused.returncode == 1
    assert "FAIL helpdesk glpi: glpi check: HTTP 401 ERROR_GLPI_LOGIN_USER_TOKEN" in (
        refused.stderr
    )
    assert down.returncode == 1
    assert f"FAIL helpdesk glpi: glpi check: cannot reach {glpi.url}" in down.stderr


def test_check_on_zammad_and_osticket_and_a_broken_file(tmp_path: Path) -> None:
    with (
        FakeServer(zammad_app(ZammadState())) as zammad,
        FakeServer(osticket_app(OsTicketState())) as osticket,
    ):
        base = {"ATENDE_DATA_DIR": str(tmp_path)}
        on_zammad = run_atende(
            "connectors",
            "check",
            **base,
            ATENDE_HELPDESK="zammad",
            ATENDE_HELPDESK_URL=zammad.url,
            ATENDE_HELPDESK_TOKEN=API_TOKEN,
        )
        on_osticket = run_atende(
            "connectors",
            "check",
            **base,
            ATENDE_HELPDESK="osticket",
            ATENDE_HELPDESK_URL=osticket.url,
            ATENDE_HELPDESK_TOKEN=API_KEY,
        )
    broken = tmp_path / "broken.yaml"
    broken.write_text("base_url: http://x\nhelpdesk: {}\n", encoding="utf-8")
    on_broken = run_atende(
        "connectors", "check", **base, ATENDE_HELPDESK="http", ATENDE_HELPDESK_FILE=str(broken)
    )
    assert on_zammad.returncode == 0, on_zammad.stderr
    assert "helpdesk zammad: token accepted (acting as atende@example.org)" in on_zammad.stderr
    assert "directory builtin: 0 people" in on_zammad.stderr
    assert on_osticket.returncode == 0, on_osticket.stderr
    assert "helpdesk osticket: API key accepted" in on_osticket.stderr
    assert "cannot report status; callers are told so" in on_osticket.stderr
    assert on_broken.returncode == 2
    assert on_broken.stderr.startswith("atende: ATENDE_HELPDESK_FILE: ")
    assert "helpdesk.open_ticket" in on_broken.stderr
