"""What the connector tests share: a ticket draft as the push outbox builds one, and the texts
a caller heard (the audio cache keeps each text beside its audio file)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from atende.connectors.ports import DirectoryEntry, TicketDraft


def ticket_draft(
    person: DirectoryEntry,
    protocol: str = "20260000017",
    category_ref: str | None = None,
    description: str = "",
) -> TicketDraft:
    """Tabela 1's "Impressoras / Instalar impressora" (menu 3, 1) opened by phone."""
    return TicketDraft(
        protocol=protocol,
        idempotency_key=f"atende-{protocol}",
        person=person,
        category="Impressoras",
        item="Instalar impressora",
        menu_path="3.1",
        category_ref=category_ref,
        description=description,
        channel="phone",
        opened_at=datetime.now(UTC),
    )


def spoken(files: list[str]) -> list[str]:
    """The texts of the audio files played, in order."""
    return [Path(name + ".txt").read_text(encoding="utf-8") for name in files]
