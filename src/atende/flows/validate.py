"""The checks a flow needs beyond its schema: the graph, the keys, the texts and their fields.

Pure and I/O-free: it reads a parsed :class:`Flow` and returns every problem found (never just
the first), each with the node id and field, so an integrator fixes a file in one pass.

The way-to-a-person rule: 0 in any menu goes to the flow's ``attendant`` node (the engine does
it, no file can forget it), so a flow with a menu must name one, and from it a ``transfer``
node must be reachable through nodes that ask no personal data (Decreto 11.034: reaching a
person must not depend on giving data first). An ``hours`` check on the way is fine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from atende.flows.errors import FlowError
from atende.flows.fields import CALL_FIELDS
from atende.flows.nodes import ATTENDANT_KEY, Identify, Node, Transfer, VerifyCode
from atende.flows.prompts import TextKey, parts, template_fields
from atende.flows.schema import Flow
from atende.texts import PT_BR

Graph = dict[str, set[str]]


def validate(flow: Flow) -> list[FlowError]:
    """Every graph, key, text and field error of ``flow`` (an empty list: it can run)."""
    checks: list[Callable[[Flow], Iterator[FlowError]]] = [
        _missing_nodes,
        _unreachable_nodes,
        _keys,
        _way_to_a_person,
        _loops_without_input,
        _texts_and_fields,
        _hidden_unknown_callers,
    ]
    return [error for check in checks for error in check(flow)]


# -- the graph ------------------------------------------------------------------------------


def _edges(flow: Flow, *, to_attendant: bool = True) -> Graph:
    """Node id to the ids it can go to; menus also go to the attendant node (the engine's 0)."""
    graph: Graph = {}
    for node_id, node in flow.nodes.items():
        targets = {t for t in node.exits().values() if t in flow.nodes}
        if to_attendant and node.OFFERS_ATTENDANT and flow.attendant in flow.nodes:
            targets.add(flow.attendant)
        graph[node_id] = targets
    return graph


def _reach(graph: Graph, sources: Iterable[str]) -> set[str]:
    """The nodes reachable from ``sources`` (themselves included)."""
    seen = set(sources)
    pending = list(seen)
    while pending:
        for target in graph.get(pending.pop(), ()):
            if target not in seen:
                seen.add(target)
                pending.append(target)
    return seen


def _reversed(graph: Graph) -> Graph:
    back: Graph = {node_id: set() for node_id in graph}
    for source, targets in graph.items():
        for target in targets:
            back[target].add(source)
    return back


def _missing_nodes(flow: Flow) -> Iterator[FlowError]:
    for field in ("start", "attendant"):
        target = getattr(flow, field)
        if target is not None and target not in flow.nodes:
            yield FlowError("missing_node", None, field, f"no node is called {target!r}")
    for node_id, node in flow.nodes.items():
        for path, target in node.exits().items():
            if target not in flow.nodes:
                message = f"exit to {target!r}, which is not a node of this flow"
                yield FlowError("missing_node", node_id, path, message)


def _unreachable_nodes(flow: Flow) -> Iterator[FlowError]:
    reached = _reach(_edges(flow), [flow.start])
    for node_id in flow.nodes:
        if node_id not in reached:
            message = f"no path from start ({flow.start!r}) leads here"
            yield FlowError("unreachable", node_id, "", message)


# -- keys and the way to a person -------------------------------------------------------------


def _keys(flow: Flow) -> Iterator[FlowError]:
    for node_id, node in flow.nodes.items():
        first_use: dict[str, str] = {}
        for path, key in node.keys().items():
            if node.OFFERS_ATTENDANT and key == ATTENDANT_KEY:
                message = "key 0 is the engine's in every menu: it reaches a person"
                yield FlowError("reserved_key", node_id, path, message)
            elif key in first_use:
                message = f"key {key!r} is also {first_use[key]!r}"
                yield FlowError("key_collision", node_id, path, message)
            else:
                first_use[key] = path


def _way_to_a_person(flow: Flow) -> Iterator[FlowError]:
    menus = [node_id for node_id, node in flow.nodes.items() if node.OFFERS_ATTENDANT]
    if not menus:
        return
    if flow.attendant is None:
        message = "0 reaches a person from this menu, but the flow names no attendant node"
        yield FlowError("no_attendant", menus[0], "", message)
        return
    if flow.attendant not in flow.nodes:
        return  # reported as a missing node
    free = {
        node_id: targets
        for node_id, targets in _edges(flow, to_attendant=False).items()
        if not flow.nodes[node_id].asks_for_data()
    }
    reached = _reach(free, [flow.attendant] if flow.attendant in free else [])
    if not any(isinstance(flow.nodes[n], Transfer) for n in reached):
        message = (
            f"no transfer node can be reached from {flow.attendant!r} without asking the "
            "caller's data: 0 must reach a person (Decreto 11.034)"
        )
        yield FlowError("no_way_to_person", None, "attendant", message)


def _loops_without_input(flow: Flow) -> Iterator[FlowError]:
    """Cycles made only of exits taken without a key press: a silent caller loops forever."""
    graph: Graph = {
        node_id: {
            target
            for path, target in node.exits().items()
            if target in flow.nodes and path not in node.input_exits()
        }
        for node_id, node in flow.nodes.items()
    }
    reported: set[str] = set()
    for node_id in sorted(graph):
        if node_id in reported:
            continue
        ahead = _reach(graph, graph[node_id])
        if node_id not in ahead:
            continue
        cycle = sorted(n for n in ahead if node_id in _reach(graph, graph[n]))
        reported.update(cycle)
        exit_path = next(
            path for path, target in flow.nodes[node_id].exits().items() if target in cycle
        )
        message = f"the nodes {', '.join(cycle)} loop without waiting for the caller"
        yield FlowError("loop_without_input", node_id, exit_path, message)


# -- texts and their fields -------------------------------------------------------------------


def _texts_and_fields(flow: Flow) -> Iterator[FlowError]:
    back = _reversed(_edges(flow))
    for node_id, node in flow.nodes.items():
        ancestors = _reach(back, back[node_id])
        known = CALL_FIELDS.union(*(flow.nodes[a].provides() for a in ancestors))
        missing = ", ".join(sorted(node.REQUIRES - known))
        if missing:
            message = f"needs {missing}, which no earlier node provides"
            yield FlowError("missing_field", node_id, "type", message)
        # A node's own texts may use what it provides: a protocol message names the protocol.
        yield from _node_templates(flow, node_id, node, known | node.provides())


def _node_templates(
    flow: Flow, node_id: str, node: Node, known: frozenset[str]
) -> Iterator[FlowError]:
    """Unknown text keys, and fields that are neither known here nor the text's own."""
    templates = [(path, text, frozenset[str]()) for path, text in node.templates().items()]
    for path, prompt in node.prompts().items():
        spoken = parts(prompt)
        for index, part in enumerate(spoken):
            where = f"{path}.{index}" if len(spoken) > 1 else path
            if isinstance(part, str):
                templates.append((where, part, frozenset()))
            elif isinstance(part, TextKey):
                text = flow.text_of(part.key)
                if text is None:
                    message = f"unknown text key {part.key!r} (not in atende.texts nor in texts)"
                    yield FlowError("unknown_text", node_id, where, message)
                else:
                    templates.append((where, text, _own_fields(part.key)))
    for where, text, own in templates:
        try:
            used = set(template_fields(text))
        except ValueError as exc:
            yield FlowError("bad_template", node_id, where, f"{exc} in {text!r}")
            continue
        for field in sorted(used - known - own):
            message = f"{{{field}}}: no earlier node provides this field"
            yield FlowError("unknown_field", node_id, where, message)


def _own_fields(key: str) -> frozenset[str]:
    """The fields of a text of ``atende.texts``: the node that speaks it fills them."""
    return frozenset(template_fields(PT_BR[key])) if key in PT_BR else frozenset()


def _hidden_unknown_callers(flow: Flow) -> Iterator[FlowError]:
    """An unknown caller kept secret must meet the one-time code that fails them next."""
    for node_id, node in flow.nodes.items():
        hidden = isinstance(node, Identify) and not node.reveal_unknown
        if hidden and not isinstance(flow.nodes.get(getattr(node, "next", "")), VerifyCode):
            message = "reveal_unknown: false needs a verify_code node as next"
            yield FlowError("hidden_unknown", node_id, "reveal_unknown", message)
