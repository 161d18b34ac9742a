"""``atende user create``: the first administrator of a fresh install, from the shell."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from cli_runner import run_atende


def test_user_create_makes_the_first_admin(tmp_path: Path) -> None:
    env = {"ATENDE_DATA_DIR": str(tmp_path), "ATENDE_USER_PASSWORD": "uma-senha-boa-1"}
    result = run_atende("user", "create", "carla", "--name", "Carla Dias", **env)
    assert result.returncode == 0, result.stderr
    assert "created (admin)" in result.stderr
    engine = create_engine(f"sqlite:///{tmp_path / 'atende.db'}")
    with engine.connect() as connection:
        row = connection.execute(text("SELECT role, password_hash FROM users")).one()
    engine.dispose()
    assert row.role == "admin" and row.password_hash.startswith("$argon2id$")
    again = run_atende("user", "create", "carla", "--name", "Outra", **env)
    assert again.returncode == 2 and "username" in again.stderr
    short = run_atende(
        "user", "create", "rui", "--name", "Rui", **{**env, "ATENDE_USER_PASSWORD": "curta"}
    )
    assert short.returncode == 2 and "password" in short.stderr
