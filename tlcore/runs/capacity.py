"""How many runs may train at once on this machine."""

from __future__ import annotations

import os


def default_max_workers() -> int:
    """`TLAB_MAX_WORKERS`, else one per GPU, else one on the CPU (two CPU runs would only slow each other)."""
    if os.environ.get("TLAB_MAX_WORKERS"):
        return max(1, int(os.environ["TLAB_MAX_WORKERS"]))
    import torch  # only here: the count of GPUs; a server that sets TLAB_MAX_WORKERS never imports torch for it
    return max(1, torch.cuda.device_count())
