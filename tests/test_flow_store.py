"""Published flows in the database: versions, restore, routes and the flow a FastAGI call runs."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from atende.db.models import FlowVersion
from atende.flows.loader import SHIPPED
from atende.runtime import Runtime
from atende.services.errors import Invalid, NotFound
from atende.services.flow_store import FlowStore, InvalidFlow
from unit.flow_samples import SMALL, small

ACTOR = "cli:ana"


def text_of(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def ti_with_greeting(words: str) -> str:
    """The shipped ``ti`` flow, its greeting reworded."""
    document = yaml.safe_load((SHIPPED / "ti.yaml").read_text(encoding="utf-8"))
    document["texts"]["greeting"] = words
    return text_of(document)


def default_flow(runtime: Runtime, name: str) -> FlowStore:
    """A store of a process where ATENDE_FLOW is ``name``."""
    return FlowStore(replace(runtime, settings=runtime.settings.model_copy(update={"flow": name})))


@pytest.fixture
def store(runtime: Runtime) -> FlowStore:
    return FlowStore(runtime)


def test_a_fresh_install_has_the_shipped_flows_at_version_one(store: FlowStore) -> None:
    assert store.names() == ["plano-de-saude", "ti"]
    ti = store.current("ti")
    assert (ti.name, ti.version, ti.published_by) == ("ti", 1, "atende")
    assert ti.flow.start == "protocol_at_start"
    assert store.text("ti") == (SHIPPED / "ti.yaml").read_text(encoding="utf-8")
    [first] = store.versions("plano-de-saude")
    assert first.current and first.note.startswith("shipped with atende ")


def test_publishing_makes_a_new_current_version_and_keeps_the_old_one(store: FlowStore) -> None:
    started = store.current("ti")  # a call in progress holds this
    published = store.publish(ti_with_greeting("Olá, suporte da prefeitura."), ACTOR, "saudação")
    assert (published.version, published.published_by) == (2, ACTOR)
    assert store.current("ti").flow.texts["greeting"] == "Olá, suporte da prefeitura."
    assert store.get("ti", 1) is started  # the old version, unchanged, parsed once
    assert "greeting" not in started.flow.texts
    history = store.versions("ti")
    assert [(v.version, v.note, v.current) for v in history] == [
        (1, history[0].note, False),
        (2, "saudação", True),
    ]


def test_a_new_flow_name_starts_at_version_one(store: FlowStore) -> None:
    published = store.publish(text_of(SMALL), ACTOR)
    assert (published.name, published.version) == ("pequeno", 1)
    assert store.names() == ["pequeno", "plano-de-saude", "ti"]


def test_an_invalid_flow_is_refused_with_every_error_and_nothing_is_stored(
    store: FlowStore,
) -> None:
    broken = small(menu={**SMALL["nodes"]["menu"], "options": {"1": "nowhere", "2": "info"}})
    with pytest.raises(InvalidFlow) as refused:
        store.publish(text_of(broken), ACTOR)
    where = {(error.node, error.field) for error in refused.value.errors}
    assert where == {("menu", "options.1"), ("bye", "")}  # a missing node and an unreachable one
    assert "node 'menu', field 'options.1'" in refused.value.message
    assert refused.value.field == "text"
    with pytest.raises(NotFound):
        store.current("pequeno")
    with pytest.raises(InvalidFlow, match="FastAGI path of the default flow"):
        store.publish(text_of({**SMALL, "name": "ura"}), ACTOR)


def test_restoring_appends_the_old_text_as_the_new_current_version(store: FlowStore) -> None:
    store.publish(ti_with_greeting("Primeira."), ACTOR)
    store.publish(ti_with_greeting("Segunda."), ACTOR)
    restored = store.restore("ti", 2, "web:maria")
    assert restored.version == 4
    assert restored.flow.texts["greeting"] == "Primeira."
    assert store.text("ti", 4) == store.text("ti", 2)
    last = store.versions("ti")[-1]
    assert (last.restored_from, last.note, last.published_by) == (
        2,
        "restored from version 2",
        "web:maria",
    )
    with pytest.raises(NotFound, match="no version 9"):
        store.restore("ti", 9, ACTOR)
    with pytest.raises(NotFound, match="no flow named 'tii'; there are: plano-de-saude, ti"):
        store.versions("tii")


def test_a_call_goes_by_dialled_number_else_by_path_and_ura_is_the_default(
    store: FlowStore, runtime: Runtime
) -> None:
    assert store.resolve("ura", None).name == "ti"
    assert store.resolve("", "4000").name == "ti"
    assert store.resolve("plano-de-saude", "4000").name == "plano-de-saude"
    store.set_route("4001", "plano-de-saude")
    assert store.resolve("ti", "4001").name == "plano-de-saude"  # the number wins over the path
    assert store.routes() == {"4001": "plano-de-saude"}
    store.set_route("4001", "ti")
    assert store.resolve("ura", "4001").name == "ti"
    store.remove_route("4001")
    assert store.routes() == {}
    with pytest.raises(NotFound, match="'suporte'"):
        store.resolve("suporte", None)
    health_by_default = default_flow(runtime, "plano-de-saude")
    assert health_by_default.resolve("ura", None).name == "plano-de-saude"


def test_routes_refuse_unknown_flows_and_odd_numbers(store: FlowStore) -> None:
    with pytest.raises(NotFound) as unknown:
        store.set_route("4001", "vendas")
    assert unknown.value.field == "name"
    with pytest.raises(Invalid) as odd:
        store.set_route("40 01", "ti")
    assert odd.value.field == "number"
    with pytest.raises(NotFound):
        store.remove_route("4001")


def test_summaries_list_each_flow_with_its_current_version_and_routes(store: FlowStore) -> None:
    store.publish(ti_with_greeting("Olá."), ACTOR)
    store.set_route("4000", "ti")
    store.set_route("+554533334444", "ti")
    summaries = {s.current.name: s for s in store.summaries()}
    assert summaries["ti"].current.version == 2
    assert summaries["ti"].routes == ("+554533334444", "4000")
    assert summaries["plano-de-saude"].routes == ()


def test_start_up_check_names_each_error_of_a_current_flow_and_a_missing_default(
    runtime: Runtime,
) -> None:
    store = FlowStore(runtime)
    assert store.check_current() == []
    old = small(info={"type": "info", "prompt": "Oi", "next": "menu", "voice": "x"})
    with runtime.sessions.begin() as session:  # as an older atende with another schema did
        session.add(
            FlowVersion(name="pequeno", version=1, text=text_of(old), published_by=ACTOR, note="")
        )
    problems = store.check_current()
    assert problems == [
        "flow 'pequeno' version 1: node 'info', field 'voice': unknown field (a typo? see "
        "flow.schema.json for the fields of each type)"
    ]
    wrong_default = default_flow(runtime, "suporte")
    assert wrong_default.check_current()[0].startswith("ATENDE_FLOW: no flow named 'suporte'")


def test_processes_publishing_at_once_never_share_a_version_number(runtime: Runtime) -> None:
    stores = [FlowStore(runtime) for _ in range(6)]  # six processes, each with its own store
    start = threading.Barrier(len(stores))
    published: list[int] = []

    def publish(index: int) -> None:
        start.wait()
        store = stores[index]
        store.names()  # each publishes the shipped flows it finds missing
        published.append(store.publish(ti_with_greeting(f"Versão {index}."), ACTOR).version)

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(published) == [2, 3, 4, 5, 6, 7]
    with runtime.sessions() as session:
        count = select(func.count()).select_from(FlowVersion).where(FlowVersion.version == 1)
        assert session.scalar(count) == 2  # ti and plano-de-saude, once each
