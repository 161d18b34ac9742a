"""The benchmark tools keep working: issue 12's figures are only as good as the scripts taking
them. Tiny loads through real servers, sockets and databases; what is checked is what the tools
count (calls completed, tickets, transactions, processes), never how fast anything was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from atende.db.engine import normalize_url
from atende.db.scratch import scratch_database

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _common  # noqa: E402 (benchmarks/ is not a package)
import db_path_bench  # noqa: E402
import seed_bench  # noqa: E402

POSTGRES = os.environ.get("ATENDE_TEST_POSTGRES_URL")


def bench_databases(server_url: str) -> set[str]:
    rows = _common.query(
        server_url, "SELECT datname FROM pg_database WHERE datname LIKE 'atende_bench%'"
    )
    return {str(row[0]) for row in rows}


def run_ura_bench(*arguments: str) -> subprocess.CompletedProcess[str]:
    tiny = ["--concurrency", "2", "--calls", "3", "--duration", "30", "--pace", "0.01"]
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / "ura_bench.py"), *arguments, *tiny, "--ramp", "0.05"],
        capture_output=True,
        text=True,
        timeout=400,
    )


def check_run(result: dict[str, object]) -> dict[str, object]:
    atende, echo = result["atende"], result["echo"]
    assert isinstance(atende, dict) and isinstance(echo, dict)
    assert (atende["completed"], atende["errors"]) == (3, 0), atende["error_samples"]
    assert (echo["completed"], echo["errors"]) == (3, 0), echo["error_samples"]
    db = atende["db"]
    assert db["tickets"] == db["distinct_protocols"] == db["calls_ticket_opened"] == 3
    assert db["call_events"] >= 3
    assert atende["server_log_errors"] == []
    assert atende["server_cpu_s"] > 0 and atende["peak_rss_kib"] > 0
    for step in ("greeting", "main_menu", "confirm_name", "category", "item", "protocol"):
        assert atende["gaps"][step]["n"] == 3, step
    return atende


@pytest.mark.slow
def test_ura_bench_runs_both_presets_on_sqlite() -> None:
    done = run_ura_bench("paced", "unpaced", "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(results) == {"paced", "unpaced"}
    for result in results.values():
        assert check_run(result)["db_counters"] is None  # SQLite has none: skipped
    assert "| paced | SQLite |" in done.stdout and "| unpaced | SQLite |" in done.stdout


@pytest.mark.slow
@pytest.mark.skipif(not POSTGRES, reason="ATENDE_TEST_POSTGRES_URL not set")
def test_ura_bench_on_a_fresh_postgresql_database_it_drops_after() -> None:
    assert POSTGRES
    before = bench_databases(POSTGRES)
    done = run_ura_bench("unpaced", "--json", "--database-server", POSTGRES)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    atende = check_run(json.loads(done.stdout.strip().splitlines()[-1])["unpaced"])
    counters = atende["db_counters"]
    assert isinstance(counters, dict)
    assert counters["xact_commit"] >= 3 and counters["tup_inserted"] >= 3 * 3
    assert "| unpaced | PostgreSQL |" in done.stdout
    assert bench_databases(POSTGRES) <= before


@pytest.mark.slow
def test_ura_bench_with_two_workers() -> None:
    done = run_ura_bench("unpaced", "--workers", "2", "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    check_run(json.loads(done.stdout.strip().splitlines()[-1])["unpaced"])


@pytest.mark.slow
def test_api_bench_with_two_workers() -> None:
    tiny = ["--rate", "20", "--duration", "1", "--closed-duration", "1", "--requests", "20"]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "api_bench.py"), *tiny, "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 process(es)" in done.stdout
    rows = [line.split("|") for line in done.stdout.splitlines() if line.startswith("| POST")]
    assert [(int(row[4]) > 0, row[5].strip()) for row in rows] == [(True, "0"), (True, "0")]


def test_seed_bench_runs_the_six_php_steps_of_each_call() -> None:
    result = seed_bench.measure(2)
    assert result.steps == 12
    assert result.api_requests == 2 * seed_bench.API_REQUESTS_PER_CALL
    assert result.agi_commands == 2 * 12  # SET VARIABLE and VERBOSE lines, each answered
    assert result.cpu_s > 0


def test_cpu_and_memory_of_a_process_tree() -> None:
    burn = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "while time.process_time() < 0.1: pass\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", burn], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _common.process_tree(parent.pid) == [parent.pid, child]
        times = _common.tree_cpu_seconds(parent.pid)
        assert times is not None and times.own >= 0.09
        assert _common.tree_peak_rss_kib(parent.pid) > _common.tree_peak_rss_kib(child) > 0
    finally:
        parent.kill()
        parent.wait()
    assert _common.cpu_seconds(parent.pid) is None  # gone (its child sleeps on, then exits)


def test_database_counters_are_none_on_sqlite(tmp_path: Path) -> None:
    assert _common.database_counters(None) is None
    assert _common.database_counters(f"sqlite:///{tmp_path / 'x.db'}") is None


@pytest.mark.skipif(not POSTGRES, reason="ATENDE_TEST_POSTGRES_URL not set")
def test_database_counters_count_the_transactions_of_that_database_only() -> None:
    assert POSTGRES
    with scratch_database(POSTGRES, prefix="atende_bench") as url:
        before = _common.settled_counters(url)
        engine = create_engine(normalize_url(url))
        for _ in range(3):
            with engine.begin() as connection:
                connection.execute(text("SELECT 1"))
        engine.dispose()  # its backend exits and publishes its counts
        deadline = time.monotonic() + 30
        after = _common.settled_counters(url)
        while after is not None and before is not None and after == before:
            assert time.monotonic() < deadline, "PostgreSQL never published the counts"
            after = _common.settled_counters(url)
        assert before is not None and after is not None
        # the three, plus what SQLAlchemy's first connection runs; reading adds nothing
        assert 3 <= after["xact_commit"] - before["xact_commit"] <= 6
        assert _common.settled_counters(url) == after


def run_db_path_bench(*arguments: str) -> dict[str, object]:
    """A tiny db_path_bench run; its JSON line, once it exited cleanly."""
    tiny = ["--concurrency", "3", "--transactions", "5", "--rounds", "2", "--json"]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "db_path_bench.py"), *tiny, *arguments],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| threads | 2 | 5 | 0 |" in done.stdout
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(result, dict)
    return result


def check_db_path_runs(result: dict[str, object]) -> None:
    runs = result["runs"]
    assert isinstance(runs, list)
    idle, *measured = runs
    assert idle["path"] == "idle loop" and idle["probes"] > 0
    paths = ["threads", "asyncio", "asyncio-run-sync"]
    assert [(run["path"], run["round"]) for run in measured] == [
        (path, number) for number in (1, 2) for path in paths
    ]
    assert {(run["transactions"], run["errors"]) for run in measured} == {(5, 0)}
    assert all(run["probes"] > 0 and run["cpu_percent"] > 0 for run in measured)
    # 3 warm-up transactions per path, then 5 per path and round: each one a ticket, its own
    # protocol number and its protocol message, whichever path opened it
    done = 3 * 3 + 5 * 3 * 2
    assert result["done"] == done
    assert result["db"] == {"tickets": done, "distinct_protocols": done, "messages": done}


@pytest.mark.slow
def test_db_path_bench_on_sqlite() -> None:
    check_db_path_runs(run_db_path_bench())


@pytest.mark.slow
@pytest.mark.skipif(not POSTGRES, reason="ATENDE_TEST_POSTGRES_URL not set")
def test_db_path_bench_on_a_fresh_postgresql_database_it_drops_after() -> None:
    assert POSTGRES
    before = bench_databases(POSTGRES)
    check_db_path_runs(run_db_path_bench("--database-server", POSTGRES))
    assert bench_databases(POSTGRES) <= before


def test_db_path_bench_says_what_the_asyncio_paths_need(monkeypatch: pytest.MonkeyPatch) -> None:
    check = db_path_bench.check_drivers
    check("mysql", ["threads"], "asyncpg")  # the thread path runs anywhere
    with pytest.raises(SystemExit, match="SQLite and PostgreSQL only"):
        check("mysql", ["threads", "asyncio"], "asyncpg")
    monkeypatch.setattr(db_path_bench.importlib.util, "find_spec", lambda name: None)
    check("postgresql", ["threads"], "asyncpg")
    with pytest.raises(
        SystemExit, match=r"need asyncpg on postgresql: pip install -e '\.\[bench\]'"
    ):
        check("postgresql", ["asyncio-run-sync"], "asyncpg")
    with pytest.raises(SystemExit, match="need aiosqlite on sqlite"):
        check("sqlite", ["asyncio"], "asyncpg")
