"""Figures of one comparison: pure functions from the tables of `tlcore.experiments.comparison` to `go.Figure`.

No Streamlit here, so they are easy to test. The template is left to Streamlit's theme (light or dark);
each strategy keeps one fixed colour on every chart.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tlcore.core.strategies import label
from tlcore.experiments.figures.common import colour, compact, layout, plain, rgba

X_TITLES = {"epoch": "Epoch", "elapsed": "Training time (s)"}


def curves_figure(bands: pd.DataFrame, x: str = "epoch") -> go.Figure:
    """Validation accuracy per strategy: a line for the mean over seeds, shaded from the worst to the best seed."""
    fig = go.Figure()
    for strategy, part in bands.groupby("strategy", sort=False):
        part = part.sort_values(x)
        c = colour(strategy)
        has_band = part["n"].max() >= 2 and bool(((part["high"] - part["low"]).fillna(0) > 0).any())
        if has_band:
            fig.add_trace(go.Scatter(
                x=list(part[x]) + list(part[x])[::-1], y=list(part["high"]) + list(part["low"])[::-1],
                fill="toself", fillcolor=rgba(c, 0.18), line=dict(width=0), hoverinfo="skip",
                name=f"{label(strategy)} (95% band)", legendgroup=strategy, showlegend=False))
        fig.add_trace(go.Scatter(
            x=part[x], y=part["mean"], mode="lines+markers", name=label(strategy), legendgroup=strategy,
            line=dict(color=c, width=2), marker=dict(size=5), customdata=part["n"],
            hovertemplate="%{y:.1%} (mean of %{customdata} seed(s))<extra>" + label(strategy) + "</extra>"))
    fig.update_yaxes(title="Validation accuracy", tickformat=".0%", range=[0, 1.05], dtick=0.2)
    fig.update_xaxes(title=X_TITLES.get(x, x))
    title = "Validation accuracy by epoch" if x == "epoch" else "Validation accuracy over training time"
    return layout(fig, title, hovermode="x unified", legend=dict(orientation="h", y=-0.2))


def final_accuracy_figure(final: pd.DataFrame) -> go.Figure:
    """Mean test accuracy per strategy with 95% interval error bars and value labels."""
    low = (final["accuracy"] - final["low"]).fillna(0).clip(lower=0)
    high = (final["high"] - final["accuracy"]).fillna(0).clip(lower=0)
    text = [f"{a:.0%}" + ("" if math.isnan(lo) else f" ({lo:.0%}–{hi:.0%})")
            for a, lo, hi in zip(final["accuracy"], final["low"], final["high"])]
    fig = go.Figure(go.Bar(
        x=[label(s) for s in final["strategy"]], y=final["accuracy"], name="Test accuracy",
        marker_color=[colour(s) for s in final["strategy"]], text=text, textposition="outside",
        error_y=dict(type="data", symmetric=False, array=list(high), arrayminus=list(low), thickness=1.5),
        customdata=final["n"], hovertemplate="%{x}: %{y:.1%} over %{customdata} seed(s)<extra></extra>"))
    fig.update_yaxes(title="Test accuracy", tickformat=".0%", range=[0, 1.1])
    fig.update_xaxes(title="Strategy")
    return layout(fig, "Test accuracy (mean over seeds, 95% interval)", showlegend=False)


def confusion_figure(left: pd.DataFrame, right: pd.DataFrame, left_title: str, right_title: str) -> go.Figure:
    """Two confusion matrices side by side (rows = true class, columns = predicted class).

    Cells show counts summed over seeds; colour is the share of the true class (row), so both panels use
    one scale even when their seeds differ.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=(left_title, right_title), horizontal_spacing=0.12)
    for col, matrix in ((1, left), (2, right)):
        if matrix.empty:
            continue
        counts = matrix.to_numpy()
        share = counts / counts.sum(axis=1, keepdims=True).clip(min=1)
        fig.add_trace(go.Heatmap(
            z=share, x=[plain(c) for c in matrix.columns], y=[plain(c) for c in matrix.index], text=counts,
            texttemplate="%{text}",
            colorscale="Blues", zmin=0, zmax=1, showscale=col == 2, name=(left_title, right_title)[col - 1],
            colorbar=dict(title="Share", tickformat=".0%"),
            hovertemplate="true: %{y}<br>predicted: %{x}<br>%{text} examples (%{z:.0%} of the class)<extra></extra>"),
            row=1, col=col)
        fig.update_xaxes(title_text="Predicted class", row=1, col=col)
        fig.update_yaxes(title_text="True class" if col == 1 else None, autorange="reversed", row=1, col=col)
    n = max(len(left), len(right), 1)
    return layout(fig, "Confusion matrices (test set, all seeds)", height=min(900, 260 + 28 * n))


def per_class_gain_figure(gain: pd.DataFrame, transfer_strategy: str | None = None) -> go.Figure:
    """Horizontal bars: per-class accuracy gain of transfer over scratch (positive = transfer better)."""
    gain = gain.sort_values("gain")
    transfer = label(transfer_strategy) if transfer_strategy else "transfer"
    fig = go.Figure(go.Bar(
        x=gain["gain"], y=[plain(c) for c in gain["class"]], orientation="h", name="Gain",
        marker_color=[colour(transfer_strategy or "") if g >= 0 else colour("scratch") for g in gain["gain"]],
        text=[f"{g:+.0%}" for g in gain["gain"]], textposition="outside",
        customdata=list(zip(gain["scratch"], gain["transfer"])),
        hovertemplate=("%{y}: from scratch %{customdata[0]:.0%}, " + transfer
                       + " %{customdata[1]:.0%}<extra></extra>")))
    fig.update_xaxes(title=f"Per-class accuracy gain ({transfer} − from scratch)", tickformat="+.0%",
                     zeroline=True, zerolinewidth=2)
    fig.update_yaxes(title="Class")
    return layout(fig, "Where transfer helps: per-class accuracy gain", showlegend=False,
                   height=min(1200, 160 + 26 * max(len(gain), 1)))


def cost_figure(final: pd.DataFrame) -> go.Figure:
    """What each strategy costs: trainable parameters (log scale) and mean wall-clock time."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Trainable parameters", "Wall time per run"))
    names = [label(s) for s in final["strategy"]]
    colours = [colour(s) for s in final["strategy"]]
    fig.add_trace(go.Bar(x=names, y=final["trainable_params"], marker_color=colours, name="Trainable parameters",
                         text=[compact(p) for p in final["trainable_params"]], textposition="outside",
                         hovertemplate="%{x}: %{y:,} trainable parameters<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=final["wall_seconds"], marker_color=colours, name="Wall time (s)",
                         text=[f"{s:.0f} s" if not math.isnan(s) else "" for s in final["wall_seconds"]],
                         textposition="outside", hovertemplate="%{x}: %{y:.1f} s<extra></extra>"), row=1, col=2)
    fig.update_yaxes(type="log", title_text="Parameters (log scale)", row=1, col=1)
    fig.update_yaxes(title_text="Seconds", rangemode="tozero", row=1, col=2)
    return layout(fig, "Cost per strategy", showlegend=False)
