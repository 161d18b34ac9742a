"""The flow document: a named graph of nodes, and its JSON Schema for editors.

The file ``flow.schema.json`` next to this module is generated from these models; a unit test
keeps it current. Regenerate it with
``python -c "from atende.flows.schema import write_json_schema; write_json_schema()"``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from atende.flows.nodes import AnyNode
from atende.flows.prompts import TEXT_KEY_PATTERN
from atende.texts import CATALOGS, DEFAULT_LANGUAGE, PT_BR

SCHEMA_FILE = Path(__file__).with_name("flow.schema.json")
NODE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"

NodeId = Annotated[str, Field(pattern=NODE_ID_PATTERN)]


class Flow(BaseModel):
    """A call flow: the engine starts at ``start`` and follows the exits of each node."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="atende call flow")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Also the FastAGI path")
    description: str = ""
    language: str = DEFAULT_LANGUAGE
    start: str = Field(description="The id of the first node")
    attendant: str | None = Field(
        None,
        description="The node 0 leads to from every menu; a transfer must be reachable from "
        "it without asking personal data (Decreto 11.034)",
    )
    texts: dict[Annotated[str, Field(pattern=TEXT_KEY_PATTERN)], str] = Field(
        default_factory=dict,
        description="Texts by key: rewords a text of atende.texts, or adds one for this flow",
    )
    nodes: dict[NodeId, AnyNode] = Field(min_length=1)

    def text_of(self, key: str) -> str | None:
        """The text ``key`` as this flow says it: its own ``texts``, else atende's (or None)."""
        if key in self.texts:
            return self.texts[key]
        return CATALOGS.get(self.language, PT_BR).get(key) or PT_BR.get(key)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a flow document (draft 2020-12), as published in SCHEMA_FILE."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **Flow.model_json_schema()}


def json_schema_text() -> str:
    """The JSON Schema as the text of SCHEMA_FILE."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_json_schema() -> None:
    """Rewrite SCHEMA_FILE from the models (after a change to a node type)."""
    SCHEMA_FILE.write_text(json_schema_text(), encoding="utf-8")
