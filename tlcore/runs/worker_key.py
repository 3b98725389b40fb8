"""What a run expects of the process that trains it: the same engine code, interpreter, installed packages and
settings as a worker started for it now would have. A run records this key when it is queued; a worker that
outlives the command that started it (`TLAB_WORKER_LINGER_S`) takes only runs whose key is its own, so an edit to
the code, a `pip install`, or another `TLAB_FEATURE_BACKEND` never runs on an older process.

Kept free of heavy imports: the command line computes it before it has imported anything else.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # the tlcore package a fresh worker would import
# Variables that say how a worker is run, not what a run computes: the dispatcher sets some of them per
# worker, and the data directory is the same by construction (the run is in its store).
PER_PROCESS = frozenset({"TLAB_MAX_WORKERS", "TLAB_STANDBY_PARENT", "TLAB_STANDBY_WORKER", "TLAB_WORKER_LINGER_S",
                         "TLAB_WORKER_MAX_RUNS", "TLAB_DATA_DIR", "TLAB_ASSIGNED_GPU", "TLAB_STANDBY_WARM"})
PREFIXES = ("TLAB_", "HF_", "TRANSFORMERS_", "TORCH_", "PYTORCH_", "CUDA_", "CUBLAS_", "OMP_", "MKL_")


def code_fingerprint(package: Path = PACKAGE) -> list[str]:
    """Every source file of the engine by path, size and modification time (a few milliseconds for ~140 files)."""
    entries = []
    for path in sorted(package.rglob("*.py")):
        stat = path.stat()
        entries.append(f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}")
    return entries


def installed_packages() -> list[str]:
    """The site-packages folders and their modification times: installing or removing a package changes them."""
    folders = {Path(p).resolve() for p in sys.path if p.rstrip("/").endswith(("site-packages", "dist-packages"))}
    return [f"{p}:{p.stat().st_mtime_ns}" for p in sorted(folders) if p.is_dir()]  # a folder twice on the path: once


def worker_key(env: Mapping[str, str] = os.environ, package: Path = PACKAGE) -> str:
    """A short hash of the code, interpreter, packages and run-affecting environment of this process. The GPU a
    dispatcher gave its worker (`TLAB_ASSIGNED_GPU` set with `CUDA_VISIBLE_DEVICES`) is the worker's, not a run's."""
    skip = PER_PROCESS | ({"CUDA_VISIBLE_DEVICES"} if env.get("TLAB_ASSIGNED_GPU") else set())
    settings = sorted(f"{k}={v}" for k, v in env.items() if k.startswith(PREFIXES) and k not in skip)
    parts = [sys.executable, str(package), *code_fingerprint(package), *installed_packages(), *settings]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
