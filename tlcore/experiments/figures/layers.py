"""The per-depth curve of one pretrained model: how useful each depth's frozen features are for the data."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tlcore.experiments.figures.common import band, layout, series

LOGME_COLOUR, KNN_COLOUR, FREEZE_COLOUR = "#1f77b4", "#ff7f0e", "#2ca02c"


def layer_curve_figure(curve: list[dict], freeze_through: int | None = None) -> go.Figure:
    """LogME (top, band: ±1 SD over resamples) and leave-one-out k-NN accuracy (bottom) at each depth, shallow
    to deep, with the suggested freeze point marked. `curve` rows: depth, logme, logme_sd, knn_loo, knn_sd."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("Usefulness score (LogME, higher is better)",
                                        "How often the nearest examples share the class"))
    x = [c["depth"] for c in curve]
    for row, key, colour, name in ((1, "logme", LOGME_COLOUR, "LogME"), (2, "knn_loo", KNN_COLOUR, "neighbours")):
        y, sd = [c[key] for c in curve], [c[key.replace("_loo", "") + "_sd"] for c in curve]
        if len(x) > 1:
            fig.add_trace(band(x, [v - s for v, s in zip(y, sd)], [v + s for v, s in zip(y, sd)], colour,
                               name=f"{name} ±1 SD", group=key), row=row, col=1)
        fig.add_trace(series(x, y, name=name, hex_colour=colour, group=key), row=row, col=1)
    if freeze_through is not None and 0 <= freeze_through < len(curve) - 1:
        fig.add_trace(go.Scatter(x=[x[freeze_through]], y=[curve[freeze_through]["logme"]], mode="markers+text",
                                 name="freeze up to here", text=["freeze up to here"], textposition="top center",
                                 marker=dict(color=FREEZE_COLOUR, size=13, symbol="star")), row=1, col=1)
    fig.update_xaxes(title="Depth (shallow → deep)", type="category", row=2, col=1)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    return layout(fig, "How useful each depth is for your data", showlegend=True, height=480,
                  legend=dict(orientation="h", y=-0.2))
