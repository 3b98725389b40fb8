"""The test items as a trained model sees them (`tlcore.experiments.feature_maps`): one scatter per run, one
colour per class, the same colours in every map so two maps can be read side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
from plotly.colors import qualitative

from tlcore.experiments.figures.common import layout, plain

if TYPE_CHECKING:  # computing one needs torch and scikit-learn; drawing it does not
    from tlcore.experiments.feature_maps import FeatureMap

CLASS_COLOURS = qualitative.Safe + qualitative.Vivid  # 22 colours; more classes reuse them


def feature_map_figure(fmap: FeatureMap, title: str) -> go.Figure:
    """Each test item at its first two principal components, coloured by its true class."""
    fig = go.Figure()
    for c, name in enumerate(fmap.classes):
        mine = fmap.labels == c
        if not mine.any():
            continue
        fig.add_trace(go.Scatter(
            x=fmap.xy[mine, 0], y=fmap.xy[mine, 1], mode="markers", name=plain(name)[:30],
            marker=dict(size=9, color=CLASS_COLOURS[c % len(CLASS_COLOURS)], line=dict(width=0.5, color="white")),
            text=[plain(n) for n, m in zip(fmap.names, mine) if m],
            hovertemplate="%{text}<extra>" + plain(name)[:30] + "</extra>"))
    fig.update_xaxes(showticklabels=False, title="", zeroline=False)
    fig.update_yaxes(showticklabels=False, title="", zeroline=False, scaleanchor="x", scaleratio=1)
    subtitle = f"neighbours of the same class: {fmap.neighbours_agree:.0%} · picture keeps {fmap.explained:.0%}"
    return layout(fig, f"{plain(title)}<br><sup>{subtitle}</sup>", showlegend=True, height=420,
                  legend=dict(orientation="h", y=-0.05), margin=dict(l=10, r=10, t=70, b=10))
