"""Explicit, environment-overridable settings: where data lives and the limits on what users upload.

Every limit is a named setting (env var `TLAB_<NAME>`) so a host can tighten it without code changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    # absolute, so worker processes (started in another directory) find the same place
    return (Path(value).expanduser() if value else default).absolute()


def _switched_on(name: str) -> bool:
    """A switch that is on unless its variable says `0`, `false`, `no` or `off`."""
    return os.environ.get(name, "1").strip().lower() not in {"0", "false", "no", "off"}


def data_dir() -> Path:
    """Root for the run store, uploads, decoded-input caches and run artifacts (`TLAB_DATA_DIR`)."""
    return _env_path("TLAB_DATA_DIR", Path.home() / ".local" / "share" / "transfer-lab")


def builtin_dir() -> Path:
    """Where optional built-in datasets from Debian packages are unpacked (`TLAB_BUILTIN_DIR`)."""
    return _env_path("TLAB_BUILTIN_DIR", Path.home() / ".cache" / "transfer-lab" / "builtin")


def export_cache_dir() -> Path:
    """Where frozen bodies exported for ONNX Runtime are kept (`TLAB_EXPORT_CACHE_DIR`). An export depends only
    on the model's weights, the input size and the library versions, never on anyone's data, so one per machine
    serves every data directory, like the downloaded weights next to it."""
    return _env_path("TLAB_EXPORT_CACHE_DIR", Path.home() / ".cache" / "transfer-lab" / "exports")


def offline_forced() -> bool:
    """True when the network must not be tried at all (`TLAB_OFFLINE=1` or `HF_HUB_OFFLINE=1`)."""
    flags = ("TLAB_OFFLINE", "HF_HUB_OFFLINE")
    return any(os.environ.get(k, "").strip().lower() in {"1", "true", "yes"} for k in flags)


def torch_threads(default: int) -> int:
    """Threads a run trains with (`TLAB_TORCH_THREADS`; else `default`: the CPUs a worker may use). The same
    config trains to the same numbers with the same thread count; another count changes the last bits of
    float sums, and with them, on tiny data, a prediction or two."""
    value = os.environ.get("TLAB_TORCH_THREADS", "").strip()
    return max(1, int(value) if value.isdigit() else default)


def worker_nice() -> int:
    """How much lower than the server's the priority of training and analysis processes is (`TLAB_WORKER_NICE`,
    default 10), so the pages stay responsive on a shared CPU."""
    value = os.environ.get("TLAB_WORKER_NICE", "").strip()
    return int(value) if value.lstrip("-").isdigit() else 10


def standby_worker() -> bool:
    """`TLAB_STANDBY_WORKER` (default on): the app keeps one worker started and warm (torch and the model
    libraries imported), so a run begins at once instead of after a 10 s worker start. `0` turns it off."""
    return _switched_on("TLAB_STANDBY_WORKER")


def worker_linger_s() -> float:
    """`TLAB_WORKER_LINGER_S` (default 300): how long the worker a command line started stays, warm, after the
    command is gone, for the next command's runs (queued with the same code and settings); `0`: it leaves with
    its command."""
    value = os.environ.get("TLAB_WORKER_LINGER_S", "").strip()
    try:
        return max(0.0, float(value)) if value else 300.0
    except ValueError:
        return 300.0


def cpu_bf16() -> bool:
    """`TLAB_CPU_BF16` (default on): on a CPU with bfloat16 matrix instructions, runs that train layers train under
    bfloat16 autocast, as on a GPU (`tlcore.train.defaults`); `0` keeps every CPU run in float32."""
    return _switched_on("TLAB_CPU_BF16")


def weights_mirror() -> str | None:
    """Base URL that serves torch hub checkpoints by file name instead of download.pytorch.org
    (`TLAB_WEIGHTS_MIRROR`, for hosts behind a firewall); None to use the library's own URL."""
    value = os.environ.get("TLAB_WEIGHTS_MIRROR", "").strip()
    return value.rstrip("/") or None


def mlflow_uri() -> str | None:
    """MLflow tracking URI every run is also logged to (`TLAB_MLFLOW_URI`, e.g. `sqlite:///mlflow.db`, a
    `file:` folder or an MLflow server); None (the default) logs nowhere but the run store."""
    return os.environ.get("TLAB_MLFLOW_URI", "").strip() or None


def proxy_hops() -> int | None:
    """How many reverse proxies stand in front of the app (`TLAB_PROXY_HOPS`), each appending the address it saw
    to X-Forwarded-For; None (unset) means one when the connection comes from this machine, else none."""
    raw = os.environ.get("TLAB_PROXY_HOPS", "").strip()
    return int(raw) if raw else None


@dataclass(frozen=True)
class Limits:
    """Limits on user-supplied data, on each workspace and on the whole server. Sizes in bytes unless named
    otherwise. Each is an explicit setting (`TLAB_<NAME>`), so a host can tighten it without code changes."""

    # what one upload may be
    max_upload_bytes: int = 200 * 1024 * 1024
    max_files: int = 20_000
    max_uncompressed_bytes: int = 1024 * 1024 * 1024
    max_compression_ratio: int = 200
    ratio_check_min_bytes: int = 1024 * 1024  # tiny files (a blank PNG) legitimately compress far better than 200:1
    max_image_pixels: int = 40_000_000  # one image
    max_dataset_pixels: int = 2_000_000_000  # all images of a dataset together (2,000 photos of 1 megapixel…)
    max_text_rows: int = 200_000
    max_text_chars: int = 100_000
    max_classes: int = 1_000
    max_table_columns: int = 1_000  # a "header" wider than this is not a table of texts and labels
    max_table_cells: int = 4_000_000  # rows × columns of a table, checked before it is parsed
    max_json_depth: int = 20  # nesting of one JSONL value (a text-and-label row needs 1)
    # what one workspace may do
    max_queued_per_workspace: int = 30  # runs waiting or running at once (the queue is shared by everyone)
    max_workspace_mb: int = 4_000  # uploads (unpacked) + trained models of one workspace
    app_run_seconds: int = 1_800  # a run started from the app stops training after this long (keeps its best)
    # what the whole server allows
    max_queued_total: int = 200  # runs waiting or running, all workspaces together
    max_disk_mb: int = 50_000  # uploads + trained models + caches in the data directory
    max_cache_mb: int = 10_000  # decoded images, frozen features, splits; least recently used files go first
    max_new_workspaces_per_hour: int = 30  # per client address
    max_queued_per_client: int = 60  # runs waiting or running from all the workspaces one client address opened
    max_shared_predictions_per_hour: int = 60  # per client address: share-link viewers trying the shared models

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, each overridable by `TLAB_<FIELD_NAME_UPPER>` (an integer)."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"TLAB_{f.name.upper()}")
            if raw:
                values[f.name] = int(raw)
        return cls(**values)
