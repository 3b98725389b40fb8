"""Commands that only read the run store start without torch, timm or transformers: on a shared 2-core CPU a
cold `import torch` alone takes seconds (`python -X importtime -m tlcore runs list` shows what is imported)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO
from tlcore.runs.store import RunStore

HEAVY = ("torch", "torchvision", "timm", "transformers")
PROBE = """
import runpy, sys
sys.argv = ["tlcore", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("tlcore", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
print("HEAVY", ",".join(m for m in {heavy!r} if m in sys.modules) or "-", "EXIT", code)
"""


def heavy_modules_after(args: list[str], data_dir: Path, heavy: tuple[str, ...] = HEAVY) -> tuple[str, str]:
    env = dict(os.environ, TLAB_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=heavy), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    last = proc.stdout.strip().splitlines()[-1]
    _, heavy, _, code = last.split()
    return heavy, code


@pytest.fixture(scope="module")
def store_with_a_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data_dir = tmp_path_factory.mktemp("lean")
    store = RunStore(data_dir / "runs.sqlite3")  # where the commands below find it
    return data_dir, store.create_run({"data": "digits", "model": "mobilenet_v2", "strategy": "linear_probe"})


@pytest.mark.parametrize("args", [["runs", "list"], ["runs", "list", "--json"], ["runs", "show", "{run}"],
                                  ["runs", "show", "no-such-run"], ["datasets"],
                                  # checks the data and the model, then refuses: what `train` does before queueing
                                  ["train", "--data", "digits", "--model", "minilm-l6"]])
def test_store_commands_do_not_import_torch(args, store_with_a_run):
    data_dir, run_id = store_with_a_run
    heavy, code = heavy_modules_after([a.format(run=run_id) for a in args], data_dir)
    assert heavy == "-", f"`tlcore {' '.join(args)}` imported {heavy}"
    assert code == ("2" if "no-such-run" in args or "train" in args else "0")


def test_checking_images_for_a_run_does_not_import_pandas(tmp_path, tiny_image_folder):
    """pandas (0.5-0.7 s here) is for tables and comparisons: `train` on images checks the data and the model
    without it (here it then refuses the pairing, as it would queue the run otherwise)."""
    heavy, code = heavy_modules_after(["train", "--data", str(tiny_image_folder), "--model", "minilm-l6"], tmp_path,
                                      heavy=("pandas", *HEAVY))
    assert (heavy, code) == ("-", "2")
