"""Menu texts built from the catalog, so an edited catalog is heard at the next call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from atende.texts import text

CATEGORY_REPEAT_KEY = "7"  # seed 000: "7 Repetir os itens do menu"
ITEM_REPEAT_KEY = "9"
ATTENDANT_KEY = "0"


class MenuEntry(Protocol):
    key: str
    prompt: str


def menu_text(intro: str, entries: Sequence[MenuEntry], repeat_key: str, language: str) -> str:
    options = " ".join(
        text("menu_option", language, label=entry.prompt, key=entry.key) for entry in entries
    )
    return f"{intro} {options} {text('menu_repeat', language, key=repeat_key)}"
