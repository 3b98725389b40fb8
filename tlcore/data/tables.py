"""Labelled text from CSV, TSV and JSONL files, with column auto-detection.

Cells are only ever read as strings: labels like "1" stay "1", and cells starting with = + - @ are kept
as plain text (nothing is evaluated).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from tlcore.core.errors import DataError
from tlcore.core.settings import Limits
from tlcore.data.columns import LABEL_NAMES, TEXT_NAMES, detect_columns
from tlcore.data.dataset import Dataset, SkippedItem, content_hash, drop_tiny_classes
from tlcore.data.jsonl import read_jsonl

if TYPE_CHECKING:  # pandas (0.5-0.7 s to import here) only when a table is read: not to check images
    import pandas as pd

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl")
SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx/.ods (zip) and old .xls (OLE2)
BINARY_MAGIC = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
                b"%PDF": "a PDF document", b"\x1f\x8b": "a gzip archive", b"7z\xbc\xaf": "a 7-Zip archive",
                b"Rar!": "a RAR archive", b"RIFF": "a WebP image or a media file"}


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when every other byte is zero (UTF-16 text of mostly Latin letters)."""
    sample = data[:4096]
    if len(sample) < 8:
        return None
    for codec, zeros in (("utf-16-le", sample[1::2]), ("utf-16-be", sample[0::2])):
        if zeros.count(0) >= 0.9 * len(zeros):
            return codec
    return None


def read_text_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode Text"), else the legacy encoding charset-normalizer
    finds (Shift-JIS, GBK, Latin-2, …), else Windows-1252/Latin-1 (never fails)."""
    codec = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else _utf16_without_bom(data)
    for candidate in ([codec] if codec else []) + ["utf-8-sig", legacy_encoding(data), "cp1252"]:
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError, TypeError):  # TypeError: no legacy encoding found
            continue
    return data.decode("latin-1")


# Widely used legacy encodings, most common first. On short texts charset-normalizer cannot tell sibling
# single-byte encodings apart (cp1250, ISO-8859-2/4/10 decode the same Polish bytes with similar "chaos"), so
# among its near-best matches the most common encoding wins; Western European files stay Windows-1252.
COMMON_ENCODINGS = ("cp1252", "iso8859_2", "cp1250", "cp1251", "koi8_r", "iso8859_15", "cp932", "shift_jis",
                    "gb18030", "gbk", "big5", "euc_kr", "euc_jp", "cp1253", "cp1254", "cp1257")
NEAR_BEST_CHAOS = 0.05


def legacy_encoding(data: bytes) -> str | None:
    """The encoding of a non-UTF text according to charset-normalizer, ties broken by COMMON_ENCODINGS."""
    from charset_normalizer import from_bytes

    sample = data if len(data) <= 1_000_000 else data[:data.rfind(b"\n", 0, 1_000_000) + 1 or 1_000_000]
    matches = list(from_bytes(sample))
    if not matches:
        return None
    best = min(m.chaos for m in matches)
    near = {m.encoding for m in matches if m.chaos <= best + NEAR_BEST_CHAOS}
    return next((enc for enc in COMMON_ENCODINGS if enc in near), matches[0].encoding)


def decode_table(data: bytes, name: str) -> str:
    """The text of a table file, or a plain DataError when it is empty or not text at all."""
    if data.startswith(SPREADSHEET_MAGIC):
        raise DataError(f"{name} is not text: it looks like an Excel workbook (or a zip). Save it as CSV (in Excel: "
                        "File › Save As › CSV UTF-8 (Comma delimited)) and use that file.")
    kind = next((k for magic, k in BINARY_MAGIC.items() if data.startswith(magic)), None)
    text = read_text_bytes(data)
    head = text[:65536]
    if kind is None and head.count("\x00") > max(2, len(head) // 100):
        kind = "a binary file"
    if kind:
        raise DataError(f"{name} is not text (it looks like {kind}); give a .csv, .tsv or .jsonl text file with a "
                        "text column and a label column.")
    if not text.strip():
        raise DataError(f"{name} is empty; it needs a header row (e.g. text,label) and one row per example.")
    return text


def class_sort_key(name: str) -> tuple:
    """Integer-looking class names sort numerically ("2" before "10"), then the rest alphabetically."""
    return (0, int(name), "") if re.fullmatch(r"-?\d+", name) else (1, 0, name)


def _separator(text: str, suffix: str) -> tuple[str, int]:
    if suffix == ".tsv":
        return "\t", csv.QUOTE_NONE  # TSV exports rarely quote; a stray " must not swallow rows
    sample = "\n".join(text[:65536].splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter, csv.QUOTE_MINIMAL
    except csv.Error:
        return ",", csv.QUOTE_MINIMAL


def _parse(text: str, sep: str, quoting: int, name: str, header: int | None = 0) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_csv(io.StringIO(text), sep=sep, quoting=quoting, dtype=str, keep_default_na=False,
                           skip_blank_lines=True, header=header, engine="python" if sep != "," else "c")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError) as e:
        raise DataError(_parse_error(str(e), sep, name)) from e


def _parse_error(msg: str, sep: str, name: str) -> str:
    """pandas' parser messages in plain words, with what to do."""
    where = "a tab" if sep == "\t" else repr(sep)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        expected, line, saw = m.groups()
        return (f"{name}: row {line} has {saw} fields but the header has {expected}; put quotes around texts that "
                f"contain {where} (e.g. \"great, fun\",pos) or remove the extra separators.")
    if "EOF inside string" in msg or "unexpected end of data" in msg or "EOF when reading" in msg:
        return (f"{name} has a quote (\") that is never closed, so the rest of the file would be one cell; close "
                "the quote or remove it.")
    first = msg.strip().splitlines()[0] if msg.strip() else "no columns"
    return (f"{name} could not be read as a table ({first}); check that it is a {where}-separated file "
            "with a header row.")


