"""What the worker and fault tests share: a tiny run config and a loop that pumps the dispatcher."""

from __future__ import annotations

import time
from collections.abc import Callable

from tlcore.core.config import TrainConfig
from tlcore.runs import Dispatcher


def tiny_config(folder, **changes) -> TrainConfig:
    """A linear probe on a tiny image folder at 32 px: a real run through a worker in a few seconds."""
    values = dict(data=str(folder), model="mobilenet_v2", strategy="linear_probe", epochs=3, image_size=32,
                  batch_size=8, val_fraction=0.2, test_fraction=0.25)
    return TrainConfig(**dict(values, **changes))


def pump_until(predicate: Callable[[], bool], dispatcher: Dispatcher, timeout_s: float = 120.0) -> None:
    """Pump the dispatcher (start queued runs, reap finished workers) until `predicate` holds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        dispatcher.pump()
        time.sleep(0.2)
