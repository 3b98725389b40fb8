"""Hostile tables: encodings, headers, labels, giant lines, formula cells, bad JSON lines, binaries as CSV."""

from __future__ import annotations

from .build import accept, as_file, png, reject, zip_bytes

WORDS = ["great fun", "awful plot", "loved it", "so boring", "brilliant cast", "weak ending", "superb", "dull",
         "a joy", "a mess"]


def rows(labels: list[str], sep: str = ",") -> list[str]:
    """Distinct texts (no accidental duplicates) with the given labels, one row each."""
    return [f"{WORDS[i % len(WORDS)]} number {i}{sep}{lab}" for i, lab in enumerate(labels)]


def csv(lines: list[str], header: str | None = "text,label", newline: str = "\n") -> str:
    return newline.join(([header] if header is not None else []) + lines) + newline


POS_NEG = ["pos", "neg"] * 4
FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1;2)", "-2+3", "@SUM(A1:A2)", "=HYPERLINK(\"http://x\")", "plain"]


def _formula_csv() -> bytes:
    texts = [f"{t} {i}" if i >= len(FORMULAS) else t for i, t in enumerate(FORMULAS * 2)]  # no duplicates
    lines = [f'"{t.replace(chr(34), chr(34) * 2)}",{lab}' for t, lab in zip(texts, ["=1+1", "@risk"] * 6)]
    return csv(lines).encode()


def _jsonl_bad_lines() -> bytes:
    good = [f'{{"text": "{WORDS[i]} {i}", "label": "{"pos" if i % 2 else "neg"}"}}' for i in range(8)]
    bad = ["{not json}", '["a", "list"]', "42", '{"text": "trailing comma", "label": "pos",}', "\x00\x01binary"]
    return "\n".join(good[:4] + bad + good[4:]).encode()


def _xlsx() -> bytes:
    return zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                      "xl/worksheets/sheet1.xml": b"<worksheet/>"})


CASES = [
    accept("csv-latin1", as_file("latin1.csv", csv(rows(["café", "thé"] * 3)).encode("latin-1")),
           classes=("café", "thé")),
    accept("csv-utf8-bom", as_file("bom.csv", ("\ufeff" + csv(rows(POS_NEG))).encode()), classes=("neg", "pos")),
    accept("tsv-utf16-excel-unicode-text", as_file("excel.tsv", ("\ufeff" + csv(rows(["ja", "nein"] * 3, "\t"),
                                                                                "text\tlabel", "\r\n")).encode("utf-16-le")),
           classes=("ja", "nein")),
    accept("csv-no-header", as_file("noheader.csv", csv(rows(POS_NEG), header=None)), "header",
           classes=("neg", "pos")),
    accept("csv-missing-labels", as_file("gaps.csv", csv(rows(POS_NEG + ["", "  ", ""]))), "empty label",
           classes=("neg", "pos")),
    accept("csv-short-rows", as_file("short.csv", csv(rows(POS_NEG) + ["no label field here", "another one"])),
           "empty label", classes=("neg", "pos")),
    reject("csv-all-labels-empty", as_file("nolabels.csv", csv(rows([""] * 8))), "label", "empty"),
    reject("csv-single-giant-line", as_file("giant.csv", ("word," * 600_000).encode()), "no rows"),
    reject("csv-thousands-of-columns", as_file("wide.csv", "\n".join(",".join(f"{c}{i}" for i in range(5000))
                                                                      for c in "hxy")), "columns", "separator"),
    accept("csv-giant-cell", as_file("cell.csv", csv(rows(POS_NEG) + [f"{'x' * 3_000_000},pos"])), "cut",
           classes=("neg", "pos")),
    accept("csv-numeric-labels", as_file("numbers.csv", csv(rows(["1", "2", "10"] * 3))), classes=("1", "2", "10")),
    accept("csv-formula-cells", as_file("formulas.csv", _formula_csv()), classes=("=1+1", "@risk")),
    accept("jsonl-bad-lines", as_file("bad.jsonl", _jsonl_bad_lines()), "not valid json", classes=("neg", "pos")),
    reject("jsonl-all-bad", as_file("allbad.jsonl", b"{oops}\n[1, 2]\nnull\n"), "no valid json lines"),
    accept("jsonl-deeply-nested-line", as_file("deep.jsonl", _jsonl_bad_lines() + b"\n" + b"[" * 200_000),
           "not valid json", classes=("neg", "pos")),
    reject("csv-is-a-png", as_file("photo.csv", png(1, (32, 32))), "not text"),
    reject("csv-is-an-excel-file", as_file("sheet.csv", _xlsx()), "excel", "csv"),
    reject("xlsx-workbook", as_file("sheet.xlsx", _xlsx()), "excel", "csv utf-8"),
    reject("csv-zero-bytes", as_file("zero.csv", b""), "empty"),
    reject("csv-header-only", as_file("header.csv", b"text,label\n"), "no rows"),
    reject("csv-one-column", as_file("one.csv", "\n".join(["text"] + WORDS).encode()), "only the column"),
    reject("csv-one-class", as_file("oneclass.csv", csv(rows(["pos"] * 6))), "only the class"),
    accept("csv-class-with-one-item", as_file("tiny.csv", csv(rows(POS_NEG + ["meh"]))), "meh", "only 1",
           classes=("neg", "pos")),
    reject("csv-too-many-rows", as_file("rows.csv", csv(rows(POS_NEG * 4))), "32 rows", "limit is 20",
           TLAB_MAX_TEXT_ROWS="20"),
    reject("csv-thousands-of-classes", as_file("ids.csv", csv(rows([f"id{i}" for i in range(3000)]))),
           "3,000 classes", "limit"),
    accept("csv-hundreds-of-tiny-classes", as_file("tiny-classes.csv", csv(rows([f"c{i % 300}" for i in range(600)]))),
           "300 classes have fewer than 5 examples"),
    reject("csv-unterminated-quote", as_file("quote.csv", csv(['"great fun, pos'] + rows(POS_NEG))), "quote"),
    reject("csv-ragged-rows", as_file("ragged.csv", csv(rows(POS_NEG) + ["great, fun, pos"])), "row 10", "3 fields"),
    accept("csv-semicolons", as_file("excel-eu.csv", csv(rows(POS_NEG, ";"), "text;label", "\r\n").encode("cp1252")),
           classes=("neg", "pos")),
    accept("csv-old-mac-newlines", as_file("mac.csv", csv(rows(POS_NEG), newline="\r")), classes=("neg", "pos")),
    accept("csv-duplicates-across-labels", as_file("dups.csv", csv(rows(POS_NEG) + ["great fun number 0,neg"])),
           "different labels", classes=("neg", "pos")),
]
