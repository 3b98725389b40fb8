"""Names a package face offers without importing the modules behind them until one is used.

A face such as `tlcore.models` is what the CLI and the web server import for plain data (model specs); the
modules that build networks import torch, which costs seconds. `lazy_exports` gives the face a module
`__getattr__` (PEP 562) that imports such a name's module on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, homes: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` serving each name in `homes` from the module it maps to."""

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(homes[name]), name)

    return __getattr__
