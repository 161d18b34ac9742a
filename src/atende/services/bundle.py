"""All use-case services of one runtime, built together so entry points take one object."""

from __future__ import annotations

from dataclasses import dataclass

from atende.runtime import Runtime
from atende.services.calls import CallService
from atende.services.catalog import CatalogService
from atende.services.people import PeopleService
from atende.services.protocols import ProtocolService
from atende.services.tickets import TicketService
from atende.services.tokens import TokenService


@dataclass
class Services:
    runtime: Runtime
    people: PeopleService
    catalog: CatalogService
    tickets: TicketService
    protocols: ProtocolService
    calls: CallService
    tokens: TokenService


def build_services(runtime: Runtime) -> Services:
    return Services(
        runtime=runtime,
        people=PeopleService(runtime),
        catalog=CatalogService(runtime),
        tickets=TicketService(runtime),
        protocols=ProtocolService(runtime),
        calls=CallService(runtime),
        tokens=TokenService(runtime),
    )
