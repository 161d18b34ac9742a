"""/api/v1/calls: every phone call with its steps."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from atende.api.deps import Reader, ServicesDep
from atende.api.schemas import CallOut

router = APIRouter(prefix="/calls", tags=["calls"])


@router.get("", response_model=list[CallOut])
def list_calls(
    services: ServicesDep,
    _: Reader,
    outcome: str | None = Query(None, examples=["ticket_opened"]),
    started_from: datetime | None = None,
    limit: int = Query(50, ge=1, le=200),
) -> list[CallOut]:
    calls = services.calls.list(outcome=outcome, started_from=started_from, limit=limit)
    return [CallOut.of(c, with_steps=False) for c in calls]


@router.get("/{uniqueid}", response_model=CallOut)
def read_call(uniqueid: str, services: ServicesDep, _: Reader) -> CallOut:
    return CallOut.of(services.calls.get(uniqueid))
