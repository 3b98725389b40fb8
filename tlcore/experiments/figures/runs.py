"""Figures of one run while it trains."""

from __future__ import annotations

import plotly.graph_objects as go

from tlcore.experiments.figures.common import series

ACCURACY_COLOUR, LOSS_COLOUR = "#1f77b4", "#7f7f7f"


def live_curve_figure(epochs: list[dict]) -> go.Figure:
    """Validation accuracy and training loss per epoch, small enough for a card. A run without a training
    loss (a linear probe is solved, not stepped) gets no loss axis at all, not an empty one."""
    x = [e["epoch"] for e in epochs]
    fig = go.Figure()
    accuracy = series(x, [e.get("val_acc") for e in epochs], name="validation accuracy", hex_colour=ACCURACY_COLOUR,
                      group="val_acc")
    fig.add_trace(accuracy.update(text=None, mode="lines+markers" if len(x) > 1 else "markers"))  # the legend names it
    losses = [e.get("train_loss") for e in epochs]
    has_loss = any(v is not None for v in losses)
    if has_loss:
        loss = series(x, losses, name="training loss", hex_colour=LOSS_COLOUR, group="loss", dash="dot")
        fig.add_trace(loss.update(yaxis="y2", text=None, mode="lines+markers" if len(x) > 1 else "markers"))
    fig.update_layout(height=220, margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=True,
                      xaxis={"title": "Epoch", "dtick": 1 if len(x) <= 20 else None, "automargin": True},
                      yaxis={"title": "accuracy", "range": [0, 1.05], "tickformat": ".0%", "automargin": True},
                      legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"})
    if has_loss:
        fig.update_layout(yaxis2={"title": "loss", "overlaying": "y", "side": "right", "showgrid": False,
                                  "tickformat": ".2f", "nticks": 4, "rangemode": "tozero", "automargin": True})
    return fig
