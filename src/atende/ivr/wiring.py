"""Builds the phone side of one process: the flow engine's ports over the services, the
flows each FastAGI path runs, the prompts to render before the first call, the server.

``agi://HOST:4573/<flow>`` runs that flow; ``/ura``, the path of every existing dialplan,
runs ``ATENDE_FLOW`` (``ti`` by default). A call runs the version of the flow it started with.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from atende.agi.protocol import AgiChannel
from atende.agi.server import AgiServer
from atende.config import Settings
from atende.db.models import Category
from atende.flows.engine import FlowEngine
from atende.flows.loader import shipped_flow, shipped_flow_names
from atende.flows.nodes import ChooseService, Node
from atende.flows.ports import EngineSettings, FlowPorts
from atende.flows.prompts import TextKey, parts, template_fields
from atende.flows.schema import Flow
from atende.ivr.call import AgiCall
from atende.ivr.ports import (
    ServiceCallLog,
    ServiceCatalog,
    ServiceCodes,
    ServiceDirectory,
    ServiceHours,
    ServiceProtocols,
    ServiceRecordings,
    ServiceTickets,
)
from atende.ivr.steps import StepWriter
from atende.messaging import Messenger, messenger
from atende.messaging.twilio import TwilioVerify
from atende.services.bundle import Services
from atende.services.otp import OneTimeCodes
from atende.services.secrets_store import server_secret
from atende.speech import AudioCache
from atende.texts import fixed_prompts, text

log = logging.getLogger(__name__)

DEFAULT_SCRIPT = "ura"  # agi://HOST:4573/ura: the flow ATENDE_FLOW names


@dataclass(frozen=True)
class PublishedFlow:
    """The flow a call runs: its name, its version (None: a shipped file), the document."""

    name: str
    version: int | None
    flow: Flow


@dataclass
class PhoneDeps:
    """What every call of this process needs: built once per process (see build_phone)."""

    services: Services
    codes: OneTimeCodes
    messenger: Messenger
    ports: FlowPorts
    engine: EngineSettings
    settings: Settings
    resolve: Callable[[str, str], PublishedFlow]  # (FastAGI script, dialled number) -> flow


def engine_settings(settings: Settings, services: Services) -> EngineSettings:
    return EngineSettings(
        otp=settings.otp,
        protocol_at_start=settings.protocol_at_start,
        survey=settings.survey,
        attendant_destination=settings.attendant_destination,
        protocol_scheme=services.runtime.scheme,
        one_moment_after=settings.one_moment_after,
    )


@functools.cache
def _shipped(name: str) -> Flow:
    return shipped_flow(name)  # read and validated once per process


def resolve_flow(script: str, dnid: str, *, default: str = "ti") -> PublishedFlow:
    """The flow a call to FastAGI path ``script`` (dialled number ``dnid``) runs: a shipped
    flow by name, ``default`` (ATENDE_FLOW) for ``ura``. KeyError for a name no flow has."""
    name = default if script == DEFAULT_SCRIPT else script
    return PublishedFlow(name, None, _shipped(name))


def build_phone(services: Services, owner_id: int | None = None) -> PhoneDeps:
    """The flow engine's ports over ``services``; ``owner_id`` is the process's row in
    ``processes`` (see services.call_owners), None where nothing recovers its calls."""
    settings = services.runtime.settings
    services.site.business_hours()  # a wrong ATENDE_HOURS/_HOLIDAYS stops startup here
    resolve = functools.partial(resolve_flow, default=settings.flow)
    resolve(DEFAULT_SCRIPT, "")  # so does a wrong ATENDE_FLOW
    services.recordings.prepare()
    sender = messenger(settings, services.runtime.sessions)
    codes = OneTimeCodes(
        services.runtime.sessions,
        server_secret(settings.data_dir),
        messenger=sender,
        twilio_verify=TwilioVerify.from_settings(settings),
        language=settings.language,
    )
    ports = FlowPorts(
        directory=ServiceDirectory(services),
        codes=ServiceCodes(codes),
        catalog=ServiceCatalog(services),
        tickets=ServiceTickets(services),
        protocols=ServiceProtocols(services),
        hours=ServiceHours(services),
        log=ServiceCallLog(services, StepWriter(services.calls), owner_id),
        recordings=ServiceRecordings(services.recordings),
        clock=services.runtime.clock,
    )
    engine = engine_settings(settings, services)
    return PhoneDeps(services, codes, sender, ports, engine, settings, resolve)


def routed_flows(deps: PhoneDeps) -> dict[str, PublishedFlow]:
    """FastAGI script -> the flow it runs now: each shipped flow by name, and ``ura``."""
    scripts = [DEFAULT_SCRIPT, *shipped_flow_names()]
    return {script: deps.resolve(script, "") for script in scripts}


def prompts_to_prerender(deps: PhoneDeps) -> list[str]:
    """Every text a caller may hear that does not depend on who calls, in every flow the
    server routes: fixed prompts and the flow's own texts, the menus of the current catalog,
    the opening hours. Prompts are spoken part by part (see AgiCall), so parts are rendered."""
    hours = deps.services.site.business_hours().describe()
    tree = deps.services.catalog.tree() if _uses_catalog(deps) else []
    texts = list(fixed_prompts(deps.settings.language).values())
    texts += list("0123456789")  # numbers are read from these (see speech.numbers.digit_parts)
    for published in {p.name: p for p in routed_flows(deps).values()}.values():
        texts += _flow_texts(published.flow, hours, [c for c in tree if c.items])
    return list(dict.fromkeys(texts))


def _uses_catalog(deps: PhoneDeps) -> bool:
    return any(
        isinstance(node, ChooseService)
        for published in routed_flows(deps).values()
        for node in published.flow.nodes.values()
    )


def _fixed(template: str, hours: str) -> str | None:
    """``template`` filled when it needs nothing but the opening hours, else None."""
    fields = set(template_fields(template))
    if fields <= {"hours"}:
        return template.format(hours=hours) if fields else template
    return None


def _flow_texts(flow: Flow, hours: str, tree: list[Category]) -> Iterator[str]:
    templates = [flow.text_of(key) or "" for key in flow.texts]
    for node in flow.nodes.values():
        templates += _spoken_templates(flow, node)
        if isinstance(node, ChooseService):
            yield from _menus(flow, node, tree)
    for template in templates:
        filled = _fixed(template, hours)
        if filled:
            yield filled


def _spoken_templates(flow: Flow, node: Node) -> Iterator[str]:
    for path, prompt in node.prompts().items():
        if path.startswith("message"):
            continue  # written, not spoken
        for part in parts(prompt):
            if isinstance(part, TextKey):
                yield flow.text_of(part.key) or ""
            elif isinstance(part, str):
                yield part


def _menus(flow: Flow, node: ChooseService, tree: list[Category]) -> Iterator[str]:
    """The parts of the catalog menus, as the choose_service node says them."""

    def line(label: str, key: str) -> str:
        return (flow.text_of("menu_option") or "").format(label=label, key=key)

    yield (flow.text_of("menu_repeat") or "").format(key=node.category_repeat_key)
    yield (flow.text_of("menu_repeat") or "").format(key=node.item_repeat_key)
    for category in tree:
        yield line(category.prompt, category.key)
        for template in _spoken_templates(flow, node):
            if "{category}" in template:
                yield template.format(category=category.prompt)
        for item in category.items:
            yield line(item.prompt, item.key)


def build_agi_server(deps: PhoneDeps, cache: AudioCache) -> AgiServer:
    settings = deps.settings

    def runner(script: str) -> Callable[[AgiChannel], Awaitable[None]]:
        async def run(channel: AgiChannel) -> None:
            published = deps.resolve(script, channel.env.dnid)
            call = AgiCall(channel, cache, settings)
            engine = FlowEngine(published.flow, deps.ports, call, deps.engine, published.version)
            await engine.run()

        return run

    async def busy(channel: AgiChannel) -> None:
        call = AgiCall(channel, cache, settings)
        try:
            flow = deps.resolve(channel.env.network_script, channel.env.dnid).flow
            busy_text = flow.text_of("busy") or text("busy", settings.language)
        except KeyError:  # no such flow: atende's own words
            busy_text = text("busy", settings.language)
        try:
            await call.answer()
            await call.play(busy_text)
        finally:
            await asyncio.to_thread(
                deps.services.calls.record_refused,
                call.uniqueid,
                call.caller_id,
                call.channel_name,
            )

    server = AgiServer(
        settings.agi_host,
        settings.agi_port,
        allow=settings.agi_networks,
        max_calls=settings.agi_max_calls,
        on_busy=busy,
        command_timeout=settings.agi_command_timeout,
    )
    for script in routed_flows(deps):
        server.route(script, runner(script))
    return server
