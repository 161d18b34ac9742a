"""The adapters fill their ports: typed assignments the type checker (``scripts/test`` runs
mypy on this folder) refuses when a class stops matching its port, as ``AgiCall`` once did
not match the call interface (a settable ``channel_name: str | None``) and
``HttpConnector`` did not match ``Helpdesk`` (a read-only ``reads_status``)."""

from __future__ import annotations

import inspect

from atende.connectors.declarative import HttpConnector
from atende.connectors.glpi import GlpiHelpdesk
from atende.connectors.osticket import OsTicketHelpdesk
from atende.connectors.ports import CallLog, Directory, Helpdesk
from atende.connectors.sql import SqlDirectory
from atende.connectors.zammad import ZammadCallLog, ZammadHelpdesk
from atende.flows.call import FlowCall
from atende.ivr.call import AgiCall
from atende.messaging.port import CodeVerifier
from atende.messaging.twilio import TwilioVerify


def fits(
    agi: AgiCall,
    http: HttpConnector,
    glpi: GlpiHelpdesk,
    zammad: ZammadHelpdesk,
    osticket: OsTicketHelpdesk,
    sql: SqlDirectory,
    cti: ZammadCallLog,
    verify: TwilioVerify,
) -> None:
    """Never run: its assignments are what mypy checks."""
    call: FlowCall = agi
    helpdesks: list[Helpdesk] = [http, glpi, zammad, osticket]
    directories: list[Directory] = [http, sql]
    call_log: CallLog = cti
    verifier: CodeVerifier = verify
    del call, helpdesks, directories, call_log, verifier


def test_the_checked_assignments_cover_every_port() -> None:
    annotations = inspect.getsource(fits)
    for port in ("FlowCall", "Helpdesk", "Directory", "CallLog", "CodeVerifier"):
        assert f"{port}]" in annotations or f": {port} =" in annotations
