"""Small flow documents for the flow tests: one valid flow, and a way to break it."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from atende.flows import Flow, FlowError, FlowInvalid, parse_flow

SMALL: dict[str, Any] = {
    "name": "pequeno",
    "start": "menu",
    "attendant": "person",
    "nodes": {
        "menu": {
            "type": "menu",
            "prompt": "Para sair, tecle 1. Para informações, tecle 2.",
            "options": {"1": "bye", "2": "info"},
        },
        "info": {"type": "info", "prompt": {"key": "goodbye"}, "next": "menu"},
        "bye": {"type": "hang_up", "outcome": "no_input"},
        "person": {"type": "transfer", "variables": {"ATENDE_CALL_ID": "{call.id}"}},
    },
}


def small(**nodes: dict[str, Any] | None) -> dict[str, Any]:
    """SMALL with nodes replaced, added or (given None) removed."""
    document = copy.deepcopy(SMALL)
    for node_id, node in nodes.items():
        if node is None:
            del document["nodes"][node_id]
        else:
            document["nodes"][node_id] = node
    return document


def after_identify(**nodes: dict[str, Any] | None) -> dict[str, Any]:
    """SMALL where key 1 identifies the caller by extension, then goes to the node ``then``."""
    return small(
        menu={**SMALL["nodes"]["menu"], "options": {"1": "who", "2": "info"}},
        who={"type": "identify", "by": ["extension"], "next": "then", "not_found": "bye"},
        **nodes,
    )


def errors_of(document: dict[str, Any] | str) -> list[FlowError]:
    """Every error of ``document`` (a dict is written as YAML first), or [] when it is valid."""
    text = document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True)
    try:
        parse_flow(text, "test")
    except FlowInvalid as invalid:
        return invalid.errors
    return []


def only_error(document: dict[str, Any] | str) -> FlowError:
    """The one error of ``document`` (fails the test when there are more or none)."""
    errors = errors_of(document)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def flow_of(start: str, **nodes: dict[str, Any]) -> Flow:
    """A flow of ``nodes`` starting at ``start``, with the attendant ``person`` (a transfer)
    and ``bye`` (hang up, no_input), for one node type's engine tests; not graph-validated."""
    document = {
        "name": "teste",
        "start": start,
        "attendant": "person",
        "nodes": {
            "person": {"type": "transfer", "variables": {"ATENDE_CALL_ID": "{call.id}"}},
            "bye": {"type": "hang_up", "outcome": "no_input"},
            **nodes,
        },
    }
    return Flow.model_validate(document)
