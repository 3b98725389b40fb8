"""Plotly figures of a study, shared by the app's Study page and the self-contained HTML report.

Pure functions from the frames of `tlcore.experiments.study.results` to `go.Figure` (no Streamlit, no I/O).
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tlcore.core.strategies import label
from tlcore.experiments.figures.common import band, colour, compact, layout, log_ticks, plain, rgba, series


def _ticks(summary: pd.DataFrame) -> tuple[list[float], list[str]]:
    pairs = summary.drop_duplicates("k_label")[["x", "k_label"]].sort_values("x")
    return pairs["x"].tolist(), [f"all (≈{x:.0f})" if k == "all" else k for x, k in pairs.itertuples(index=False)]


def accuracy_vs_data(summary: pd.DataFrame, cells: pd.DataFrame) -> go.Figure:
    """Test accuracy against training examples per class (log axis): mean, 95 % band, each seed as a dot."""
    fig = go.Figure()
    done = cells[cells["status"] == "succeeded"]
    for strategy, rows in summary.groupby("strategy", sort=False):
        rows = rows.sort_values("x")
        c, name = colour(strategy), label(strategy)
        banded = rows.dropna(subset=["low", "high"])
        if len(banded):
            fig.add_trace(band(banded["x"], banded["low"], banded["high"], c, name=f"{name} 95% band",
                               group=strategy))
        seeds = done[done["strategy"] == strategy]
        fig.add_trace(go.Scatter(x=seeds["x"], y=seeds["test_accuracy"], mode="markers", showlegend=False,
                                 marker=dict(color=rgba(c, 0.45), size=5), legendgroup=strategy,
                                 name=f"{name} (one seed)", hovertemplate="%{y:.1%} (one seed)<extra></extra>"))
        fig.add_trace(series(rows["x"], rows["accuracy"], name=name, hex_colour=c, group=strategy, width=3,
                             dash="dash" if strategy == "knn" else "solid", customdata=rows[["k_label"]],
                             hovertemplate=f"{name}<br>%{{customdata[0]}} per class: %{{y:.1%}}<extra></extra>"))
    tickvals, ticktext = _ticks(summary)
    fig.update_xaxes(type="log", title="Training examples per class (log scale)", tickvals=tickvals,
                     ticktext=ticktext)
    fig.update_yaxes(title="Test accuracy", tickformat=".0%", rangemode="tozero")
    return layout(fig, "Accuracy as the data grows<br><sup>line: mean over seeds · band: 95 % interval · "
                       "small dots: single seeds</sup>", showlegend=True, legend=dict(orientation="h", y=-0.25))


def cost_figure(summary: pd.DataFrame) -> go.Figure:
    """What each strategy costs: accuracy against wall time per run, and against trainable parameters."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=("…against time per run (s)", "…against trainable parameters"))
    for strategy, rows in summary.groupby("strategy", sort=False):
        rows = rows.sort_values("x")
        c, name = colour(strategy), label(strategy)
        text = rows["k_label"].map(lambda k: f"{k}/class")
        for col, x in ((1, rows["wall_seconds"]), (2, rows["trainable_params"].clip(lower=1))):
            fig.add_trace(go.Scatter(x=x, y=rows["accuracy"], mode="markers+text", text=text, textposition="top center",
                                     name=name, legendgroup=strategy, showlegend=col == 1,
                                     marker=dict(color=c, size=10), textfont=dict(size=10)), row=1, col=col)
    for col, values in ((1, summary["wall_seconds"]), (2, summary["trainable_params"].clip(lower=1))):
        ticks = log_ticks(values)
        fig.update_xaxes(type="log", tickvals=ticks, ticktext=list(map(compact, ticks)), row=1, col=col)
    fig.update_yaxes(title="Test accuracy", tickformat=".0%", col=1)
    return layout(fig, "Cost: accuracy per second of training and per trainable parameter<br><sup>no-training "
                       "baselines are drawn at 1 parameter</sup>", margin=dict(l=10, r=10, t=80, b=10))


def per_class_figure(per_class: pd.DataFrame) -> go.Figure:
    """Recall of every class against examples per class, one small chart per class."""
    classes = sorted(per_class["class"].unique())
    cols = min(4, max(1, len(classes)))
    rows_n = max(1, math.ceil(len(classes) / cols))
    fig = make_subplots(rows=rows_n, cols=cols, subplot_titles=[plain(str(c)[:30]) for c in classes],
                        shared_yaxes=True, vertical_spacing=0.12)
    for i, cls in enumerate(classes):
        sub = per_class[per_class["class"] == cls]
        for strategy, rows in sub.groupby("strategy", sort=False):
            rows = rows.sort_values("x")
            trace = series(rows["x"], rows["recall"], name=label(strategy), hex_colour=colour(strategy),
                           group=strategy)
            fig.add_trace(trace.update(showlegend=i == 0), row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(type="log")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    return layout(fig, "Per class: share of each class's test items recognised (recall)",
                  height=260 * rows_n + 80, margin=dict(l=10, r=10, t=80, b=10))
