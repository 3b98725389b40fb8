"""Caches stay under their disk budget: the least recently used files go first, never the one just written."""

import os
import time
from pathlib import Path

from tlcore.core import diskcache


def _write(path, n_bytes, last_used):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * n_bytes)
    os.utime(path, (last_used, last_used))


def test_eviction_removes_the_least_recently_used_files_first(tmp_path):
    now = time.time()
    old, middle, recent = tmp_path / "a", tmp_path / "features" / "b", tmp_path / "c"
    _write(old, 400, now - 300)
    _write(middle, 400, now - 200)
    _write(recent, 400, now - 100)
    diskcache.touch(old)  # a hit makes the oldest file the most recently used
    assert diskcache.evict(tmp_path, max_bytes=800) == 400
    assert old.exists() and recent.exists() and not middle.exists()
    assert diskcache.evict(tmp_path, max_bytes=0, keep=recent) == 400 and recent.exists() and not old.exists()


def test_a_stored_file_is_whole_and_the_cache_shrinks_to_its_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TLAB_MAX_CACHE_MB", "1")
    root = diskcache.cache_root()
    for i in range(3):
        diskcache.store(root / f"{i}.bin", lambda tmp: Path(tmp).write_bytes(b"y" * 400_000))
        time.sleep(0.01)
    names = sorted(p.name for p in root.iterdir())
    assert names == ["1.bin", "2.bin"] and all((root / n).stat().st_size == 400_000 for n in names)


def test_downloaded_weights_kept_under_the_cache_folder_are_never_evicted(tmp_path):
    now = time.time()
    weights = tmp_path / "torch" / "hub" / "checkpoints" / "mobilenet_v2.pth"
    hub_blob = tmp_path / "huggingface" / "hub" / "models--x" / "blobs" / "abc"
    features = tmp_path / "features" / "f.safetensors"
    for path in (weights, hub_blob, features):
        _write(path, 400, now - 1000)
    assert diskcache.evict(tmp_path, max_bytes=0) == 400
    assert weights.exists() and hub_blob.exists() and not features.exists()
