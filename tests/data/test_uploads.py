"""Uploaded files and folders are stored safely, idempotently and within the limits."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tlcore.core.errors import DataError
from tlcore.core.settings import Limits
from tlcore.data import load_source, save_folder_upload, save_upload
from tlcore.data.tables import table_columns


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    return tmp_path


def _png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, format="PNG")
    return buf.getvalue()


def test_save_upload_is_content_addressed_and_idempotent(data_dir):
    a = save_upload("my data.csv", b"text,label\nhi,a\n")
    b = save_upload("my data.csv", b"text,label\nhi,a\n")
    c = save_upload("my data.csv", b"text,label\nho,b\n")
    assert a == b != c
    assert a.read_bytes() == b"text,label\nhi,a\n"
    assert a.is_relative_to(data_dir / "uploads") and a.name == "my data.csv"
    assert not [p for p in a.parent.iterdir() if p.name.startswith(".part-")]


@pytest.mark.parametrize("name", ["../../etc/passwd.csv", "/abs/x.zip", "C:\\evil\\x.zip", "..", "a\x00b.csv"])
def test_save_upload_never_leaves_the_uploads_folder(data_dir, name):
    path = save_upload(name, b"x")
    assert path.resolve().is_relative_to((data_dir / "uploads").resolve())
    assert path.parent.parent == data_dir / "uploads"


def test_save_upload_enforces_the_size_limit():
    with pytest.raises(DataError, match="MB"):
        save_upload("big.zip", b"x" * 3 * 1024 * 1024, Limits(max_upload_bytes=2 * 1024 * 1024))
    with pytest.raises(DataError, match="empty"):
        save_upload("empty.csv", b"")


def test_folder_upload_rebuilds_the_tree_and_loads(data_dir):
    files = [(f"myset/{cls}/{i}.png", _png(colour)) for cls, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255)))
             for i in range(3)]
    root = save_folder_upload(files)
    assert root == save_folder_upload(list(reversed(files)))  # order does not matter
    assert (root / "myset" / "red" / "0.png").read_bytes() == files[0][1]
    ds = load_source(str(root))
    assert ds.classes == ["blue", "red"] and len(ds) == 6


@pytest.mark.parametrize("name", ["../cats/1.png", "cats/../../1.png", "/etc/cats/1.png", "C:/x/1.png"])
def test_folder_upload_rejects_escaping_paths(data_dir, name):
    with pytest.raises(DataError):
        save_folder_upload([("ok/1.png", b"a"), (name, b"b")])
    assert not (data_dir / "uploads").exists() or not any((data_dir / "uploads").iterdir())


def test_folder_upload_limits():
    files = [(f"c{i % 2}/{i}.txt", b"hello") for i in range(5)]
    with pytest.raises(DataError, match="limit is 4"):
        save_folder_upload(files, Limits(max_files=4))
    with pytest.raises(DataError, match="MB"):
        save_folder_upload([("a/1.bin", b"x" * (2 * 1024 * 1024))], Limits(max_upload_bytes=1024 * 1024))
    with pytest.raises(DataError, match="empty"):
        save_folder_upload([])
    with pytest.raises(DataError, match="both as a file and as a folder"):
        save_folder_upload([("a", b"1"), ("a/b.txt", b"2")])


def test_table_columns_detects_text_and_label(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,review,stars\n1,great film,5\n2,awful,1\n3,fine,3\n")
    columns, text, label = table_columns(path)
    assert columns == ["id", "review", "stars"]
    assert text == "review"
    assert label in {"id", "stars"}
