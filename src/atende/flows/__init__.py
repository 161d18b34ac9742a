"""Call flows as data (issue 11): the flow document, its validation and the shipped flows.

A flow is a YAML document of nodes with named exits (``schema``, ``nodes``), checked beyond
its schema by ``validate``, read by ``loader``, and shown to an integrator as a tree by
``describe``. The engine that runs a flow over the ``Call`` interface builds on this package.
"""

from atende.flows.errors import FlowError, FlowInvalid
from atende.flows.loader import load_flow, parse_flow, shipped_flow, shipped_flow_names
from atende.flows.schema import Flow, json_schema
from atende.flows.validate import validate

__all__ = [
    "Flow",
    "FlowError",
    "FlowInvalid",
    "json_schema",
    "load_flow",
    "parse_flow",
    "shipped_flow",
    "shipped_flow_names",
    "validate",
]
