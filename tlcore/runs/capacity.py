"""How many runs may train at once on this machine."""

from __future__ import annotations

import os

from tlcore.train.device import cuda_device_count


def default_max_workers() -> int:
    """`TLAB_MAX_WORKERS`, else one per GPU, else one on the CPU (two CPU runs would only slow each other)."""
    if os.environ.get("TLAB_MAX_WORKERS"):
        return max(1, int(os.environ["TLAB_MAX_WORKERS"]))
    return max(1, cuda_device_count())  # asked without importing torch into a server (see tlcore.train.device)
