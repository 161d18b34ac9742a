"""All use-case services of one runtime, built together so entry points take one object."""

from __future__ import annotations

from dataclasses import dataclass

from atende.connectors.factory import build_connectors
from atende.connectors.gateway import Connectors
from atende.runtime import Runtime
from atende.services.calls import CallService
from atende.services.catalog import CatalogService
from atende.services.people import PeopleService
from atende.services.protocols import ProtocolService
from atende.services.recordings import RecordingService
from atende.services.reports import ReportService
from atende.services.site_settings import SiteSettingsService
from atende.services.tickets import TicketService
from atende.services.tokens import TokenService
from atende.services.users import UserService


@dataclass
class Services:
    runtime: Runtime
    people: PeopleService
    catalog: CatalogService
    tickets: TicketService
    protocols: ProtocolService
    calls: CallService
    tokens: TokenService
    users: UserService
    reports: ReportService
    site: SiteSettingsService
    connectors: Connectors
    recordings: RecordingService


def build_services(runtime: Runtime) -> Services:
    people, tickets = PeopleService(runtime), TicketService(runtime)
    return Services(
        runtime=runtime,
        people=people,
        catalog=CatalogService(runtime),
        tickets=tickets,
        protocols=ProtocolService(runtime),
        calls=CallService(runtime),
        tokens=TokenService(runtime),
        users=UserService(runtime),
        reports=ReportService(runtime),
        site=SiteSettingsService(runtime),
        connectors=build_connectors(runtime, people, tickets),
        recordings=RecordingService(runtime),
    )
