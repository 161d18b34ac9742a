"""Failures a test can make a fake vendor answer with, one request at a time."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse


@dataclass
class Scripted:
    """Answers queued by a test: each request takes the next one (an outage, a rate limit)
    before the fake's normal behaviour resumes; ``requests`` keeps what each request sent."""

    answers: list[JSONResponse] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, status: int, body: Any, times: int = 1, **headers: str) -> None:
        for _ in range(times):
            self.answers.append(JSONResponse(body, status_code=status, headers=headers))

    def next_answer(self, request: dict[str, Any]) -> JSONResponse | None:
        with self.lock:
            self.requests.append(request)
            return self.answers.pop(0) if self.answers else None
