"""The ``atende`` command as an integrator uses it on day one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import create_engine, inspect, text

from atende.db.migrate import alembic_config, upgrade
from cli_runner import run_atende, running_atende

# ``atende --help`` in a fresh interpreter, then the modules it imported (Typer ends the help
# with SystemExit).
HELP_THEN_MODULES = """
import contextlib, sys
from atende.cli import app
with contextlib.suppress(SystemExit):
    app(["--help"])
print(" ".join(sorted(sys.modules)))
"""


def atende(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_atende(*args, ATENDE_DATA_DIR=str(data_dir), **env)


def test_a_wrong_setting_stops_with_one_line_naming_it(tmp_path: Path) -> None:
    result = atende("db", "upgrade", data_dir=tmp_path, ATENDE_HTTP_PORT="eighty")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("atende: ATENDE_HTTP_PORT:")
    bad_ans = atende("db", "upgrade", data_dir=tmp_path, ATENDE_ANS_REGISTRATION="12")
    assert "ATENDE_ANS_REGISTRATION" in bad_ans.stderr and bad_ans.returncode == 2
    missing = atende("db", "upgrade", data_dir=tmp_path, ATENDE_CONFIG=str(tmp_path / "no.env"))
    assert "ATENDE_CONFIG" in missing.stderr and missing.returncode == 2


def test_config_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "atende.env"
    config.write_text("ATENDE_HTTP_PORT=nope\nATENDE_PROTOCOL_FORMAT=ans\n")
    result = atende("db", "upgrade", data_dir=tmp_path, ATENDE_CONFIG=str(config))
    assert "ATENDE_HTTP_PORT" in result.stderr
    fixed = atende(
        "db", "upgrade", data_dir=tmp_path, ATENDE_CONFIG=str(config), ATENDE_HTTP_PORT="9000"
    )
    assert fixed.returncode == 0, fixed.stderr


def test_token_create_prints_a_working_token_last(tmp_path: Path) -> None:
    result = atende("token", "create", "--name", "erp", "--scope", "write", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("atd_") and len(token) > 40
    bad = atende("token", "create", "--name", "x", "--scope", "root", data_dir=tmp_path)
    assert bad.returncode == 2 and "scope" in bad.stderr


def test_people_import_reports_bad_rows_and_keeps_the_good(tmp_path: Path) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text(
        "code,name,phone,extensions,email,card_number,cpf\n"
        "501,Carla Dias,(45) 99911-2233,3001;3002,carla@example.org,,\n"
        "502,Bruno Lima,,,,,111.111.111-11\n"
        "503,Rita Alves,41 98877 6655,,,0001,529.982.247-25\n",
        encoding="utf-8",
    )
    result = atende("people", "import", str(csv), data_dir=tmp_path)
    assert result.returncode == 1
    assert "line 3" in result.stderr and "cpf" in result.stderr
    assert "2 created, 0 updated, 1 rejected" in result.stderr
    assert "imported lines: 2, 4" in result.stderr
    engine = create_engine(f"sqlite:///{tmp_path / 'atende.db'}")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT code, phone FROM people ORDER BY code")).all()
        extensions = connection.execute(text("SELECT extension FROM person_extensions")).scalars()
        assert rows == [("501", "+5545999112233"), ("503", "+5541988776655")]
        assert sorted(extensions) == ["3001", "3002"]
    again = atende("people", "import", str(csv), data_dir=tmp_path)
    assert "0 created, 2 updated, 1 rejected" in again.stderr
    excel = tmp_path / "excel.csv"
    excel.write_bytes("matrícula;nome\r\n504;João\r\n".encode("cp1252"))
    no_columns = atende("people", "import", str(excel), data_dir=tmp_path)
    assert no_columns.returncode == 2 and "code and name" in no_columns.stderr


def test_serve_on_embedded_defaults_gives_docs_demo_people_and_a_token(tmp_path: Path) -> None:
    with running_atende(tmp_path) as (url, token):
        assert "swagger" in httpx.get(f"{url}/docs").text.lower()
        people = httpx.get(
            f"{url}/api/v1/people",
            params={"extension": "2001"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert [p["name"] for p in people] == ["Maria da Silva"]
    assert (tmp_path / "atende.db").exists()


def test_migrations_run_from_empty_and_back(tmp_path: Path) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert {
        "people",
        "tickets",
        "ticket_events",
        "calls",
        "api_tokens",
        "protocol_sequences",
    } <= tables
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM catalog_categories")).scalar() == 6
    command.downgrade(alembic_config(url), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(url)  # and up again


def test_help_starts_without_the_database_layer() -> None:
    """``atende --help`` (and ``flows schema``, ``call``...) import no SQLAlchemy, Alembic or
    services: a fresh interpreter, not the tests' pre-imported one."""
    loaded = subprocess.run(
        [sys.executable, "-c", HELP_THEN_MODULES],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert loaded.returncode == 0 and "Usage:" in loaded.stdout, loaded.stderr
    modules = set(loaded.stdout.split())
    assert not {"sqlalchemy", "alembic", "argon2", "atende.bootstrap"} & modules
