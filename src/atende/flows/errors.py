"""Flow errors as plain values: where (node id, field path) and what, in one message.

Schema errors (from pydantic) and graph errors (from validation) take the same shape, so the
CLI prints one list and the dashboard can show each message next to its node. Messages are
English, made in this package only; a pt-BR rendering for the dashboard can map ``kind``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FlowError:
    """One thing wrong with a flow document."""

    kind: str  # a stable code: "missing_node", "unreachable", "schema"...
    node: str | None  # None: the document itself (start, attendant, texts)
    field: str  # a dotted path inside the node, or in the document; "" for the whole node
    message: str

    def __str__(self) -> str:
        places = []
        if self.node:
            places.append(f"node {self.node!r}")
        if self.field:
            places.append(f"field {self.field!r}")
        return f"{', '.join(places)}: {self.message}"


class FlowInvalid(Exception):
    """A flow document that cannot run; ``errors`` lists every problem found."""

    def __init__(self, source: str, errors: list[FlowError]) -> None:
        lines = "\n".join(f"  {error}" for error in errors)
        super().__init__(f"{source}: {len(errors)} error(s)\n{lines}")
        self.source = source
        self.errors = errors
