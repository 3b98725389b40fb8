"""Figures of a dataset before any training."""

from __future__ import annotations

import plotly.graph_objects as go

from tlcore.experiments.figures.common import colour, layout, plain


def class_balance_figure(counts: dict[str, int]) -> go.Figure:
    """Examples per class, in the dataset's class order."""
    fig = go.Figure(go.Bar(x=[plain(c) for c in counts], y=list(counts.values()), name="Examples",
                           text=list(counts.values()),
                           textposition="outside", marker_color=colour("linear_probe"),
                           hovertemplate="%{x}: %{y} examples<extra></extra>"))
    fig.update_xaxes(title="Class")
    fig.update_yaxes(title="Examples", rangemode="tozero")
    return layout(fig, "Examples per class", showlegend=False)
