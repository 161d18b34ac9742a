"""Run the Alembic migrations shipped inside the package (``atende db upgrade``, and at start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from atende.db.engine import normalize_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
