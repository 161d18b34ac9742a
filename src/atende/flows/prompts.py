"""What a node says, as written in a flow file, and the fields its texts use.

A prompt is one part or a list of parts spoken one after another (the ``Call.play`` sequence).
A part is one of three things, told apart by its YAML shape, so no text ever needs escaping:

* a plain string: a literal text, with fields in braces (``"Olá, {person.name}."``);
* ``{key: greeting}``: the text ``greeting`` of :mod:`atende.texts`, or of the flow's own
  ``texts`` (which override and extend them, so an integrator rewords without code);
* ``{recording: horario}``: an uploaded recording, played as it is.

Fields are ``str.format`` names: the flow fields listed in :mod:`atende.flows.fields`, plus,
for a text key of :mod:`atende.texts`, the fields its default text uses (the node that speaks
it fills them, e.g. ``{name}`` in ``confirm_name``).
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

TEXT_KEY_PATTERN = r"^[a-z][a-z0-9_]*$"


class TextKey(BaseModel):
    """A reference to a text by key: ``{key: main_menu}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=TEXT_KEY_PATTERN, description="A key of atende.texts or of texts")


class Recording(BaseModel):
    """An uploaded recording, by name: ``{recording: horario}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recording: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)


# Tags of the prompt unions: chosen by shape, so that a wrong part is one error, not one per
# alternative. They show in pydantic's error locations, where the loader drops them.
UNION_TAGS = frozenset({"one-part", "many-parts", "a-text", "a-key", "a-recording"})


def _part_shape(value: object) -> str | None:
    if isinstance(value, str | TextKey | Recording):
        return {str: "a-text", TextKey: "a-key", Recording: "a-recording"}[type(value)]
    if isinstance(value, dict):
        return "a-key" if "key" in value else "a-recording" if "recording" in value else None
    return None


def _prompt_shape(value: object) -> str:
    return "many-parts" if isinstance(value, list) else "one-part"


PromptPart = Annotated[
    Annotated[str, Tag("a-text")]
    | Annotated[TextKey, Tag("a-key")]
    | Annotated[Recording, Tag("a-recording")],
    Discriminator(
        _part_shape,
        custom_error_type="prompt_part",
        custom_error_message="a prompt part is a text, {key: ...} or {recording: ...}",
    ),
]
Prompt = Annotated[
    Annotated[PromptPart, Tag("one-part")] | Annotated[list[PromptPart], Tag("many-parts")],
    Discriminator(_prompt_shape),
]


def parts(prompt: Prompt | None) -> list[PromptPart]:
    """The parts of ``prompt`` in the order they are spoken (none for a missing prompt)."""
    if prompt is None:
        return []
    return list(prompt) if isinstance(prompt, list) else [prompt]


def template_fields(template: str) -> Iterator[str]:
    """The field names a ``str.format`` template uses (``{person.name}`` gives person.name).

    A template ``str.format`` cannot parse (an unmatched brace) raises ValueError.
    """
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            yield name.split("[", 1)[0]
