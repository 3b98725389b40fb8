"""Shared test setup: never touch the network, and keep every run, cache and store in a temporary folder."""

from __future__ import annotations

import os

import pytest

os.environ["TLAB_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TLAB_WORKER_NICE", "0")


@pytest.fixture(scope="session", autouse=True)
def session_data_dir(tmp_path_factory: pytest.TempPathFactory):
    """One data directory for the whole session, so decoded images and features are cached across tests."""
    path = tmp_path_factory.mktemp("tlab-data")
    old = os.environ.get("TLAB_DATA_DIR")
    os.environ["TLAB_DATA_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("TLAB_DATA_DIR", None)
    else:
        os.environ["TLAB_DATA_DIR"] = old


@pytest.fixture(scope="session")
def tiny_image_folder(tmp_path_factory: pytest.TempPathFactory):
    """A learnable folder dataset: 3 classes × 8 images (24 px), each class a differently coloured blob."""
    import numpy as np
    from PIL import Image

    root = tmp_path_factory.mktemp("tiny-images")
    rng = np.random.default_rng(0)
    colours = {"red": (220, 40, 40), "green": (40, 200, 60), "blue": (40, 60, 220)}
    for name, colour in colours.items():
        (root / name).mkdir()
        for i in range(8):
            arr = rng.integers(90, 160, size=(24, 24, 3)).astype(np.uint8)
            y, x = rng.integers(0, 12, size=2)
            arr[y:y + 12, x:x + 12] = colour
            Image.fromarray(arr).save(root / name / f"{i}.png")
    return root


@pytest.fixture(scope="session")
def ray_cluster():
    """One real two-node Ray cluster on this machine for every Ray test (skipped only where Ray cannot start)."""
    from tests.support.ray import cluster_or_skip
    yield from cluster_or_skip()
