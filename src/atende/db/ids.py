"""The range of a database id, as a type the HTTP layers declare their id parameters with.

Ids arrive from URLs, query strings and JSON bodies as numbers of any size, and SQLite's
driver raises ``OverflowError`` (a 500) on one past 64 bits. Declared as ``RowId``, such a
number is refused up front with a 422 naming the parameter, on every backend alike, and the
OpenAPI document tells clients the range.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

MAX_ROW_ID = 2**63 - 1  # BIGINT's upper bound: the largest id any supported database stores

RowId = Annotated[int, Interval(ge=1, le=MAX_ROW_ID)]


def is_row_id(value: int) -> bool:
    """Whether ``value`` can be the id of a row (for ids parsed by hand, e.g. cursors)."""
    return 1 <= value <= MAX_ROW_ID
