"""The node handlers, one module per group of node types, each registered by its type.

Importing this package registers them all in :data:`HANDLERS` (node type -> handler).
"""

from atende.flows.handlers import people, protocols, routing, service, talk
from atende.flows.run import HANDLERS

__all__ = ["HANDLERS", "people", "protocols", "routing", "service", "talk"]
