"""Cached catalog, hours, flows and token checks: a change drops them at once in its own
process, and on PostgreSQL in every other process through NOTIFY."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, event, text

from atende.bootstrap import build_services
from atende.config import Settings
from atende.db.engine import make_engine
from atende.runtime import build_runtime
from atende.services import tokens as tokens_module
from atende.services.bundle import Services
from atende.services.cache import LISTENER_NAME
from cli_runner import served_atende
from conftest import scratch_server_database

HOLIDAY = date(2031, 3, 3)
PROMPTLY_S = 10.0  # far below the data TTL (60 s): only a notification explains a refresh


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` meanwhile."""
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def eventually(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + PROMPTLY_S
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_unchanged_data_is_read_once(services: Services) -> None:
    engine = services.runtime.engine
    services.catalog.tree(), services.site.business_hours(), services.flows.resolve("ura", "1")
    _, clear = services.tokens.create("erp", ["read"])
    services.tokens.check(clear, "127.0.0.1")  # records its first use, then reads it again
    services.tokens.check(clear, "127.0.0.1")
    with statements(engine) as seen:
        services.catalog.tree()
        services.site.business_hours()
        services.flows.resolve("ura", "1")
        assert services.tokens.check(clear, "127.0.0.1").token is not None
    assert seen == []


def test_a_change_is_seen_at_once_by_its_own_process(services: Services) -> None:
    catalog, site, flows, tokens = services.catalog, services.site, services.flows, services.tokens
    token, clear = tokens.create("erp", ["read"])
    before = [c.name for c in catalog.tree()]
    assert site.business_hours().is_holiday(HOLIDAY) is False
    assert flows.resolve("ura", "4000").name == "ti"
    assert tokens.check(clear, "127.0.0.1").token is not None

    catalog.add_category("8", "Telefonia")
    site.add_holiday(HOLIDAY.isoformat(), "Aniversário da cidade")
    flows.set_route("4000", "plano-de-saude")
    tokens.revoke(token.id)

    assert [c.name for c in catalog.tree()] == [*before, "Telefonia"]
    assert site.business_hours().is_holiday(HOLIDAY) is True
    assert flows.resolve("ura", "4000").name == "plano-de-saude"
    assert tokens.check(clear, "127.0.0.1").token is None


def test_a_rolled_back_change_keeps_the_cache(services: Services) -> None:
    catalog = services.catalog
    catalog.tree()
    with pytest.raises(RuntimeError), catalog.changes.transaction("catalog"):
        raise RuntimeError("the write failed")
    with statements(services.runtime.engine) as seen:
        catalog.tree()
    assert seen == []


@pytest.fixture
def other_node(
    services: Services, database_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Services]:
    """A second process on the same PostgreSQL database, listening for changes; its token
    checks never expire, so only a notification can refuse a revoked token there."""
    if services.runtime.engine.dialect.name != "postgresql":
        pytest.skip("changes reach other processes through PostgreSQL's NOTIFY")
    monkeypatch.setattr(tokens_module, "TOKEN_TTL_S", 3600.0)
    engine = make_engine(database_url)
    other = build_services(build_runtime(settings, engine=engine))
    other.runtime.changes.listen()
    try:
        yield other
    finally:
        other.runtime.changes.close()
        engine.dispose()


def test_a_change_reaches_another_process_through_notify(
    services: Services, other_node: Services
) -> None:
    token, clear = services.tokens.create("erp", ["read"])
    assert other_node.tokens.check(clear, "127.0.0.1").token is not None
    before = [c.name for c in other_node.catalog.tree()]
    assert other_node.flows.resolve("ura", "4000").name == "ti"

    services.tokens.revoke(token.id)
    services.catalog.add_category("8", "Telefonia")
    services.flows.set_route("4000", "plano-de-saude")

    assert eventually(lambda: other_node.tokens.check(clear, "127.0.0.1").token is None)
    assert eventually(lambda: [c.name for c in other_node.catalog.tree()] == [*before, "Telefonia"])
    assert eventually(lambda: other_node.flows.resolve("ura", "4000").name == "plano-de-saude")


def test_a_listener_that_reconnects_drops_what_it_may_have_missed(
    services: Services, other_node: Services
) -> None:
    before = [c.name for c in other_node.catalog.tree()]
    with services.runtime.engine.begin() as connection:  # no notification: by hand
        connection.execute(text("UPDATE catalog_categories SET name = 'Renamed' WHERE key = '1'"))
    assert [c.name for c in other_node.catalog.tree()] == before  # cached
    with services.runtime.engine.begin() as connection:
        terminated = connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": LISTENER_NAME},
        ).all()
    assert terminated == [(True,)]
    assert eventually(lambda: other_node.catalog.tree()[0].name == "Renamed")


def test_two_atende_serve_processes_hear_each_others_changes(tmp_path: Path) -> None:
    """``atende serve`` listens: a category added through one node's API is in the other's."""
    with (
        scratch_server_database("postgresql") as url,
        served_atende(tmp_path / "a", ATENDE_DATABASE_URL=url, ATENDE_NODE_NAME="a") as a,
        served_atende(tmp_path / "b", ATENDE_DATABASE_URL=url, ATENDE_NODE_NAME="b") as b,
    ):
        auth = {"Authorization": f"Bearer {a.token}"}

        def names_on_b() -> list[str]:
            categories = httpx.get(f"{b.url}/api/v1/catalog", headers=auth).json()
            return [category["name"] for category in categories]

        before = names_on_b()  # now cached on b
        added = httpx.post(
            f"{a.url}/api/v1/catalog/categories",
            headers=auth,
            json={"key": "8", "name": "Telefonia"},
        )
        assert added.status_code == 201, added.text
        assert eventually(lambda: names_on_b() == [*before, "Telefonia"])
