"""CSV files as Brazilian offices have them, read and written in one place.

Files saved by Excel pt-BR are Windows-1252 or UTF-8 (with or without a BOM) and separated by
``;`` or ``,``: :func:`read_rows` takes any of them. Exports open right in Excel pt-BR when they
are ``;``-separated, UTF-8 with a BOM and use the decimal comma: :func:`excel_csv` writes them,
and neutralises cells a spreadsheet would run as a formula (OWASP's CSV injection rule).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from atende.services.errors import Invalid

Cell = str | int | float

READ_DELIMITERS = (",", ";")  # the first wins a tie: a one-column file is plain CSV
EXCEL_DELIMITER = ";"  # Excel pt-BR's list separator (the comma is the decimal mark)
BOM = "\ufeff"  # tells Excel the file is UTF-8
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def decode(raw: bytes) -> str:
    """The text of a spreadsheet's CSV: UTF-8 (a BOM is dropped), else Windows-1252."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        raise Invalid(
            "the file is neither UTF-8 nor Windows-1252 text; save it again as CSV",
            field="encoding",
        ) from None


def delimiter_of(text: str) -> str:
    """``;`` or ``,``: the one the header line uses more."""
    header = text.partition("\n")[0]
    return max(READ_DELIMITERS, key=header.count)


def read_rows(raw: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """The column names (trimmed, lower-case) and the rows of a CSV file as a spreadsheet
    program saves it."""
    text = decode(raw)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter_of(text))
    try:
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
        rows = [{k: v or "" for k, v in row.items() if isinstance(k, str)} for row in reader]
    except csv.Error as exc:
        raise Invalid(f"the file is not readable CSV: {exc}", field="file") from None
    return list(reader.fieldnames), rows


def line_ranges(lines: Iterable[int]) -> str:
    """``[2, 3, 4, 7]`` as ``2-4, 7``: which lines of a file something happened to."""
    spans: list[list[int]] = []
    for line in sorted(lines):
        if spans and line == spans[-1][1] + 1:
            spans[-1][1] = line
        else:
            spans.append([line, line])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def excel_csv(headers: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """A CSV export that Excel pt-BR opens in columns, with accents and decimal commas right,
    and in which no cell is a live formula."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=EXCEL_DELIMITER, lineterminator="\r\n")
    writer.writerow([_cell(name) for name in headers])
    writer.writerows([_cell(value) for value in row] for row in rows)
    return BOM + out.getvalue()


def _cell(value: Cell) -> str:
    if isinstance(value, float):
        return str(value).replace(".", ",")
    if isinstance(value, int):
        return str(value)
    # A text cell that starts like a formula is shown as text, not run (=HYPERLINK(...)).
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value
