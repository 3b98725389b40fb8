"""Memory between and within runs in one worker process: release what a run held, and retry a run that
ran out of GPU memory once with half the batch."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import TypeVar

from tlcore.core.errors import ConfigError

T = TypeVar("T")


def out_of_memory() -> tuple[type[BaseException], ...]:
    """torch's out-of-memory errors (torch.cuda.OutOfMemoryError is an alias of torch.OutOfMemoryError in recent
    torch; older ones have only it). Imported when asked: a worker whose run needs no torch never loads it."""
    import torch

    return tuple({getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError), torch.cuda.OutOfMemoryError})


def release_memory() -> None:
    """Collect what the last run left (reference cycles) and hand cached GPU blocks back to the driver."""
    gc.collect()
    torch = sys.modules.get("torch")  # no torch imported: no GPU memory held
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def with_smaller_batch_on_oom(attempt: Callable[[int], T], batch_size: int,
                              on_retry: Callable[[int], None] = lambda smaller: None) -> tuple[T, int]:
    """`attempt(batch_size)`; if the GPU runs out of memory, free it and try once more with half the batch.

    Returns the result and the batch size that produced it. A second out-of-memory (or one at batch size 1)
    becomes a ConfigError saying what to change. `on_retry(smaller)` runs before the second attempt.
    """
    oom = out_of_memory()
    try:
        return attempt(batch_size), batch_size
    except oom:
        pass  # leave the except block first: its traceback keeps the failed attempt's tensors alive
    release_memory()
    smaller = batch_size // 2
    if smaller < 1:
        raise _too_big(batch_size)
    on_retry(smaller)
    try:
        return attempt(smaller), smaller
    except oom:
        pass
    release_memory()
    raise _too_big(smaller)


def _too_big(batch_size: int) -> ConfigError:
    return ConfigError(f"The GPU ran out of memory even at batch size {batch_size}; choose a smaller model, "
                       "image size or batch size.")
