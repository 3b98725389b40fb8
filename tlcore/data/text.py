"""Labelled text from CSV, TSV and JSONL files, with column auto-detection.

Cells are only ever read as strings: labels like "1" stay "1", and cells starting with = + - @ are kept
as plain text (nothing is evaluated).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd

from tlcore.data.dataset import Dataset, SkippedItem, content_hash
from tlcore.errors import DataError
from tlcore.settings import Limits

LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "y")
TEXT_NAMES = ("text", "sentence", "review", "content", "body", "document", "message", "comment")
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def read_text_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Latin-1, which never fails."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def class_sort_key(name: str) -> tuple:
    """Integer-looking class names sort numerically ("2" before "10"), then the rest alphabetically."""
    return (0, int(name), "") if re.fullmatch(r"-?\d+", name) else (1, 0, name)


def _read_delimited(text: str, suffix: str, name: str) -> pd.DataFrame:
    if suffix == ".tsv":
        sep, quoting = "\t", csv.QUOTE_NONE  # TSV exports rarely quote; a stray " must not swallow rows
    else:
        try:
            sep = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
        except csv.Error:
            sep = ","
        quoting = csv.QUOTE_MINIMAL
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, quoting=quoting, dtype=str, keep_default_na=False,
                           skip_blank_lines=True, engine="python" if sep != "," else "c")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else "no columns"
        raise DataError(f"{name} could not be read as a table ({msg}); check that it is a "
                        f"{'tab' if sep == chr(9) else repr(sep)}-separated file with a header row.") from e


def _read_jsonl(text: str, name: str) -> tuple[pd.DataFrame, list[int], list[SkippedItem]]:
    rows: list[dict] = []
    line_numbers: list[int] = []
    skipped: list[SkippedItem] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            skipped.append(SkippedItem(f"line {n}", "not valid JSON"))
            continue
        if not isinstance(obj, dict):
            skipped.append(SkippedItem(f"line {n}", "not a JSON object ({...})"))
            continue
        rows.append({str(k): _cell(v) for k, v in obj.items()})
        line_numbers.append(n)
    if not rows:
        raise DataError(f"{name} has no valid JSON lines; each line must be one object such as "
                        '{"text": "...", "label": "..."}.')
    return pd.DataFrame(rows).fillna(""), line_numbers, skipped


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


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


def table_columns(path: Path, limits: Limits | None = None) -> tuple[list[str], str | None, str | None]:
    """(columns, detected text column, detected label column) of a table; detections are None if unsure."""
    limits = limits or Limits.from_env()
    path = Path(path)
    text = read_text_bytes(path.read_bytes())
    if path.suffix.lower() == ".jsonl":
        df = _read_jsonl(text, path.name)[0]
    else:
        df = _read_delimited(text, path.suffix.lower(), path.name)
    df.columns = [str(c) for c in df.columns]
    try:
        tcol, lcol = detect_columns(df, None, None, limits, path.name)
    except DataError:
        tcol = lcol = None
    return list(df.columns), tcol, lcol


def load_table(path: Path, *, text_column: str | None = None, label_column: str | None = None,
               limits: Limits | None = None) -> Dataset:
    """A text Dataset from a .csv, .tsv or .jsonl file."""
    limits = limits or Limits.from_env()
    path = Path(path)
    suffix = path.suffix.lower()
    if path.stat().st_size > limits.max_upload_bytes:
        raise DataError(f"{path.name} is larger than the {limits.max_upload_bytes / 1e6:,.0f} MB upload limit; "
                        "upload fewer rows.")
    text = read_text_bytes(path.read_bytes())
    skipped: list[SkippedItem] = []
    if suffix == ".jsonl":
        df, numbers, skipped = _read_jsonl(text, path.name)
        names = [f"line {n}" for n in numbers]
    else:
        df = _read_delimited(text, suffix, path.name)
        df.columns = [str(c) for c in df.columns]
        names = [f"row {i + 2}" for i in range(len(df))]  # spreadsheet numbering: the header is row 1
    if len(df) > limits.max_text_rows:
        raise DataError(f"{path.name} has {len(df):,} rows; the limit is {limits.max_text_rows:,}. "
                        "Upload a sample of the rows.")
    if df.empty:
        raise DataError(f"{path.name} has a header but no rows; add one row per example.")
    tcol, lcol = detect_columns(df, text_column, label_column, limits, path.name)
    return build_text_dataset(path.stem, df[tcol].tolist(), df[lcol].tolist(), names, limits, skipped)


def build_text_dataset(name: str, texts: list[str], labels: list[str], item_names: list[str],
                       limits: Limits, skipped: list[SkippedItem] | None = None) -> Dataset:
    """Drop rows with empty text/label (recorded as skipped), truncate long texts, map labels to ints."""
    skipped = list(skipped or [])
    keep_texts, keep_labels, keep_names = [], [], []
    for t, lab, n in zip(texts, labels, item_names):
        t, lab = ("" if t is None else str(t)).strip(), ("" if lab is None else str(lab)).strip()
        if not lab:
            skipped.append(SkippedItem(n, "empty label"))
        elif not t:
            skipped.append(SkippedItem(n, "empty text"))
        else:
            keep_texts.append(t[: limits.max_text_chars])
            keep_labels.append(lab)
            keep_names.append(n)
    classes = sorted(set(keep_labels), key=class_sort_key)
    if len(classes) < 2:
        found = f"only the class {classes[0]!r}" if classes else "no labelled rows"
        raise DataError(f"{name} has {found}; a classifier needs at least 2 classes.")
    if len(classes) > limits.max_classes:
        raise DataError(f"{name} has {len(classes):,} classes; the limit is {limits.max_classes:,}. "
                        "Check that the right column is used as the label.")
    index = {c: i for i, c in enumerate(classes)}
    return Dataset(name=name, modality="text", items=keep_texts, labels=[index[x] for x in keep_labels],
                   classes=classes, item_names=keep_names,
                   item_hashes=[content_hash(t.encode("utf-8")) for t in keep_texts], skipped=skipped)
