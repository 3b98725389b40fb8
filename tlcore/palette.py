"""One fixed colour per strategy on every chart (the app's and the HTML report's)."""

from __future__ import annotations

COLOURS = {"scratch": "#8c8c8c", "linear_probe": "#1f77b4", "finetune": "#ff7f0e", "gradual": "#2ca02c",
           "lora": "#9467bd", "knn": "#d62728"}
OTHER = "#17becf"


def colour(strategy: str) -> str:
    return COLOURS.get(strategy, OTHER)


def rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
