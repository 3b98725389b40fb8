"""Where a run's files live. Kept free of heavy imports (torch, timm) so readers such as the Compare
page's analysis can find artifacts without loading the training stack."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tlcore.core import settings


def runs_root() -> Path:
    return settings.data_dir() / "runs"


def run_dir(run_id: str) -> Path:
    return runs_root() / run_id


def read_json(run_id: str, name: str) -> Any:
    return json.loads((run_dir(run_id) / name).read_text())


def discard_artifacts(run_id: str) -> None:
    """Remove whatever a run that did not succeed left on disk: its folder (a worker killed between
    saving and recording success) and the temporary folders it was being written into."""
    root = runs_root()
    for path in [run_dir(run_id), *root.glob(f".{run_id}.*")] if root.is_dir() else []:
        shutil.rmtree(path, ignore_errors=True)


def log_path(run_id: str) -> Path:
    """The run's log file (the worker's records and anything it printed before logging started)."""
    return settings.data_dir() / "logs" / f"{run_id}.log"


def heartbeat_path(pid: int) -> Path:
    """A waiting standby worker touches this file at every poll: how its server tells waiting from hung."""
    return settings.data_dir() / "workers" / f"standby-{pid}.alive"


def read_artifact(run_id: str, name: str) -> Any | None:
    """A run's JSON artifact, or None when the file is missing or unreadable (e.g. the run was deleted)."""
    try:
        return read_json(run_id, name)
    except (OSError, ValueError):
        return None
