"""All use-case services of one runtime in one bundle, so entry points take one object.

The bundle only holds them: :mod:`atende.bootstrap` builds the adapters and the services.
"""

from __future__ import annotations

from dataclasses import dataclass

from atende.messaging.messenger import Messenger
from atende.runtime import Runtime
from atende.services.calls import CallService
from atende.services.catalog import CatalogService
from atende.services.directory import DirectoryService
from atende.services.flow_store import FlowStore
from atende.services.helpdesk_sync import HelpdeskSync
from atende.services.otp import OneTimeCodes
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
    directory: DirectoryService
    helpdesk: HelpdeskSync
    messenger: Messenger
    codes: OneTimeCodes
    flows: FlowStore
    recordings: RecordingService

    async def close(self) -> None:
        """Free the adapters' connections (GLPI's killSession, Zammad's last caller-log
        events)."""
        await self.helpdesk.close()
        await self.directory.close()
