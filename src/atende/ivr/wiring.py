"""Builds the phone side of one process: the flow engine's ports over the services, the
flows each FastAGI path runs, the prompts to render before the first call, the server.

``agi://HOST:4573/<flow>`` runs that flow; ``/ura``, the path of every existing dialplan,
runs ``ATENDE_FLOW`` (``ti`` by default). A call runs the version of the flow it started with.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from atende.agi.environment import AgiEnvironment
from atende.agi.errors import UnknownScript
from atende.agi.protocol import AgiChannel
from atende.agi.server import AgiServer
from atende.config import Settings
from atende.flows.engine import FlowEngine
from atende.flows.nodes import ChooseService, Node
from atende.flows.ports import EngineSettings, FlowPorts
from atende.flows.prompts import TextKey, parts, template_fields
from atende.flows.published import PublishedFlow
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
    from_caches,
)
from atende.ivr.steps import StepWriter
from atende.services.bundle import Services
from atende.services.calls import NewCall
from atende.services.catalog import CategoryView
from atende.services.errors import NotFound
from atende.speech import AudioCache
from atende.texts import fixed_prompts, text

log = logging.getLogger(__name__)

DEFAULT_SCRIPT = "ura"  # agi://HOST:4573/ura: the flow ATENDE_FLOW names


@dataclass
class PhoneDeps:
    """What every call of this process needs: built once per process (see build_phone)."""

    services: Services
    ports: FlowPorts
    engine: EngineSettings
    settings: Settings

    async def resolve(self, env: AgiEnvironment) -> PublishedFlow:
        """The flow a call starting now runs: its dialled number's route, else its FastAGI
        path's flow (NotFound for a path no flow has)."""
        dialled = env.dnid or env.extension
        flows = self.services.flows
        return await from_caches(lambda: flows.resolve(env.network_script, dialled))


def engine_settings(settings: Settings, services: Services) -> EngineSettings:
    return EngineSettings(
        otp=settings.otp,
        protocol_at_start=settings.protocol_at_start,
        survey=settings.survey,
        attendant_destination=settings.attendant_destination,
        protocol_scheme=services.runtime.scheme,
        one_moment_after=settings.one_moment_after,
    )


def build_phone(services: Services, owner_id: int | None = None) -> PhoneDeps:
    """The flow engine's ports over ``services``; ``owner_id`` is the process's row in
    ``processes`` (see services.call_owners), None where nothing recovers its calls."""
    settings = services.runtime.settings
    services.site.business_hours()  # a wrong ATENDE_HOURS/_HOLIDAYS stops startup here
    services.flows.resolve(DEFAULT_SCRIPT, None)  # so does a wrong ATENDE_FLOW
    services.recordings.prepare()
    ports = FlowPorts(
        directory=ServiceDirectory(services),
        codes=ServiceCodes(services.codes),
        catalog=ServiceCatalog(services),
        tickets=ServiceTickets(services),
        protocols=ServiceProtocols(services),
        hours=ServiceHours(services),
        log=ServiceCallLog(services, StepWriter(services.calls), owner_id),
        recordings=ServiceRecordings(services.recordings),
        clock=services.runtime.clock,
    )
    engine = engine_settings(settings, services)
    return PhoneDeps(services, ports, engine, settings)


def current_flows(deps: PhoneDeps) -> list[PublishedFlow]:
    """The current version of every published flow: what calls starting now may run."""
    flows = deps.services.flows
    return [flows.current(name) for name in flows.names()]


def prompts_to_prerender(deps: PhoneDeps) -> list[str]:
    """Every text a caller may hear that does not depend on who calls, in every flow the
    server routes: fixed prompts and the flow's own texts, the menus of the current catalog,
    the opening hours. Prompts are spoken part by part (see AgiCall), so parts are rendered."""
    hours = deps.services.site.business_hours().describe()
    flows = [published.flow for published in current_flows(deps)]
    tree = deps.services.catalog.tree() if _uses_catalog(flows) else []
    texts = list(fixed_prompts(deps.settings.language).values())
    texts += list("0123456789")  # numbers are read from these (see speech.numbers.digit_parts)
    for flow in flows:
        texts += _flow_texts(flow, hours, [c for c in tree if c.items])
    return list(dict.fromkeys(texts))


def _uses_catalog(flows: list[Flow]) -> bool:
    return any(isinstance(node, ChooseService) for flow in flows for node in flow.nodes.values())


def _fixed(template: str, hours: str) -> str | None:
    """``template`` filled when it needs nothing but the opening hours, else None."""
    fields = set(template_fields(template))
    if fields <= {"hours"}:
        return template.format(hours=hours) if fields else template
    return None


def _flow_texts(flow: Flow, hours: str, tree: list[CategoryView]) -> Iterator[str]:
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


def _menus(flow: Flow, node: ChooseService, tree: list[CategoryView]) -> Iterator[str]:
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

    async def run(channel: AgiChannel) -> None:
        try:
            published = await deps.resolve(channel.env)
        except NotFound as exc:
            raise UnknownScript(channel.env.network_script) from exc
        call = AgiCall(channel, cache, settings)
        engine = FlowEngine(published.flow, deps.ports, call, deps.engine, published.version)
        await engine.run()

    async def busy(channel: AgiChannel) -> None:
        call = AgiCall(channel, cache, settings)
        try:
            flow = (await deps.resolve(channel.env)).flow
            busy_text = flow.text_of("busy") or text("busy", settings.language)
        except NotFound:  # no such flow: atende's own words
            busy_text = text("busy", settings.language)
        try:
            await call.answer()
            await call.play(busy_text)
        finally:
            refused = NewCall(call.uniqueid, call.caller_id, call.channel_name)
            await asyncio.to_thread(deps.services.calls.record_refused, refused)

    server = AgiServer(
        settings.agi_host,
        settings.agi_port,
        allow=settings.agi_networks,
        max_calls=settings.agi_max_calls,
        on_busy=busy,
        command_timeout=settings.agi_command_timeout,
    )
    server.route_any(run)  # every path: the flow store knows which flows exist
    return server
