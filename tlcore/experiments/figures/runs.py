"""Figures of one run while it trains."""

from __future__ import annotations

import plotly.graph_objects as go


def live_curve_figure(epochs: list[dict]) -> go.Figure:
    """Validation accuracy and training loss per epoch, small enough for a card."""
    x = [e["epoch"] for e in epochs]
    fig = go.Figure()
    fig.add_scatter(x=x, y=[e.get("val_acc") for e in epochs], name="validation accuracy", mode="lines+markers")
    fig.add_scatter(x=x, y=[e.get("train_loss") for e in epochs], name="training loss", mode="lines", yaxis="y2",
                    line={"dash": "dot"})
    fig.update_layout(height=220, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis={"title": "Epoch", "dtick": 1 if len(x) <= 20 else None},
                      yaxis={"title": "accuracy", "range": [0, 1], "tickformat": ".0%"},
                      yaxis2={"title": "loss", "overlaying": "y", "side": "right", "showgrid": False,
                              "tickformat": ".2f", "nticks": 4},
                      legend={"orientation": "h", "y": -0.35})
    return fig
