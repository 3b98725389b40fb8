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
from tlcore.experiments.figures.common import band, colour, compact, layout, log_ticks, plain, series

X_TITLES = {"epoch": "Epoch", "elapsed": "Training time (s)"}


def curves_figure(bands: pd.DataFrame, x: str = "epoch") -> go.Figure:
    """Validation accuracy per strategy: a line for the mean over seeds, shaded from the worst to the best seed.
    The legend is always shown, also while only one strategy has a finished epoch."""
    fig = go.Figure()
    for strategy, part in bands.groupby("strategy", sort=False):
        part = part.sort_values(x)
        c, name = colour(strategy), label(strategy)
        if part["n"].max() >= 2 and bool(((part["high"] - part["low"]).fillna(0) > 0).any()):
            fig.add_trace(band(part[x], part["low"], part["high"], c, name=f"{name} (range over seeds)",
                               group=strategy))
        fig.add_trace(series(part[x], part["mean"], name=name, hex_colour=c, group=strategy, customdata=part["n"],
                             hovertemplate="%{y:.1%} (mean of %{customdata} seed(s))<extra>" + name + "</extra>"))
    fig.update_yaxes(title="Validation accuracy", tickformat=".0%", range=[0, 1.05], dtick=0.2)
    fig.update_xaxes(title=X_TITLES.get(x, x), dtick=1 if x == "epoch" and len(bands) and bands[x].max() <= 20
                     else None)
    title = "Validation accuracy by epoch" if x == "epoch" else "Validation accuracy over training time"
    return layout(fig, title, hovermode="x unified", showlegend=True, legend=dict(orientation="h", y=-0.25))


def _interval_text(accuracy: float, low: float, high: float) -> str:
    return f"{accuracy:.0%}" + ("" if math.isnan(low) else f" ({low:.0%}–{high:.0%})")


def final_accuracy_figure(final: pd.DataFrame) -> go.Figure:
    """Mean test accuracy per strategy with 95% interval error bars; each value label sits above its error
    bar, so the bar never crosses it out."""
    low = (final["accuracy"] - final["low"]).fillna(0).clip(lower=0)
    high = (final["high"] - final["accuracy"]).fillna(0).clip(lower=0)
    names = [label(s) for s in final["strategy"]]
    fig = go.Figure(go.Bar(
        x=names, y=final["accuracy"], name="Test accuracy", marker_color=[colour(s) for s in final["strategy"]],
        text=[_interval_text(a, lo, hi) for a, lo, hi in zip(final["accuracy"], final["low"], final["high"])],
        textposition="none",
        error_y=dict(type="data", symmetric=False, array=list(high), arrayminus=list(low), thickness=1.5),
        customdata=final["n"], hovertemplate="%{x}: %{y:.1%} over %{customdata} seed(s)<extra></extra>"))
    for name, top, text in zip(names, final["accuracy"] + high, fig.data[0].text):
        fig.add_annotation(x=name, y=top, text=text, showarrow=False, yanchor="bottom", yshift=4)
    fig.update_yaxes(title="Test accuracy", tickformat=".0%", range=[0, 1.2], tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1])
    fig.update_xaxes(title="Strategy")
    return layout(fig, "Test accuracy (mean over seeds, 95% interval)", showlegend=False)


def confusion_figure(matrix: pd.DataFrame, title: str) -> go.Figure:
    """One confusion matrix (rows = true class, columns = predicted class). Two of them are separate figures,
    so that on a narrow screen they stack instead of printing their labels over each other.

    Cells show counts summed over seeds; colour is the share of the true class (row), so panels with
    different numbers of seeds use one scale.
    """
    fig = go.Figure()
    if not matrix.empty:
        counts = matrix.to_numpy()
        share = counts / counts.sum(axis=1, keepdims=True).clip(min=1)
        fig.add_trace(go.Heatmap(
            z=share, x=[plain(c) for c in matrix.columns], y=[plain(c) for c in matrix.index], text=counts,
            texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1, showscale=False, name=title,
            hovertemplate="true: %{y}<br>predicted: %{x}<br>%{text} examples (%{z:.0%} of the class)<extra></extra>"))
    fig.update_xaxes(title_text="Predicted class", tickangle=-45 if len(matrix.columns) > 4 else 0)
    fig.update_yaxes(title_text="True class", autorange="reversed")
    n = max(len(matrix), 1)
    return layout(fig, f"{plain(title)}: test set, all seeds", height=min(900, 220 + 30 * n))


def per_class_gain_figure(gain: pd.DataFrame, transfer_strategy: str | None = None) -> go.Figure:
    """Horizontal bars: per-class accuracy gain of transfer over scratch (positive = transfer better), each
    labelled with how many test examples the class has, since +67 % of 3 images is one image."""
    gain = gain.sort_values("gain")
    transfer = label(transfer_strategy) if transfer_strategy else "transfer"
    fig = go.Figure(go.Bar(
        x=gain["gain"], y=[plain(c) for c in gain["class"]], orientation="h", name="Gain",
        marker_color=[colour(transfer_strategy or "") if g >= 0 else colour("scratch") for g in gain["gain"]],
        text=[f"{g:+.0%} ({n:.0f} in test)" for g, n in zip(gain["gain"], gain["support"].fillna(0))],
        textposition="outside", cliponaxis=False,
        customdata=list(zip(gain["scratch"], gain["transfer"], gain["support"].fillna(0))),
        hovertemplate=("%{y}: from scratch %{customdata[0]:.0%}, " + transfer
                       + " %{customdata[1]:.0%} of %{customdata[2]:.0f} test examples<extra></extra>")))
    values = [0.0, *gain["gain"].astype(float)]
    low, high = min(values), max(values)
    room = 0.6 * max(high - low, 0.1)  # for the labels beside the bars, which would otherwise be cut off
    fig.update_xaxes(title=f"{transfer} − from scratch", tickformat="+.0%",
                     zeroline=True, zerolinewidth=2, range=[low - (room if low < 0 else 0.02), high + room])
    fig.update_yaxes(title="Class")
    return layout(fig, "Where transfer helps: accuracy gain per class", showlegend=False,
                  height=min(1200, 160 + 26 * max(len(gain), 1)))


def cost_figure(final: pd.DataFrame) -> go.Figure:
    """What each strategy costs: trainable parameters (log scale) and mean wall-clock time. The axis titles
    name the panels (subplot titles collide on a phone), and two-word names wrap instead of tilting."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.15)
    names = [label(s).replace(" ", "<br>", 1) for s in final["strategy"]]
    colours = [colour(s) for s in final["strategy"]]
    fig.add_trace(go.Bar(x=names, y=final["trainable_params"], marker_color=colours, name="Trainable parameters",
                         text=[compact(p) for p in final["trainable_params"]], textposition="outside",
                         hovertemplate="%{x}: %{y:,} trainable parameters<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=final["wall_seconds"], marker_color=colours, name="Wall time (s)",
                         text=[f"{s:.0f} s" if not math.isnan(s) else "" for s in final["wall_seconds"]],
                         textposition="outside", hovertemplate="%{x}: %{y:.1f} s<extra></extra>"), row=1, col=2)
    ticks = log_ticks(final["trainable_params"])
    fig.update_yaxes(type="log", title_text="Trainable parameters (log)", tickvals=ticks,
                     ticktext=list(map(compact, ticks)), row=1, col=1)
    fig.update_yaxes(title_text="Wall time per run (s)", rangemode="tozero", row=1, col=2)
    fig.update_xaxes(tickangle=0)
    return layout(fig, "Cost per strategy", showlegend=False)