def _headerless(df: pd.DataFrame) -> bool:
    """True when the first row is data, not names: no conventional name, and it repeats a value of its column."""
    names = [str(c).strip().lower() for c in df.columns]
    if any(n in LABEL_NAMES or n in TEXT_NAMES for n in names) or df.empty:
        return False
    return any(str(c).strip() in set(df[c].astype(str).str.strip()) for c in df.columns)


def _read_delimited(text: str, suffix: str, name: str, limits: Limits) -> tuple[pd.DataFrame, int, list[str]]:
    """(table, spreadsheet row number of its first row, notes)."""
    sep, quoting = _separator(text, suffix)
    body = text.strip()
    line_break = re.search(r"\r\n|\r|\n", body)  # not splitlines(): that would copy a 200 MB file
    if line_break is None:
        raise DataError(f"{name} has a single line and no rows; put a header (e.g. text,label) on the first line "
                        "and one example per line below it.")
    columns = body[:line_break.start()].count(sep) + 1
    if columns > limits.max_table_columns:
        raise DataError(f"{name} has more than {limits.max_table_columns:,} columns in its first line; it should "
                        "have a text column and a label column. Check the separator and the line breaks.")
    lines = max(body.count("\n"), body.count("\r")) + 1  # "\r" alone ends lines in old Mac exports, and for pandas
    if columns * lines > limits.max_table_cells:  # checked before pandas builds anything
        raise DataError(f"{name} would make a table of more than {limits.max_table_cells:,} cells ({columns:,} "
                        "columns); keep only the text and label columns, or upload fewer rows.")
    df = _parse(text, sep, quoting, name)
    if not _headerless(df):
        return df, 2, []
    df = _parse(text, sep, quoting, name, header=None)
    df.columns = [f"column {i + 1}" for i in range(df.shape[1])]
    return df, 1, ["the first row looks like data, not a header, so it was kept as an example and the columns "
                   "are called 'column 1', 'column 2'…; add a header row (e.g. text,label) to name them"]


def _read_table(path: Path, limits: Limits,
                name: str) -> tuple[pd.DataFrame, list[str], list[SkippedItem], list[str]]:
    """(table of strings, each row's name for messages, lines skipped, notes) of a .csv/.tsv/.jsonl file."""
    if path.stat().st_size > limits.max_upload_bytes:
        raise DataError(f"{name} is larger than the {limits.max_upload_bytes / 1e6:,.0f} MB upload limit; "
                        "upload fewer rows.")
    text = decode_table(path.read_bytes(), name)
    if path.suffix.lower() == ".jsonl":
        df, numbers, skipped = read_jsonl(text, name, limits)
        return df, [f"line {n}" for n in numbers], skipped, []
    df, first_row, notes = _read_delimited(text, path.suffix.lower(), name, limits)
    df.columns = [str(c) for c in df.columns]
    return df, [f"row {i + first_row}" for i in range(len(df))], [], notes  # spreadsheet numbering


