"""Reading flow documents: YAML text to a validated :class:`Flow`, or every error at once.

Schema errors from pydantic become the same :class:`FlowError` values as the graph checks,
with the node id and the field inside it, so ``atende flows check`` prints one list. The flows
that ship with atende are YAML files in this package, found by name.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from atende.flows.errors import FlowError, FlowInvalid
from atende.flows.prompts import UNION_TAGS
from atende.flows.schema import Flow
from atende.flows.validate import validate

SHIPPED = resources.files("atende.flows") / "shipped"


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping.

    Plain YAML keeps the last one silently: a menu with two ``"1":`` lines would lose an
    option without a word.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_flow(text: str, source: str = "<flow>") -> Flow:
    """The flow in the YAML ``text``, checked by schema and graph; FlowInvalid lists all errors.

    ``source`` names the text in the exception (a file path, a flow name).
    """
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no objects
    except yaml.YAMLError as exc:
        raise FlowInvalid(source, [FlowError("yaml", None, "", str(exc))]) from exc
    if not isinstance(document, dict):
        error = FlowError("schema", None, "", "a flow document is a YAML mapping (name: ...)")
        raise FlowInvalid(source, [error])
    try:
        flow = Flow.model_validate(document)
    except ValidationError as exc:
        raise FlowInvalid(source, [_schema_error(e) for e in exc.errors()]) from exc
    errors = validate(flow)
    if errors:
        raise FlowInvalid(source, errors)
    return flow


def load_flow(path: str | Path) -> Flow:
    """The flow in the YAML file at ``path``; FlowInvalid lists all its errors."""
    return parse_flow(Path(path).read_text(encoding="utf-8"), str(path))


def shipped_flow_names() -> list[str]:
    """The names of the flows that ship with atende (``ti``, ``plano-de-saude``)."""
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in SHIPPED.iterdir()
        if entry.name.endswith(".yaml")
    )


def shipped_flow(name: str) -> Flow:
    """A shipped flow by name; KeyError names the ones there are."""
    entry = SHIPPED / f"{name}.yaml"
    if not entry.is_file():
        raise KeyError(f"no shipped flow {name!r}; there are: {', '.join(shipped_flow_names())}")
    return parse_flow(entry.read_text(encoding="utf-8"), name)


def _schema_error(error: Any) -> FlowError:
    """A pydantic error as a FlowError: ``nodes.<id>.<type>.<field>`` becomes node and field."""
    loc = [str(part) for part in error["loc"] if part != "[key]" and part not in UNION_TAGS]
    if len(loc) >= 2 and loc[0] == "nodes":
        node, field = loc[1], loc[3:]  # loc[2] is the node type, the union's tag
    else:
        node, field = None, loc
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown field (a typo? see flow.schema.json for the fields of each type)"
    return FlowError("schema", node, ".".join(field), message)
