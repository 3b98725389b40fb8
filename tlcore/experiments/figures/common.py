"""What every figure shares: the strategies' colours (from the registry), a plain layout, user text made
safe for plotly (which renders a subset of HTML, `<a href>` included, in labels, ticks and hover text), and
the two trace builders every line chart uses.

`band` and `series` exist so that no chart can draw unexplained dots: plotly's default scatter mode adds
markers to short traces, so a shaded band without `mode="lines"` shows its outline as coloured dots, and a
one-point line (a linear probe has one "epoch") is a lone dot without a name. Every scatter trace here sets
its mode; a band is lines-only; a single point becomes a labelled marker with a legend entry.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from tlcore.core import strategies

colour = strategies.colour
MARGIN = dict(l=10, r=10, t=60, b=10)


def rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def plain(text: Any) -> str:
    """User text (class names, file names) as literal text in a figure: no tags, no links."""
    return html.escape(str(text), quote=False)


def layout(fig: go.Figure, title: str, **kwargs: Any) -> go.Figure:
    """Title, and tight margins that still grow to fit tick labels and axis titles (never clipped)."""
    fig.update_layout(title=title, **{"margin": MARGIN, **kwargs})
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def band(x: Sequence[float], low: Sequence[float], high: Sequence[float], hex_colour: str, *, name: str,
         group: str) -> go.Scatter:
    """A shaded range from `low` to `high` along `x`: lines-only, no outline, no legend entry, no hover."""
    x = list(x)
    return go.Scatter(x=x + x[::-1], y=list(high) + list(low)[::-1], mode="lines", fill="toself",
                      fillcolor=rgba(hex_colour, 0.18), line=dict(width=0, color=rgba(hex_colour, 0)),
                      hoverinfo="skip", showlegend=False, name=name, legendgroup=group)


def series(x: Sequence[Any], y: Sequence[Any], *, name: str, hex_colour: str, group: str, width: float = 2,
           dash: str = "solid", **kwargs: Any) -> go.Scatter:
    """A named line with its points; a single point is drawn as a bigger labelled marker, still in the legend."""
    x, y = list(x), list(y)
    if len(x) == 1:
        return go.Scatter(x=x, y=y, mode="markers+text", name=name, legendgroup=group, showlegend=True,
                          marker=dict(color=hex_colour, size=11, symbol="diamond"), text=[name],
                          textposition="middle right", textfont=dict(color=hex_colour), **kwargs)
    return go.Scatter(x=x, y=y, mode="lines+markers", name=name, legendgroup=group, showlegend=True,
                      line=dict(color=hex_colour, width=width, dash=dash), marker=dict(size=5), **kwargs)


def log_ticks(values: Sequence[float]) -> list[float]:
    """Tick positions for a log axis over `values`: 1-2-5 steps, at most six, so minor ticks never crowd
    the axis with labels."""
    finite = [v for v in values if v and v > 0 and math.isfinite(v)]
    if not finite:
        return []
    lo, hi = math.floor(math.log10(min(finite))), math.ceil(math.log10(max(finite)))
    for steps in ((1, 2, 5), (1, 3), (1,)):
        ticks = [m * 10 ** e for e in range(lo, hi + 1) for m in steps
                 if min(finite) / 1.5 <= m * 10 ** e <= max(finite) * 1.5]
        if len(ticks) <= 6:
            return ticks
    return ticks[::math.ceil(len(ticks) / 6)]


def compact(n: float | None) -> str:
    """1.2M, 35.0k, 12."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return ""
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    if n < 1:
        return f"{n:g}"
    return f"{int(n)}"
