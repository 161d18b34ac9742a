"""The flow document's schema: typos are errors, with the node id and field; YAML pitfalls."""

from __future__ import annotations

import json
import typing

from atende.flows import json_schema
from atende.flows.nodes import Outcome
from atende.flows.schema import SCHEMA_FILE
from atende.services.calls import Outcome as CallOutcome
from unit.flow_samples import SMALL, errors_of, only_error, small


def test_an_unknown_node_type_is_an_error_at_that_node() -> None:
    error = only_error(small(info={"type": "speak", "prompt": "Olá", "next": "menu"}))
    assert (error.kind, error.node) == ("schema", "info")
    assert "speak" in error.message


def test_an_unknown_field_is_an_error_at_that_field() -> None:
    errors = errors_of(small(info={"type": "info", "promt": "Olá", "next": "menu"}))
    found = {(e.node, e.field): e.message for e in errors}
    assert "unknown field" in found["info", "promt"]
    assert found["info", "prompt"] == "Field required"


def test_an_unknown_field_of_the_document() -> None:
    error = only_error({**SMALL, "atendente": "person"})
    assert (error.node, error.field) == (None, "atendente")


def test_a_prompt_part_is_a_text_a_key_or_a_recording() -> None:
    info = {"type": "info", "prompt": ["Olá", {"key": "goodbye"}, {"recording": "ti"}]}
    assert errors_of(small(info={**info, "next": "menu"})) == []
    error = only_error(small(info={**info, "prompt": {"text": "Olá"}, "next": "menu"}))
    assert (error.node, error.field) == ("info", "prompt")
    assert "{key: ...}" in error.message
    error = only_error(small(info={**info, "prompt": ["Olá", {"key": "Nope"}], "next": "menu"}))
    assert (error.node, error.field) == ("info", "prompt.1.key")


def test_a_typed_identify_method_comes_last_and_alone() -> None:
    node = {"type": "identify", "by": ["code", "extension"], "next": "bye"}
    error = only_error(small(info=node))
    assert (error.node, error.field) == ("info", "")
    assert "typed method" in error.message


def test_a_key_given_twice_in_yaml_is_an_error() -> None:
    text = """
name: dupla
start: menu
nodes:
  menu: {type: menu, prompt: Tecle, options: {"1": bye, "1": menu}}
  bye: {type: hang_up, outcome: no_input}
"""
    error = only_error(text)
    assert error.kind == "yaml" and "given twice" in error.message


def test_a_document_that_is_not_a_mapping() -> None:
    assert only_error("- a\n- b\n").kind == "schema"


def test_the_published_json_schema_is_current() -> None:
    published = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert published == json_schema(), (
        "flow.schema.json is stale: run "
        'python -c "from atende.flows.schema import write_json_schema; write_json_schema()"'
    )


def test_flow_outcomes_are_call_outcomes() -> None:
    assert set(typing.get_args(Outcome)) <= {outcome.value for outcome in CallOutcome}
