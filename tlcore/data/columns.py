"""Which column of a table holds the texts and which the labels: explicit names win, then conventional
names, then what the cells look like."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tlcore.core.errors import DataError
from tlcore.core.settings import Limits

if TYPE_CHECKING:  # pandas only when a table is read (see tables.py)
    import pandas as pd

LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "y")
TEXT_NAMES = ("text", "sentence", "review", "content", "body", "document", "message", "comment")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _by_name(columns: list[str], names: tuple[str, ...], exclude: str | None) -> str | None:
    lowered = {c.strip().lower(): c for c in reversed(columns) if c != exclude}
    for candidate in names:
        if candidate in lowered:
            return lowered[candidate]
    return None


def _check_named(df: pd.DataFrame, column: str, role: str, name: str) -> str:
    if column in df.columns:
        return column
    matches = [c for c in df.columns if c.strip().lower() == column.strip().lower()]
    if len(matches) == 1:
        return matches[0]
    available = ", ".join(repr(c) for c in df.columns)
    raise DataError(f"{name} has no column {column!r} to use as the {role}; the columns are: {available}.")


def detect_columns(df: pd.DataFrame, text_column: str | None, label_column: str | None,
                   limits: Limits, name: str) -> tuple[str, str]:
    """(text column, label column): explicit names win, then conventional names, then content heuristics."""
    columns = [str(c) for c in df.columns]
    if len(columns) < 2:
        raise DataError(f"{name} has only the column {columns[0]!r}; it needs a text column and a label "
                        "column (check the delimiter and that the first row is a header).")
    label = _check_named(df, label_column, "label", name) if label_column else None
    text = _check_named(df, text_column, "text", name) if text_column else None
    label = label or _by_name(columns, LABEL_NAMES, exclude=text)
    text = text or _by_name(columns, TEXT_NAMES, exclude=label)
    if label is None:
        import pandas as pd  # already imported by whoever built `df`

        candidates = []
        for c in columns:
            if c == text:
                continue
            k = df[c].str.strip().replace("", pd.NA).nunique(dropna=True)
            if 2 <= k <= limits.max_classes:
                candidates.append((k, columns.index(c), c))
        if not candidates:
            raise DataError(f"{name}: no column looks like a label (2 to {limits.max_classes} distinct values); "
                            f"name it with label_column. The columns are: {', '.join(map(repr, columns))}.")
        label = min(candidates)[2]
    if text is None:
        others = [c for c in columns if c != label]
        textual = [c for c in others if not df[c].str.strip().str.fullmatch(_NUMBER.pattern).all()] or others
        text = max(textual, key=lambda c: (df[c].str.len().mean(), -columns.index(c)))
    if text == label:
        raise DataError(f"{name}: the text and label columns are both {text!r}; choose two different columns.")
    return text, label
