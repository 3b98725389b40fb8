"""JSON helpers shared by the store, artifacts and CLI."""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    """Standard JSON has no NaN/inf: turn them into None (e.g. validation loss without a validation split);
    numpy scalars and arrays become plain Python values."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
