"""Text tables: CSV/TSV/JSONL, encodings, column detection, skipped rows, and refused inputs."""

from __future__ import annotations

import json

import pytest

from tlcore.core.settings import Limits
from tlcore.data import DataError, load_source

CSV = "id,review,label\n1,great film,pos\n2,awful plot,neg\n3,=SUM(A1:A2),pos\n4,,neg\n5,fine,\n6,-meh,neg\n"


def test_csv_named_columns_skips_empty_rows_and_keeps_formulas(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(CSV, encoding="utf-8")
    ds = load_source(p)
    assert ds.modality == "text" and ds.classes == ["neg", "pos"]
    assert ds.items == ["great film", "awful plot", "=SUM(A1:A2)", "-meh"]
    assert ds.item_names == ["row 2", "row 3", "row 4", "row 7"]
    assert {(s.name, s.reason) for s in ds.skipped} == {("row 5", "empty text"), ("row 6", "empty label")}


def test_tsv_numeric_labels_stay_strings_and_sort_numerically(tmp_path):
    p = tmp_path / "d.tsv"
    rows = ["sentence\ty"] + [f'text "{i}\t{i % 3 * 5}' for i in range(9)]  # stray quote must not merge rows
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ds = load_source(p)
    assert ds.classes == ["0", "5", "10"] and len(ds) == 9
    assert ds.items[0] == 'text "0'


def test_utf8_bom_and_latin1(tmp_path):
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufefftext,label\ncafé crème,a\nnaïve,b\nbrûlée,a\nfaçade,b\n".encode("utf-8"))
    ds = load_source(bom)
    assert ds.items == ["café crème", "naïve", "brûlée", "façade"] and ds.classes == ["a", "b"]
    lat = tmp_path / "lat.csv"
    lat.write_bytes("text,label\ncafé,a\nsmörgåsbord,b\nfiancé,a\nÅngström,b\n".encode("latin-1"))
    assert load_source(lat).items == ["café", "smörgåsbord", "fiancé", "Ångström"]


LEGACY_TABLES = {
    "shift_jis": [("今日はとても良い天気です", "晴れ"), ("雨が降っています", "雨"), ("明日も晴れるでしょう", "晴れ"),
                  ("傘を忘れないでください", "雨")],
    "gbk": [("今天天气很好，阳光明媚", "晴"), ("外面正在下雨，记得带伞", "雨"), ("明天也会是晴天", "晴"),
            ("雨一直下个不停", "雨")],
    "iso8859_2": [("Zażółć gęślą jaźń", "pl"), ("Příliš žluťoučký kůň úpěl ďábelské ódy", "cz"),
                  ("Łódź jest dużym miastem", "pl"), ("České Budějovice leží na jihu", "cz")],
    "cp1250": [("Świetna książka polecam każdemu", "dobra"), ("Źle się czyta i nudna historia", "zła"),
               ("Przepiękna opowieść o przyjaźni", "dobra"), ("Kiepskie tłumaczenie i dużo błędów", "zła")],
    "cp1252": [("“quoted” café – dash", "a"), ("naïve €5", "b"), ("crème brûlée", "a"), ("Ångström", "b")],
}


@pytest.mark.parametrize("encoding", LEGACY_TABLES)
def test_legacy_encodings_are_detected(tmp_path, encoding):
    """Shift-JIS, GBK, Latin-2 (ISO-8859-2 and Windows-1250) and Windows-1252 files read as the same text."""
    rows = LEGACY_TABLES[encoding]
    p = tmp_path / f"{encoding}.csv"
    p.write_bytes(("text,label\n" + "".join(f"{t},{label}\n" for t, label in rows)).encode(encoding))
    ds = load_source(p)
    assert ds.items == [t for t, _ in rows]
    assert sorted(ds.classes) == sorted({label for _, label in rows})


def test_semicolon_delimiter_and_auto_detected_columns(tmp_path):
    p = tmp_path / "x.csv"
    lines = ["id;opinion;grade"] + [f"{i};{'a fairly long piece of writing ' * (1 + i % 2)}{i};{'AB'[i % 2]}"
                                    for i in range(6)]
    p.write_text("\n".join(lines), encoding="utf-8")
    ds = load_source(p)
    assert ds.classes == ["A", "B"] and ds.items[0].startswith("a fairly long")


def test_override_and_unknown_column(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("a,b,c\nx one,1,p\ny two,2,q\nz three,1,p\nw four,2,q\n", encoding="utf-8")
    ds = load_source(p, text_column="a", label_column="c")
    assert ds.classes == ["p", "q"] and ds.items[0] == "x one"
    with pytest.raises(DataError, match=r"no column 'label'.*'a', 'b', 'c'"):
        load_source(p, label_column="label")


def test_jsonl_bad_lines_skipped_and_all_bad_refused(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text("\n".join([json.dumps({"text": "good", "label": 1}), "{not json", "[1, 2]",
                            json.dumps({"text": "bad", "label": 0}), json.dumps({"text": "fine", "label": 1}),
                            json.dumps({"text": "poor", "label": 0}), ""]), encoding="utf-8")
    ds = load_source(p)
    assert ds.classes == ["0", "1"] and ds.item_names == ["line 1", "line 4", "line 5", "line 6"]
    assert {(s.name, s.reason) for s in ds.skipped} >= {("line 2", "not valid JSON")}
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\nnope\n", encoding="utf-8")
    with pytest.raises(DataError, match="no valid JSON lines"):
        load_source(bad)


def test_one_class_refused(tmp_path):
    p = tmp_path / "one.csv"
    p.write_text("text,label\na,x\nb,x\n", encoding="utf-8")
    with pytest.raises(DataError, match="only the class 'x'.*at least 2 classes"):
        load_source(p)


def test_row_limit_and_truncation(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("text,label\n" + "".join(f"{'w' * 50},{i % 2}\n" for i in range(6)), encoding="utf-8")
    with pytest.raises(DataError, match="6 rows; the limit is 5"):
        load_source(p, limits=Limits(max_text_rows=5))
    assert {len(t) for t in load_source(p, limits=Limits(max_text_chars=10)).items} == {10}


@pytest.mark.parametrize("name, words", [
    ("notes.txt", r"is not a \.zip, folder, \.csv, \.tsv or \.jsonl file.*tux-photos"),
    ("data.xlsx", r"spreadsheet.*Save it as CSV"),
    ("archive.tar.gz", r"only \.zip archives are read"),
])
def test_unsupported_extension(tmp_path, name, words):
    p = tmp_path / name
    p.write_bytes(b"x")
    with pytest.raises(DataError, match=words):
        load_source(p)


def test_missing_path_and_unknown_id(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_source(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="built-in ids are: tux-photos"):
        load_source("no-such-dataset")
