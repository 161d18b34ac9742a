"""The composition root: every adapter built from the settings and handed to the services
through its port, in one place.

Entry points (the CLI, ``atende serve``, the HTTP app, the tests' fixtures) get their objects
from here and nowhere else; services and adapters never build one another. Which adapter fills
a port is a setting naming a registered adapter (see :mod:`atende.registry` and
:mod:`atende.adapters`).
"""

from __future__ import annotations

import shutil

from sqlalchemy.orm import Session, sessionmaker

from atende.adapters import (
    CALL_LOGS,
    CHANNELS,
    DIRECTORIES,
    HELPDESKS,
    SPEECH,
    VERIFIERS,
    verifier_name,
)
from atende.config import Settings
from atende.connectors.ports import CallLog, Directory, Helpdesk
from atende.messaging.messenger import Messenger
from atende.messaging.port import CodeVerifier
from atende.registry import load_plugins
from atende.runtime import Runtime
from atende.services.bundle import Services
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
from atende.services.secrets_store import server_secret
from atende.services.site_settings import SiteSettingsService
from atende.services.tickets import TicketService
from atende.services.tokens import TokenService
from atende.services.users import UserService
from atende.speech.cache import AudioCache, cache_directory
from atende.speech.port import SpeechChain

__all__ = [
    "build_audio_cache",
    "build_messenger",
    "build_services",
    "missing_system_packages",
    "speech_chain",
]


def build_services(runtime: Runtime) -> Services:
    """Every service of this installation over the adapters its settings name; SettingsError
    (one line naming the variable) when an adapter cannot be built from them."""
    settings = runtime.settings
    load_plugins(settings.plugins)
    people, tickets = PeopleService(runtime), TicketService(runtime)
    messenger = build_messenger(settings, runtime.sessions)
    recordings = RecordingService(runtime)
    tickets.after_insert.append(recordings.attach_to_ticket)
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
        directory=DirectoryService(people, build_directory(settings)),
        helpdesk=HelpdeskSync(runtime, tickets, build_helpdesk(settings), build_call_log(settings)),
        messenger=messenger,
        codes=OneTimeCodes(
            runtime.sessions,
            server_secret(settings.data_dir),
            messenger=messenger,
            verifier=build_verifier(settings),
            language=settings.language,
        ),
        flows=FlowStore(runtime),
        recordings=recordings,
    )


def build_directory(settings: Settings) -> Directory | None:
    return DIRECTORIES.build(settings, settings.directory)


def build_helpdesk(settings: Settings) -> Helpdesk | None:
    return HELPDESKS.build(settings, settings.helpdesk)


def build_call_log(settings: Settings) -> CallLog | None:
    """The helpdesk's caller log, when the helpdesk has one and its settings turn it on."""
    if settings.helpdesk in CALL_LOGS.known():
        return CALL_LOGS.build(settings, settings.helpdesk)
    return None


def build_verifier(settings: Settings) -> CodeVerifier | None:
    """The service that sends and checks one-time codes; None: atende does, by message."""
    return VERIFIERS.build(settings, verifier_name(settings))


def build_messenger(settings: Settings, sessions: sessionmaker[Session]) -> Messenger:
    """The messenger over the channels of ``ATENDE_MESSAGING``, first preferred."""
    return Messenger(sessions, CHANNELS.build_all(settings))


def speech_chain(settings: Settings) -> SpeechChain:
    """The engines of ``ATENDE_TTS``, first preferred, as one chain."""
    return SpeechChain(SPEECH.build_all(settings))


def build_audio_cache(settings: Settings) -> AudioCache:
    """The installation's audio cache (see :func:`cache_directory`) with its engines."""
    return AudioCache(
        cache_directory(settings),
        speech_chain(settings),
        personal_transcripts=settings.audio_personal_transcripts,
    )


def missing_system_packages(settings: Settings) -> dict[str, str]:
    """The programs the engines of ``ATENDE_TTS`` run that are not on PATH, with the package
    that installs each: checked at start-up, so that a missing one is named in one line rather
    than found by the first text every engine fails to say."""
    needed: dict[str, str] = {}
    for name in SPEECH.selected(settings):
        needed.update(SPEECH.get(name).system_packages)
    return {command: package for command, package in needed.items() if not shutil.which(command)}
