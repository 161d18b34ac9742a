"""The kinds of adapter atende has, each read from its setting, and atende's own adapters.

Each :class:`~atende.registry.Kind` is typed by the port its adapters fill, so the type checker
proves a registered builder returns something that fits the port. The tables name the module
of each adapter atende ships, imported only when its name is set; a third party's adapter
registers itself from a module named in ``ATENDE_PLUGINS``, the same way.
"""

from __future__ import annotations

from atende.config import Settings
from atende.connectors.ports import CallLog, Directory, Helpdesk
from atende.messaging.port import CodeVerifier, MessageChannel
from atende.registry import Kind, load_plugins
from atende.speech.port import SpeechEngine

CHANNELS: Kind[MessageChannel] = Kind(
    "channel",
    "ATENDE_MESSAGING",
    chain=True,
    modules={
        "outbox": "atende.messaging.outbox",
        "whatsapp": "atende.messaging.whatsapp",
        "twilio": "atende.messaging.twilio",
        "webhook": "atende.messaging.webhook",
        "email": "atende.messaging.smtp",
    },
)
SPEECH: Kind[SpeechEngine] = Kind(
    "speech",
    "ATENDE_TTS",
    chain=True,
    modules={
        "espeak": "atende.speech.espeak",
        "polly": "atende.speech.polly",
        "piper": "atende.speech.piper",
    },
)
DIRECTORIES: Kind[Directory] = Kind(
    "directory",
    "ATENDE_DIRECTORY",
    builtin="builtin",
    modules={"http": "atende.connectors.declarative", "sql": "atende.connectors.sql"},
)
HELPDESKS: Kind[Helpdesk] = Kind(
    "helpdesk",
    "ATENDE_HELPDESK",
    builtin="builtin",
    modules={
        "http": "atende.connectors.declarative",
        "glpi": "atende.connectors.glpi",
        "zammad": "atende.connectors.zammad",
        "osticket": "atende.connectors.osticket",
    },
)
# A helpdesk's caller log (Zammad's CTI), registered under the helpdesk's own name; its builder
# returns None when the helpdesk's settings do not turn it on.
CALL_LOGS: Kind[CallLog | None] = Kind(
    "call_log", "ATENDE_HELPDESK", builtin="builtin", modules={"zammad": "atende.connectors.zammad"}
)
VERIFIERS: Kind[CodeVerifier] = Kind(
    "verifier",
    "ATENDE_VERIFIER",
    builtin="local",
    modules={"twilio-verify": "atende.messaging.twilio"},
)


def verifier_name(settings: Settings) -> str:
    """``ATENDE_VERIFIER``, or when unset what installations had before it existed: Twilio
    Verify when ``ATENDE_TWILIO_VERIFY_SERVICE`` is set, else atende itself."""
    if settings.verifier:
        return settings.verifier
    from atende.messaging.twilio import VerifyService

    return "twilio-verify" if settings.of(VerifyService).twilio_verify_service else "local"


def check_settings(settings: Settings) -> None:
    """Import the plugins and refuse, in one line naming the variable, an unknown adapter name
    or a wrong setting of a named adapter: at start-up, not at the first call."""
    load_plugins(settings.plugins)
    for kind in (CHANNELS, SPEECH, DIRECTORIES, HELPDESKS):
        kind.check(settings)
    VERIFIERS.check(settings, verifier_name(settings))
