"""Builds the phone side of one process: flow dependencies, audio cache, FastAGI server."""

from __future__ import annotations

import asyncio
import logging

from atende.agi.protocol import AgiChannel
from atende.agi.server import AgiServer
from atende.ivr.call import AgiCall
from atende.ivr.flow import FlowDeps, UraFlow
from atende.ivr.menus import CATEGORY_REPEAT_KEY, ITEM_REPEAT_KEY, menu_text
from atende.ivr.steps import StepWriter
from atende.services.bundle import Services
from atende.speech import AudioCache
from atende.texts import fixed_prompts, text

log = logging.getLogger(__name__)

SCRIPT = "ura"


def build_flow_deps(services: Services, owner_id: int | None = None) -> FlowDeps:
    """What every call of this process needs; ``owner_id`` is the process's row in
    ``processes`` (see services.call_owners), None where nothing recovers its calls."""
    settings = services.runtime.settings
    services.site.business_hours()  # a wrong ATENDE_HOURS/_HOLIDAYS stops startup here
    return FlowDeps(
        services=services,
        codes=services.codes,
        messenger=services.messenger,
        hours=services.site.business_hours,
        settings=settings,
        steps=StepWriter(services.calls),
        owner_id=owner_id,
    )


def prompts_to_prerender(deps: FlowDeps) -> list[str]:
    """Every text a caller may hear that does not depend on who calls: fixed prompts, the
    menus of the current catalog and the out-of-hours message."""
    language = deps.language
    texts = list(fixed_prompts(language).values())
    texts += list("0123456789")  # numbers are read from these (see speech.numbers.digit_parts)
    categories = [c for c in deps.services.catalog.tree() if c.items]
    texts.append(
        menu_text(text("category_menu_intro", language), categories, CATEGORY_REPEAT_KEY, language)
    )
    for category in categories:
        intro = text("item_menu_intro", language, category=category.prompt)
        texts.append(menu_text(intro, category.items, ITEM_REPEAT_KEY, language))
    texts.append(
        f"{text('out_of_hours', language, hours=deps.hours().describe())} "
        f"{text('out_of_hours_offer', language)}"
    )
    return texts


def build_agi_server(deps: FlowDeps, cache: AudioCache) -> AgiServer:
    settings = deps.settings

    async def ura(channel: AgiChannel) -> None:
        await UraFlow(deps, AgiCall(channel, cache, settings)).run()

    async def busy(channel: AgiChannel) -> None:
        call = AgiCall(channel, cache, settings)
        try:
            await call.answer()
            await call.play(text("busy", deps.language))
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
    server.route(SCRIPT, ura)
    return server
