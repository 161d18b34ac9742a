"""A flow as an indented tree of what the caller hears and presses (``atende flows show``).

Plain text, for an integrator reading a flow before any call: each node on one line with what
it says, the ``next`` node below it at the same depth (a script reads top to bottom), other
exits indented under it with their key or name. A node already shown is not repeated: a
return to a node above on the same path reads "(volta para X)", one shown elsewhere
"(segue em X)".
"""

from __future__ import annotations

from atende.flows.nodes import ATTENDANT_KEY, Menu, Node, Step
from atende.flows.prompts import Prompt, Recording, TextKey, parts
from atende.flows.schema import Flow

INDENT = "  "
MAIN_PROMPTS = ("prompt", "ask_prompt")  # the field that says what the node is about


def describe(flow: Flow) -> str:
    """The tree of ``flow`` from its start node, as lines of text."""
    lines = [f"{flow.name}: {flow.description}".rstrip(": ")]
    _Walker(flow, lines).walk(flow.start, 0, [])
    return "\n".join(lines) + "\n"


class _Walker:
    def __init__(self, flow: Flow, lines: list[str]) -> None:
        self.flow = flow
        self.lines = lines
        self.shown: set[str] = set()

    def walk(self, node_id: str | None, depth: int, path: list[str]) -> None:
        """Write ``node_id`` and what follows it, at ``depth``; ``path`` is the way here."""
        while node_id is not None:
            pad = INDENT * depth
            if node_id in path:
                self.lines.append(f"{pad}(volta para {node_id})")
                return
            if node_id in self.shown or node_id not in self.flow.nodes:
                self.lines.append(f"{pad}(segue em {node_id})")
                return
            self.shown.add(node_id)
            path = [*path, node_id]
            node = self.flow.nodes[node_id]
            self.lines.append(f"{pad}{node_id} [{node.type}]{self.summary(node)}")
            for label, target in self.branches(node):
                self.lines.append(f"{pad}{INDENT}{label} →")
                self.walk(target, depth + 2, path)
            node_id = node.next if isinstance(node, Step) else None

    def branches(self, node: Node) -> list[tuple[str, str]]:
        """The exits shown indented: the engine's 0 first, then all but ``next``."""
        labels = []
        if node.OFFERS_ATTENDANT and self.flow.attendant:
            labels.append((f"tecla {ATTENDANT_KEY} (atendente)", self.flow.attendant))
        labels += [
            (f"tecla {path.split('.', 1)[1]}" if path.startswith("options.") else path, target)
            for path, target in node.exits().items()
            if path != "next"
        ]
        return labels

    def summary(self, node: Node) -> str:
        """What the node says (its main prompt) or sets, its repeat key, the setting it needs."""
        notes = []
        if isinstance(node, Step) and node.only_if:
            notes.append(f" (só com ATENDE_{node.only_if.upper()})")
        prompts = node.prompts()
        main = next((prompts[name] for name in MAIN_PROMPTS if name in prompts), None)
        if main is not None:
            notes.append(f': "{self.spoken(main)}"')
        notes += [f" {path} = {value!r}" for path, value in node.templates().items()]
        if isinstance(node, Menu) and node.repeat_key:
            notes.append(f" (tecla {node.repeat_key} repete)")
        return "".join(notes)

    def spoken(self, prompt: Prompt) -> str:
        said = []
        for part in parts(prompt):
            if isinstance(part, TextKey):
                said.append(self.flow.text_of(part.key) or f"[texto {part.key}]")
            elif isinstance(part, Recording):
                said.append(f"[gravação {part.recording}]")
            else:
                said.append(part)
        return " ".join(said)
