"""tlcore.experiments.figures: pure figure builders have the right traces, names, error bars and axis titles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tlcore.core.strategies import colour
from tlcore.experiments import figures as charts


def _bands(x="epoch", seeds=(3, 1)):
    rows = []
    for strategy, n in zip(("scratch", "linear_probe"), seeds):
        for e in (1, 2, 3):
            mean = 0.3 + 0.1 * e + (0.4 if strategy != "scratch" else 0)
            half = 0.05 if n >= 2 else 0.0
            rows.append({"strategy": strategy, x: e if x == "epoch" else 1.5 * e, "mean": mean, "low": mean - half,
                         "high": mean + half, "n": n})
    return pd.DataFrame(rows)


def _final():
    return pd.DataFrame([
        {"strategy": "scratch", "label": "from scratch", "accuracy": 0.55, "low": 0.43, "high": 0.67, "n": 3,
         "macro_f1": 0.45, "wall_seconds": 21.0, "trainable_params": 2_000_000},
        {"strategy": "linear_probe", "label": "linear probe", "accuracy": 0.92, "low": 0.87, "high": 0.97, "n": 3,
         "macro_f1": 0.82, "wall_seconds": 4.0, "trainable_params": 3_843},
        {"strategy": "finetune", "label": "fine-tune", "accuracy": 0.8, "low": math.nan, "high": math.nan, "n": 1,
         "macro_f1": 0.7, "wall_seconds": 30.0, "trainable_params": 2_000_000},
    ])


def test_curves_figure_lines_and_bands():
    fig = charts.curves_figure(_bands(), "epoch")
    assert isinstance(fig, go.Figure)
    lines = [t for t in fig.data if t.showlegend is not False]
    bands = [t for t in fig.data if t.fill == "toself"]
    assert [t.name for t in lines] == ["from scratch", "linear probe"]
    assert len(bands) == 1 and bands[0].legendgroup == "scratch"  # one seed of linear probe: no band
    assert len(bands[0].x) == 6 and list(np.round(bands[0].y[:3], 6)) == [0.45, 0.55, 0.65]
    assert lines[0].line.color == colour("scratch") and lines[1].line.color == colour("linear_probe")
    assert fig.layout.yaxis.title.text == "Validation accuracy" and fig.layout.yaxis.tickformat == ".0%"
    assert fig.layout.xaxis.title.text == "Epoch"
    timed = charts.curves_figure(_bands("elapsed", seeds=(2, 2)), "elapsed")
    assert timed.layout.xaxis.title.text == "Training time (s)"
    assert sum(t.fill == "toself" for t in timed.data) == 2 and len(timed.data) == 4
    assert list(timed.data[1].x) == [1.5, 3.0, 4.5]


def test_final_accuracy_figure_has_error_bars_and_labels():
    fig = charts.final_accuracy_figure(_final())
    (bar,) = fig.data
    assert list(bar.x) == ["from scratch", "linear probe", "fine-tune"]
    assert list(np.round(bar.error_y.array, 6)) == [0.12, 0.05, 0.0]
    assert list(np.round(bar.error_y.arrayminus, 6)) == [0.12, 0.05, 0.0]
    assert bar.text[0] == "55% (43%–67%)" and bar.text[2] == "80%"
    assert list(bar.marker.color) == [colour(s) for s in ("scratch", "linear_probe", "finetune")]
    assert fig.layout.yaxis.title.text == "Test accuracy"


def test_confusion_figure_one_matrix_per_figure():
    classes = ["cat", "dog", "fox"]
    matrix = pd.DataFrame([[4, 2, 0], [1, 3, 2], [0, 1, 5]], index=classes, columns=classes)
    fig = charts.confusion_figure(matrix, "From scratch")
    (heatmap,) = fig.data
    assert list(heatmap.x) == classes and list(heatmap.y) == classes
    assert heatmap.z[0][0] == 4 / 6 and heatmap.z[1][2] == 2 / 6
    assert fig.layout.title.text.startswith("From scratch")
    assert fig.layout.xaxis.title.text == "Predicted class" and fig.layout.yaxis.title.text == "True class"
    assert len(charts.confusion_figure(pd.DataFrame(), "b").data) == 0


def test_per_class_gain_figure():
    gain = pd.DataFrame({"class": ["cat", "dog", "fox"], "scratch": [0.6, 0.5, 0.8], "transfer": [1.0, 1.0, 0.6],
                         "gain": [0.4, 0.5, -0.2], "support": [2, 2, 2]})
    fig = charts.per_class_gain_figure(gain, "linear_probe")
    (bar,) = fig.data
    assert bar.orientation == "h"
    assert list(bar.y) == ["fox", "cat", "dog"]  # sorted by gain: biggest at the top
    assert list(bar.x) == [-0.2, 0.4, 0.5]
    assert list(bar.marker.color) == [colour("scratch")] + [colour("linear_probe")] * 2
    assert "linear probe" in fig.layout.xaxis.title.text
    assert list(bar.text) == ["-20% (2 in test)", "+40% (2 in test)", "+50% (2 in test)"]  # the count beside it
    assert fig.layout.xaxis.range[0] < -0.2 and fig.layout.xaxis.range[1] > 0.5 + 0.3  # room for the labels


def test_cost_figure_log_params_and_time():
    fig = charts.cost_figure(_final())
    params, seconds = fig.data
    assert params.name == "Trainable parameters" and list(params.y) == [2_000_000, 3_843, 2_000_000]
    assert list(params.text) == ["2.0M", "3.8k", "2.0M"]
    assert seconds.name == "Wall time (s)" and list(seconds.y) == [21.0, 4.0, 30.0]
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type != "log"


def test_class_balance_figure():
    fig = charts.class_balance_figure({"cat": 10, "dog": 3})
    (bar,) = fig.data
    assert list(bar.x) == ["cat", "dog"] and list(bar.y) == [10, 3]
    assert fig.layout.xaxis.title.text == "Class" and fig.layout.yaxis.title.text == "Examples"


def test_charts_handle_empty_tables():
    empty_bands = pd.DataFrame(columns=["strategy", "epoch", "mean", "low", "high", "n"])
    assert len(charts.curves_figure(empty_bands, "epoch").data) == 0
    assert len(charts.class_balance_figure({}).data) == 1


def test_class_names_are_plain_text_in_every_chart_never_links():
    """Plotly renders a subset of HTML in labels: a class called `<a href=…>` must show as text, not a link."""
    evil = '<a href="https://evil.example/x">cats</a>'
    matrix = pd.DataFrame([[3, 1], [0, 4]], index=[evil, "dogs"], columns=[evil, "dogs"])
    gain = pd.DataFrame({"class": [evil, "dogs"], "scratch": [0.5, 0.5], "transfer": [0.9, 0.7], "gain": [0.4, 0.2],
                         "support": [4, 4]})
    per_class = pd.DataFrame({"strategy": ["scratch"], "k_label": ["2"], "x": [2.0], "class": [evil], "recall": [0.5]})
    figures = [charts.confusion_figure(matrix, "a"), charts.per_class_gain_figure(gain, "linear_probe"),
               charts.class_balance_figure({evil: 4, "dogs": 4}), charts.per_class_figure(per_class)]
    for fig in figures:
        shown = fig.to_json()
        assert "<a href" not in shown and "&lt;a href" in shown


def _study_frames():
    rows, cells = [], []
    for strategy in ("scratch", "linear_probe", "knn"):
        for k, x in (("2", 2.0), ("all", 17.0)):
            acc = 0.4 + (0.3 if strategy != "scratch" else 0) + x / 100
            rows.append({"strategy": strategy, "k_label": k, "x": x, "accuracy": acc, "low": acc - 0.1,
                         "high": acc + 0.1, "wall_seconds": 3.0 * x, "trainable_params": 0 if strategy == "knn"
                         else 3_000 * x})
            cells += [{"strategy": strategy, "x": x, "test_accuracy": acc + d, "status": "succeeded"}
                      for d in (-0.05, 0.05)]
    per_class = pd.DataFrame([{**r, "class": c, "recall": r["accuracy"]} for r in rows for c in ("cat", "dog")])
    return pd.DataFrame(rows), pd.DataFrame(cells), per_class


def _every_figure() -> dict[str, go.Figure]:
    """Every chart builder, fed tables with bands, one-point series (one epoch) and a single seed."""
    one_epoch = pd.concat([_bands(), pd.DataFrame([{"strategy": "finetune", "epoch": 1, "mean": 0.9, "low": 0.85,
                                                    "high": 0.95, "n": 3}])])
    summary, cells, per_class = _study_frames()
    gain = pd.DataFrame({"class": ["cat"], "scratch": [0.5], "transfer": [0.9], "gain": [0.4], "support": [3]})
    matrix = pd.DataFrame([[3, 1], [0, 4]], index=["cat", "dog"], columns=["cat", "dog"])
    return {"curves": charts.curves_figure(one_epoch, "epoch"), "final": charts.final_accuracy_figure(_final()),
            "confusion": charts.confusion_figure(matrix, "Linear probe"),
            "gain": charts.per_class_gain_figure(gain, "linear_probe"), "cost": charts.cost_figure(_final()),
            "balance": charts.class_balance_figure({"cat": 3}), "study": charts.accuracy_vs_data(summary, cells),
            "study cost": charts.study_cost_figure(summary), "per class": charts.per_class_figure(per_class),
            "live": charts.live_curve_figure([{"epoch": 1, "val_acc": 0.8, "train_loss": None}]),
            "live 3": charts.live_curve_figure([{"epoch": e, "val_acc": 0.5, "train_loss": 1 / e} for e in (1, 2, 3)]),
            "layers": charts.layer_curve_figure(_curve(), freeze_through=1),
            "layers 1": charts.layer_curve_figure(_curve()[:1]),
            "feature map": charts.feature_map_figure(_feature_map(), "From scratch")}


def _curve(depths=("features.1", "features.8", "features.18")) -> list[dict]:
    return [{"depth": d, "logme": -0.3 + 0.1 * i, "logme_sd": 0.02, "knn_loo": 0.6 + 0.1 * i, "knn_sd": 0.03}
            for i, d in enumerate(depths)]


def test_layer_curve_figure_bands_lines_and_the_freeze_point():
    fig = charts.layer_curve_figure(_curve(), freeze_through=1)
    bands = [t for t in fig.data if t.fill == "toself"]
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in lines] == ["LogME", "neighbours"] and len(bands) == 2
    assert list(lines[0].x) == ["features.1", "features.8", "features.18"]
    assert list(np.round(bands[0].y[:3], 6)) == [-0.28, -0.18, -0.08]  # upper edge: mean + 1 SD
    [star] = [t for t in fig.data if t.name == "freeze up to here"]
    assert list(star.x) == ["features.8"] and star.mode == "markers+text"
    assert not [t for t in charts.layer_curve_figure(_curve(), freeze_through=2).data if t.name == "freeze up to here"]
    one = charts.layer_curve_figure(_curve()[:1])
    assert all(t.mode == "markers+text" for t in one.data) and len(one.data) == 2  # no band around one point


def _feature_map():
    from tlcore.experiments.feature_maps import feature_map
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 6)
    features = rng.normal(size=(12, 8)) + 5 * np.eye(8)[labels]  # each class along its own direction
    return feature_map("r1", features, labels, [f"<b>{i}</b>.png" for i in range(12)], ["cat", "<i>dog</i>"])


def test_a_feature_map_says_how_well_classes_separate_and_escapes_names():
    fig = _every_figure()["feature map"]
    assert [t.name for t in fig.data] == ["cat", "&lt;i&gt;dog&lt;/i&gt;"] and {t.mode for t in fig.data} == {"markers"}
    assert "neighbours of the same class: 100%" in fig.layout.title.text
    assert "<b>" not in str(list(fig.data[0].text))


def test_no_chart_can_draw_stray_markers():
    """A shaded band whose mode includes markers (or is left to plotly's default, which adds markers to short
    traces) draws its outline as unexplained coloured dots; every scatter must say what it draws."""
    for name, fig in _every_figure().items():
        for trace in fig.data:
            if not isinstance(trace, go.Scatter):
                continue
            assert trace.mode, f"{name}: a scatter trace ({trace.name}) left its mode to plotly's default"
            if trace.fill not in (None, "none"):
                assert "markers" not in trace.mode, f"{name}: the band {trace.name} draws markers"


def test_a_single_point_series_is_a_labelled_marker_in_the_legend():
    fig = _every_figure()["curves"]
    (point,) = [t for t in fig.data if t.name == "fine-tune"]
    assert point.mode == "markers+text" and point.showlegend and list(point.text) == ["fine-tune"]
    assert fig.layout.showlegend is True  # shown even with one strategy, e.g. while the others still train
    live = _every_figure()["live"]
    assert [t.name for t in live.data] == ["validation accuracy"] and "yaxis2" not in live.layout.to_plotly_json()


def test_axes_grow_to_fit_their_labels_and_log_axes_are_uncluttered():
    figs = _every_figure()
    for name in ("final", "cost", "study", "study cost", "gain", "confusion"):
        layout = figs[name].layout
        axes = [layout[k] for k in layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]
        assert axes and all(a.automargin for a in axes), f"{name}: an axis can clip its labels"
    cost = figs["cost"].layout.yaxis
    assert cost.type == "log" and len(cost.tickvals) <= 6 and list(cost.ticktext)[0].endswith("k")
    final = figs["final"]
    assert [a.text for a in final.layout.annotations][0] == "55% (43%–67%)"  # above the error bar, not under it
    assert final.layout.annotations[0].y == 0.67 and final.data[0].textposition == "none"
