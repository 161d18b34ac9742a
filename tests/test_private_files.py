"""The SQLite database and the data directory are not readable by other users of the host."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from atende.db.engine import make_engine
from cli_runner import run_atende


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_creates_a_private_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    created = run_atende("db", "upgrade", ATENDE_DATA_DIR=str(data_dir))
    assert created.returncode == 0, created.stderr
    assert mode(data_dir) == 0o711  # not listable; a local Asterisk passes through to audio/
    assert mode(data_dir / "atende.db") == 0o600
    engine = make_engine(f"sqlite:///{data_dir / 'atende.db'}")
    with engine.begin() as connection:  # the write-ahead log and its index, while in use
        connection.execute(text("CREATE TABLE scratch (n INTEGER)"))
        assert {mode(path) for path in data_dir.glob("atende.db-*")} == {0o600}
    engine.dispose()


def test_a_database_left_readable_is_tightened(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    database.touch(mode=0o644)
    database.chmod(0o644)
    make_engine(f"sqlite:///{database}").dispose()
    assert mode(database) == 0o600
