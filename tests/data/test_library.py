"""Uploads are stored by content in the dataset library, safely, idempotently and within the limits, and are
named by an opaque handle that says nothing about where they are or who uploaded them."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from tlcore.core.errors import DataError
from tlcore.core.settings import Limits
from tlcore.data import library, load_source, store_file, store_folder
from tlcore.data.tables import table_columns


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    return tmp_path


def _png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, format="PNG")
    return buf.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_a_stored_file_is_named_by_its_content_and_stored_once(data_dir):
    a = store_file("my data.csv", b"text,label\nhi,a\n")
    b = store_file("another name.csv", b"text,label\nhi,a\n")
    c = store_file("my data.csv", b"text,label\nho,b\n")
    assert a == b != c and a.ref.startswith("upload:") and library.is_upload_ref(a.ref)
    assert "my data" not in a.ref and "/" not in a.ref  # the handle names neither the file nor a place
    path = library.source_path(a.ref)
    assert path.read_bytes() == b"text,label\nhi,a\n" and path.is_relative_to(data_dir / "datasets")
    assert "my data" not in str(path)  # one stored copy serves every uploader, whatever they called it
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".part-")]


@pytest.mark.parametrize("name", ["../../etc/passwd.csv", "/abs/x.csv", "C:\\evil\\x.csv", "..", "a\x00b.csv"])
def test_a_stored_file_never_leaves_the_library(data_dir, name):
    stored = store_file(name, b"text,label\nhi,a\n")
    assert library.source_path(stored.ref).resolve().is_relative_to((data_dir / "datasets").resolve())


def test_a_zip_is_unpacked_into_the_library_when_stored_and_charged_unpacked(data_dir):
    data = _zip({f"set/{c}/{i}.png": _png(col) for c, col in (("red", (255, 0, 0)), ("blue", (0, 0, 255)))
                 for i in range(3)})
    stored = store_file("photos.zip", data)
    assert stored.kind == "zip" and stored.bytes > len(data)  # the source and the unpacked files
    ds = load_source(stored.ref, name="photos.zip")
    assert ds.classes == ["blue", "red"] and len(ds) == 6 and ds.name == "photos.zip"
    assert not (data_dir / "uploads").exists()  # nothing outside the library


def test_handles_are_checked_and_a_missing_upload_is_explained():
    for bad in ("upload:../../etc", "upload:xyz", "/tmp/x.csv", "upload:" + "A" * 32):
        assert not library.is_upload_ref(bad)
    with pytest.raises(DataError, match="no longer on this server"):
        library.source_path("upload:" + "0" * 32)


def test_store_file_enforces_the_size_limit():
    with pytest.raises(DataError, match="MB"):
        store_file("big.zip", b"x" * 3 * 1024 * 1024, Limits(max_upload_bytes=2 * 1024 * 1024))
    with pytest.raises(DataError, match="empty"):
        store_file("empty.csv", b"")


def test_folder_upload_rebuilds_the_tree_and_loads(data_dir):
    files = [(f"myset/{cls}/{i}.png", _png(colour)) for cls, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255)))
             for i in range(3)]
    stored = store_folder(files)
    assert stored == store_folder(list(reversed(files)))  # order does not matter
    root = library.source_path(stored.ref)
    assert (root / "myset" / "red" / "0.png").read_bytes() == files[0][1]
    ds = load_source(stored.ref)
    assert ds.classes == ["blue", "red"] and len(ds) == 6


@pytest.mark.parametrize("name", ["../cats/1.png", "cats/../../1.png", "/etc/cats/1.png", "C:/x/1.png"])
def test_folder_upload_rejects_escaping_paths(data_dir, name):
    with pytest.raises(DataError):
        store_folder([("ok/1.png", b"a"), (name, b"b")])
    assert not (data_dir / "datasets").exists() or not any((data_dir / "datasets").iterdir())


def test_folder_upload_limits():
    files = [(f"c{i % 2}/{i}.txt", b"hello") for i in range(5)]
    with pytest.raises(DataError, match="limit is 4"):
        store_folder(files, Limits(max_files=4))
    with pytest.raises(DataError, match="MB"):
        store_folder([("a/1.bin", b"x" * (2 * 1024 * 1024))], Limits(max_upload_bytes=1024 * 1024))
    with pytest.raises(DataError, match="empty"):
        store_folder([])
    with pytest.raises(DataError, match="both as a file and as a folder"):
        store_folder([("a", b"1"), ("a/b.txt", b"2")])


def test_table_columns_detects_text_and_label(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,review,stars\n1,great film,5\n2,awful,1\n3,fine,3\n")
    columns, text, label = table_columns(path)
    assert columns == ["id", "review", "stars"]
    assert text == "review"
    assert label in {"id", "stars"}
