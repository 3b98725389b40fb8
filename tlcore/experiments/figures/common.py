"""What every figure shares: the strategies' colours (from the registry), a plain layout, and user text made
safe for plotly, which renders a subset of HTML (`<a href>` included) in labels, ticks and hover text."""

from __future__ import annotations

import html
import math
from typing import Any

import plotly.graph_objects as go

from tlcore.core import strategies

colour = strategies.colour


def rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def plain(text: Any) -> str:
    """User text (class names, file names) as literal text in a figure: no tags, no links."""
    return html.escape(str(text), quote=False)


def layout(fig: go.Figure, title: str, **kwargs: Any) -> go.Figure:
    fig.update_layout(title=title, margin=dict(l=10, r=10, t=50, b=10), **kwargs)
    return fig


def compact(n: float | None) -> str:
    """1.2M, 35.0k, 12."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return ""
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{int(n)}"
