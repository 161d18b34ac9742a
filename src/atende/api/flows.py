"""/api/v1/flows: the published call flows, their history, and publishing a new version.

Reading takes the ``read`` scope; publishing takes ``admin``, as a flow decides what every
caller hears. A flow that cannot run is refused with 422, ``field`` ``text`` and a message
listing every error with its node id and field (the same lines as ``atende flows check``).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from atende.api.deps import Admin, Reader, ServicesDep, actor
from atende.api.responses import error_responses
from atende.flows.published import FlowVersionInfo

router = APIRouter(prefix="/flows", tags=["flows"])


class FlowVersionOut(BaseModel):
    name: str
    version: int
    published_at: datetime
    published_by: str = Field(description="cli:<user>, web:<member>, api:<token>, or atende")
    note: str
    restored_from: int | None = Field(description="The version this one restored, if any")
    current: bool

    @classmethod
    def of(cls, info: FlowVersionInfo) -> FlowVersionOut:
        return cls(**vars(info))


class FlowOut(FlowVersionOut):
    text: str = Field(description="The YAML document exactly as published")


class FlowSummaryOut(BaseModel):
    name: str
    version: int = Field(description="The current version: what a call starting now runs")
    published_at: datetime
    published_by: str
    numbers: list[str] = Field(description="Dialled numbers routed to this flow")


class FlowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1_000_000, description="A flow document (YAML)")
    note: str = Field("", max_length=500, description="What changed, for the history")


@router.get("", response_model=list[FlowSummaryOut])
def list_flows(services: ServicesDep, _: Reader) -> list[FlowSummaryOut]:
    return [
        FlowSummaryOut(
            name=s.current.name,
            version=s.current.version,
            published_at=s.current.published_at,
            published_by=s.current.published_by,
            numbers=list(s.routes),
        )
        for s in services.flows.summaries()
    ]


@router.get("/{name}", response_model=FlowOut)
def read_flow(name: str, services: ServicesDep, _: Reader, version: int | None = None) -> FlowOut:
    """The current version of a flow, or the version ``version``."""
    info = services.flows.version_info(name, version)
    return FlowOut(**vars(info), text=services.flows.text(name, info.version))


@router.get("/{name}/versions", response_model=list[FlowVersionOut])
def flow_versions(name: str, services: ServicesDep, _: Reader) -> list[FlowVersionOut]:
    return [FlowVersionOut.of(v) for v in services.flows.versions(name)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=FlowOut,
    responses=error_responses(409),
)
def publish_flow(body: FlowIn, services: ServicesDep, token: Admin) -> FlowOut:
    """Publish the next version of the flow ``text`` names; new calls run it at once."""
    published = services.flows.publish(body.text, actor(token), body.note)
    info = services.flows.version_info(published.name, published.version)
    return FlowOut(**vars(info), text=body.text)
