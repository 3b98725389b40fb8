"""Shared test setup: never touch the network, and keep every run, cache and store in a temporary folder."""

from __future__ import annotations

import os

import pytest

os.environ["TLAB_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TLAB_WORKER_NICE", "0")
# No standby worker for each app test's fresh server objects (it would import torch in a new process every
# time); tests/runs/test_standby.py and the browser tests' server turn it on.
os.environ.setdefault("TLAB_STANDBY_WORKER", "0")
# A command's worker leaves with it (outside the tests it waits 300 s for the next command): the tests that
# check the waiting worker set this themselves.
os.environ["TLAB_WORKER_LINGER_S"] = "0"
if os.environ.get("PYTEST_XDIST_WORKER"):  # test processes share the cores (make test): one thread each, so that
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TLAB_TORCH_THREADS"):  # their threads do not fight
        os.environ.setdefault(name, "1")


@pytest.fixture(scope="session", autouse=True)
def session_data_dir(tmp_path_factory: pytest.TempPathFactory):
    """One data directory for the whole session, so decoded images and features are cached across tests."""
    path = tmp_path_factory.mktemp("tlab-data")
    # the machine's export cache is not the tests' to write or damage: theirs lives with the session too
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLAB_DATA_DIR", str(path))
        mp.setenv("TLAB_EXPORT_CACHE_DIR", str(tmp_path_factory.mktemp("tlab-exports")))
        yield path


@pytest.fixture(scope="session")
def tiny_image_folder(tmp_path_factory: pytest.TempPathFactory):
    """A learnable folder dataset: 3 classes × 8 images (24 px), each class a differently coloured blob."""
    from tests.support.data import square_images

    colours = {"red": (220, 40, 40), "green": (40, 200, 60), "blue": (40, 60, 220)}
    root = square_images(tmp_path_factory.mktemp("tiny-images"), colours, 8, side=24, square=12)
    return root


@pytest.fixture(scope="session")
def ray_cluster():
    """One real two-node Ray cluster on this machine for every Ray test (skipped only where Ray cannot start)."""
    from tests.support.ray import cluster_or_skip
    yield from cluster_or_skip()
