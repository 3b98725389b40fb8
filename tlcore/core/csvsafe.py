"""Cells for the CSV files we write: anything a spreadsheet would run as a formula becomes plain text.

Labels, file names and run names come from users; a cell such as `=cmd|' /C calc'!A0` in an exported CSV
would be executed by Excel or LibreOffice when the file is opened. Following OWASP's CSV-injection advice,
a text cell that starts with = + - @ tab or carriage return gets a leading apostrophe (shown as-is by
spreadsheets); numbers, including negative ones, are left alone.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """`value`, or the text with a leading apostrophe if a spreadsheet would treat it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_csv(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> str:
    """A CSV text with a header; every cell goes through `safe_cell`, keys outside `columns` are ignored."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return buf.getvalue()
