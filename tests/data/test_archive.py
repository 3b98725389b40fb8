"""Safe zip extraction: unsafe paths, symlinks, bombs and limits are refused and leave nothing behind."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.support.data import png_bytes, zip_entries
from tlcore.core.settings import Limits
from tlcore.data import DataError, load_source
from tlcore.data.archive import extract_zip


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path / "data"))


def _uploads(tmp_path: Path) -> list[Path]:
    """What the dataset library holds (a refused zip leaves nothing there)."""
    up = tmp_path / "data" / "datasets"
    return list(up.iterdir()) if up.exists() else []


@pytest.mark.parametrize("name, words", [
    ("../evil.png", "outside the archive"),
    ("a/../../evil.png", "outside the archive"),
    ("/etc/evil.png", "absolute path"),
    ("C:/evil.png", "drive letter"),
    ("..\\evil.png", "outside the archive"),
])
def test_unsafe_paths_are_refused_and_nothing_is_left(tmp_path, name, words):
    z = zip_entries(tmp_path / "bad.zip", {"cats/a.png": png_bytes(), name: png_bytes()})
    with pytest.raises(DataError, match=words):
        load_source(z)
    assert _uploads(tmp_path) == []
    assert not (tmp_path / "evil.png").exists()


def test_symlink_entry_is_refused(tmp_path):
    z = tmp_path / "link.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("cats/a.png", png_bytes())
        info = zipfile.ZipInfo("cats/link.png")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DataError, match="symbolic link"):
        load_source(z)
    assert _uploads(tmp_path) == []


def test_zip_bomb_ratio_is_refused(tmp_path):
    z = zip_entries(tmp_path / "bomb.zip", {"cats/a.png": png_bytes(), "dogs/zeros.png": b"\0" * (3 * 1024 * 1024)})
    with pytest.raises(DataError, match="zip bombs"):
        load_source(z)


def test_lying_header_sizes_are_caught_while_streaming(tmp_path):
    """Header claims small sizes; the running counter still stops at the real limit."""
    z = zip_entries(tmp_path / "big.zip", {"cats/a.bin": b"x" * 5000, "dogs/b.bin": b"y" * 5000}, zipfile.ZIP_STORED)
    with pytest.raises(DataError, match="the limit is 6 KB"):
        extract_zip(z, Limits(max_uncompressed_bytes=6000), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_too_many_entries(tmp_path):
    z = zip_entries(tmp_path / "many.zip", {f"c{i % 2}/{i}.png": png_bytes() for i in range(6)})
    with pytest.raises(DataError, match="6 files; the limit is 5"):
        load_source(z, limits=Limits(max_files=5))


def test_empty_archive(tmp_path):
    z = zip_entries(tmp_path / "empty.zip", {})
    with pytest.raises(DataError, match="empty"):
        load_source(z)


def test_not_a_zip(tmp_path):
    z = tmp_path / "fake.zip"
    z.write_bytes(b"this is not a zip")
    with pytest.raises(DataError, match="not a readable zip"):
        load_source(z)


def test_nested_archives_and_control_chars_skipped_with_reason_unicode_kept(tmp_path):
    z = zip_entries(tmp_path / "mixed.zip", {
        "cats/a.png": png_bytes((1, 2, 3)), "cats/chat_été.png": png_bytes((4, 5, 6)),
        "dogs/b.png": png_bytes((7, 8, 9)), "dogs/b2.png": png_bytes((7, 8, 8)), "dogs/inner.zip": b"PK..",
        "dogs/bad\x07name.png": png_bytes((9, 9, 9)),
        "__MACOSX/cats/._a.png": b"junk", "cats/.DS_Store": b"junk",
    })
    ds = load_source(z)
    assert sorted(ds.item_names) == ["cats/a.png", "cats/chat_été.png", "dogs/b.png", "dogs/b2.png"]
    reasons = {s.name: s.reason for s in ds.skipped}
    assert "archive inside the archive" in reasons["dogs/inner.zip"]
    assert any("control characters" in r for r in reasons.values())
    assert not any("MACOSX" in n or "DS_Store" in n for n in reasons)


def test_extraction_is_reused(tmp_path):
    z = zip_entries(tmp_path / "ok.zip", {"cats/a.png": png_bytes((1, 1, 1)), "cats/a2.png": png_bytes((1, 1, 2)),
                                          "dogs/b.png": png_bytes((2, 2, 2)), "dogs/b2.png": png_bytes((2, 2, 3)),
                                          "dogs/c.zip": b"x"})
    first = load_source(z)
    (folder,) = _uploads(tmp_path)
    mtime = folder.stat().st_mtime_ns
    second = load_source(z)
    assert _uploads(tmp_path) == [folder] and folder.stat().st_mtime_ns == mtime
    assert second.fingerprint == first.fingerprint
    assert [s.name for s in second.skipped] == [s.name for s in first.skipped] == ["dogs/c.zip"]
