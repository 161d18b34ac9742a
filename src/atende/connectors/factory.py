"""Builds the configured directory and helpdesk adapters from the settings.

A new helpdesk is one module and one branch here. A YAML file that does not describe a working
connector stops startup with one line naming the variable that points at it.
"""

from __future__ import annotations

from atende.config import Settings
from atende.connectors.gateway import Connectors
from atende.connectors.http_base import Timeouts
from atende.connectors.ports import Directory, Helpdesk
from atende.runtime import Runtime
from atende.services.people import PeopleService
from atende.services.tickets import TicketService


def timeouts_of(settings: Settings) -> Timeouts:
    return Timeouts(settings.connector_timeout, settings.operation_timeouts)


def build_directory(settings: Settings) -> Directory | None:
    if settings.directory == "builtin":
        return None
    assert settings.directory_file is not None  # the settings check it for http and sql
    if settings.directory == "sql":
        from atende.connectors.sql import load_sql_directory

        return load_sql_directory(settings.directory_file, timeouts_of(settings))
    from atende.connectors.declarative import load_spec

    spec = load_spec(settings.directory_file, "ATENDE_DIRECTORY_FILE")
    return spec.directory_adapter(timeouts_of(settings), "ATENDE_DIRECTORY_FILE")


def build_helpdesk(settings: Settings) -> Helpdesk | None:
    kind, url, token = settings.helpdesk, settings.helpdesk_url or "", settings.helpdesk_token
    timeouts = timeouts_of(settings)
    if kind == "builtin":
        return None
    if kind == "http":
        from atende.connectors.declarative import load_spec

        assert settings.helpdesk_file is not None
        spec = load_spec(settings.helpdesk_file, "ATENDE_HELPDESK_FILE")
        return spec.helpdesk_adapter(timeouts, "ATENDE_HELPDESK_FILE")
    assert token is not None  # the settings check url and token for the products below
    if kind == "glpi":
        from atende.connectors.glpi import GlpiHelpdesk

        return GlpiHelpdesk(url, token, settings.glpi_app_token, timeouts)
    if kind == "zammad":
        from atende.connectors.zammad import ZammadHelpdesk

        return ZammadHelpdesk(url, token, settings.zammad_group, timeouts)
    from atende.connectors.osticket import OsTicketHelpdesk

    return OsTicketHelpdesk(url, token, timeouts)


def build_connectors(runtime: Runtime, people: PeopleService, tickets: TicketService) -> Connectors:
    """The connectors of this installation; SettingsError when a YAML file is wrong."""
    settings = runtime.settings
    call_log = None
    if settings.helpdesk == "zammad" and settings.zammad_cti_token:
        from atende.connectors.zammad import ZammadCallLog

        call_log = ZammadCallLog(
            settings.helpdesk_url or "", settings.zammad_cti_token, timeouts_of(settings)
        )
    return Connectors(
        runtime, people, tickets, build_directory(settings), build_helpdesk(settings), call_log
    )