def table_columns(path: Path, limits: Limits | None = None,
                  name: str | None = None) -> tuple[list[str], str | None, str | None]:
    """(columns, detected text column, detected label column) of a table; detections are None if unsure."""
    limits = limits or Limits.from_env()
    path = Path(path)
    df = _read_table(path, limits, name or path.name)[0]
    try:
        tcol, lcol = detect_columns(df, None, None, limits, name or path.name)
    except DataError:
        tcol = lcol = None
    return list(df.columns), tcol, lcol


def load_table(path: Path, *, text_column: str | None = None, label_column: str | None = None,
               limits: Limits | None = None, name: str | None = None) -> Dataset:
    """A text Dataset from a .csv, .tsv or .jsonl file; `name` is what messages call it (default: its file name)."""
    limits = limits or Limits.from_env()
    path = Path(path)
    name = name or path.name
    df, names, skipped, notes = _read_table(path, limits, name)
    if len(df) > limits.max_text_rows:
        raise DataError(f"{name} has {len(df):,} rows; the limit is {limits.max_text_rows:,}. "
                        "Upload a sample of the rows.")
    if df.empty:
        raise DataError(f"{name} has a header but no rows; add one row per example.")
    tcol, lcol = detect_columns(df, text_column, label_column, limits, name)
    if not df[lcol].fillna("").str.strip().any():
        raise DataError(f"{name}: the label column {lcol!r} is empty in every row; fill in a label for each "
                        "row (or choose the column that holds the labels).")
    return build_text_dataset(Path(name).stem, df[tcol].tolist(), df[lcol].tolist(), names, limits, skipped, notes)


def _labelled_rows(texts: list[str], labels: list[str], item_names: list[str],
                   skipped: list[SkippedItem]) -> list[tuple[str, str, str]]:
    """(text, label, name) of every row with both a text and a label; the others go to `skipped`."""
    rows = []
    for t, lab, n in zip(texts, labels, item_names):
        t, lab = ("" if t is None else str(t)).strip(), ("" if lab is None else str(lab)).strip()
        if not lab:
            skipped.append(SkippedItem(n, "empty label"))
        elif not t:
            skipped.append(SkippedItem(n, "empty text"))
        else:
            rows.append((t, lab, n))
    return rows


def build_text_dataset(name: str, texts: list[str], labels: list[str], item_names: list[str],
                       limits: Limits, skipped: list[SkippedItem] | None = None,
                       notes: list[str] | None = None) -> Dataset:
    """Drop rows with empty text/label (recorded as skipped), truncate long texts, map labels to ints.

    Classes with a single example are left out (see `drop_tiny_classes`); every change is noted.
    """
    skipped, notes = list(skipped or []), list(notes or [])
    rows = _labelled_rows(texts, labels, item_names, skipped)
    n_classes = len({lab for _, lab, _ in rows})
    if n_classes > limits.max_classes:
        raise DataError(f"{name} has {n_classes:,} classes; the limit is {limits.max_classes:,}. "
                        "Check that the right column is used as the label.")
    keep, tiny_skipped, tiny_notes = drop_tiny_classes([r[1] for r in rows], [r[2] for r in rows])
    rows = [r for r, k in zip(rows, keep) if k]
    skipped, notes = skipped + tiny_skipped, notes + tiny_notes
    classes = sorted({lab for _, lab, _ in rows}, key=class_sort_key)
    if len(classes) < 2:
        found = f"only the class {classes[0]!r}" if classes else "no class with at least 2 labelled rows"
        raise DataError(f"{name} has {found}; a classifier needs at least 2 classes."
                        + (f" (Also: {tiny_notes[0]}.)" if tiny_notes else ""))
    cut = sum(len(t) > limits.max_text_chars for t, _, _ in rows)
    if cut:
        notes.append(f"{cut:,} text(s) longer than {limits.max_text_chars:,} characters were cut to that length")
    index = {c: i for i, c in enumerate(classes)}
    items = [t[: limits.max_text_chars] for t, _, _ in rows]
    return Dataset(name=name, modality="text", items=items, labels=[index[lab] for _, lab, _ in rows],
                   classes=classes, item_names=[n for _, _, n in rows],
                   item_hashes=[content_hash(t.encode("utf-8")) for t in items], skipped=skipped, notes=notes)
