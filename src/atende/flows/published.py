"""A flow as published: the parsed document with its name, version and who published it.

Plain frozen values handed from the flow store (``atende.services.flow_store``) to the engine,
the API, the dashboard and the CLI; importing this module needs no database library. A
version never changes once published, so a call keeps the ``PublishedFlow`` it started with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from atende.flows.schema import Flow


@dataclass(frozen=True)
class PublishedFlow:
    """Version ``version`` of the flow ``name``, parsed and valid."""

    name: str
    version: int
    flow: Flow
    published_at: datetime
    published_by: str  # cli:<user>, web:<member>, api:<token>; "atende" for a shipped flow


@dataclass(frozen=True)
class FlowVersionInfo:
    """One line of a flow's history, read without parsing its text (an old version may no
    longer be valid for this release of atende)."""

    name: str
    version: int
    published_at: datetime
    published_by: str
    note: str
    restored_from: int | None
    current: bool


@dataclass(frozen=True)
class FlowSummary:
    """A flow name as ``atende flows list`` shows it: its current version and its routes."""

    current: FlowVersionInfo
    routes: tuple[str, ...]
