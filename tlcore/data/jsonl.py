"""JSON Lines tables, read line by line within limits: rows, distinct keys (columns), rows × columns, and how
deeply a value may nest. A file that would pass a limit is refused as soon as that is clear, so a small file
cannot make the server build a huge table (one distinct key per line once needed memory growing with the
square of the lines) or recurse until it crashes. A line longer than a row can need is skipped unparsed, which
bounds the work of any one line (a 20 MB array in one cell, or 100,000 keys on one line)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tlcore.core.errors import DataError
from tlcore.core.settings import Limits
from tlcore.data.dataset import SkippedItem

if TYPE_CHECKING:  # pandas only when a table is read (see tables.py)
    import pandas as pd


def read_jsonl(text: str, name: str, limits: Limits) -> tuple[pd.DataFrame, list[int], list[SkippedItem]]:
    """(table of strings, the line number of each row, lines skipped with reasons)."""
    rows: list[dict[str, str]] = []
    numbers: list[int] = []
    skipped: list[SkippedItem] = []
    keys: dict[str, None] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        row, reason = _row(line, limits)
        if reason:
            skipped.append(SkippedItem(f"line {n}", reason))
            continue
        keys.update(dict.fromkeys(row))
        _check_size(name, len(rows) + 1, len(keys), limits)
        rows.append(row)
        numbers.append(n)
    if not rows:
        raise DataError(f"{name} has no valid JSON lines; each line must be one object such as "
                        '{"text": "...", "label": "..."}.')
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=list(keys)).fillna("")
    return frame, numbers, skipped


def max_line_chars(limits: Limits) -> int:
    """The longest line read: a text at its limit, its label and some other fields."""
    return 2 * limits.max_text_chars + 10_000


def _row(line: str, limits: Limits) -> tuple[dict[str, str], str | None]:
    if len(line) > max_line_chars(limits):
        return {}, f"longer than {max_line_chars(limits):,} characters (a text may have {limits.max_text_chars:,})"
    obj, reason = _parse(line, limits.max_json_depth)
    if reason:
        return {}, reason
    row = {str(k): _cell(v) for k, v in obj.items()}
    try:
        "".join(row).encode("utf-8"), "".join(row.values()).encode("utf-8")
    except UnicodeEncodeError:  # "\ud800": JSON allows a lone surrogate, no text can hold one
        return {}, "contains an invalid character (a lone \\ud800-\\udfff escape)"
    return row, None


def _parse(line: str, max_depth: int) -> tuple[dict | None, str | None]:
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: '[[[[…' nested deeper than Python recurses
        return None, "not valid JSON"
    if not isinstance(obj, dict):
        return None, "not a JSON object ({...})"
    if nesting(obj) > max_depth:
        return None, f"nested deeper than {max_depth} levels (a row needs a text and a label)"
    return obj, None


def nesting(value: object) -> int:
    """How deeply lists and objects nest in `value` (1 for a flat object), counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _check_size(name: str, n_rows: int, n_columns: int, limits: Limits) -> None:
    if n_columns > limits.max_table_columns:
        raise DataError(f"{name} uses more than {limits.max_table_columns:,} different keys; a table of texts and "
                        "labels needs a text key and a label key on every line (e.g. {\"text\": …, \"label\": …}).")
    if n_rows > limits.max_text_rows:
        raise DataError(f"{name} has more than {limits.max_text_rows:,} rows (the limit); upload a sample of them.")
    if n_rows * n_columns > limits.max_table_cells:
        raise DataError(f"{name} would make a table of more than {limits.max_table_cells:,} cells ({n_columns:,} "
                        "different keys); keep only the text and the label on each line.")


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)  # safe: the nesting was bounded above
    return str(v)
