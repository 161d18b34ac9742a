"""The development channel: messages appended to ``$ATENDE_DATA_DIR/outbox.jsonl``.

With no provider configured, a newcomer reads their one-time code here
(``tail -f var/outbox.jsonl``). Several tasks, threads and processes (the HTTP app and FastAGI
processes) append at once, so each line is written whole under an exclusive ``flock``, on a
descriptor opened with ``O_APPEND``: lines never interleave or overwrite each other. The file
holds codes in clear and is created readable by its owner only.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from atende.adapters import CHANNELS
from atende.config import Settings
from atende.messaging.port import DeliveryError, OutgoingMessage, SendResult
from atende.registry import register


class OutboxChannel:
    name = "outbox"

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, message: OutgoingMessage) -> SendResult:
        provider_id = f"outbox-{uuid.uuid4().hex}"
        record = {
            "id": provider_id,
            "created_at": datetime.now(UTC).isoformat(),
            "channel": self.name,
            "kind": message.kind,
            "to": message.to,
            "text": message.text,
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        try:
            await asyncio.to_thread(self._append, line.encode())
        except OSError as exc:
            raise DeliveryError(
                f"cannot append to {self.path}: {exc.strerror}", retryable=True
            ) from None
        return SendResult(provider_id)

    def _append(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


@register(CHANNELS, "outbox")
def build(settings: Settings, own: None) -> OutboxChannel:
    return OutboxChannel(settings.data_dir / "outbox.jsonl")
