"""Compare's "why transfer won" section, computed when someone asks (a few seconds: both trained models run over
the test items once) and then kept: for images, where each model looked (class-activation maps), and the test
items as each model sees them (feature maps)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from components import engine
from components.compare_view import CHART_CONFIG
from tlcore.core.errors import UserError
from tlcore.core.strategies import label, title
from tlcore.data import Dataset
from tlcore.experiments import attention_maps, feature_maps, figures
from tlcore.experiments.feature_maps import FeatureMap
from tlcore.runs.store import RunRecord

THUMBNAIL_PX = 150
Pair = tuple[RunRecord, RunRecord]  # (from scratch, transfer), the same seed


def why_section(records: list[RunRecord], best: str, ds: Dataset | None) -> None:
    pair = feature_maps.runs_to_map(records, best)
    if pair is None or ds is None:
        return
    st.subheader("Why transfer won")
    if ds.modality == "image":
        attention_section(pair, best)
    feature_map_section(pair, best)


def _asked(key: str, button: str, icon: str) -> bool:
    """True once the button was pressed in this session (the section then stays, without another click)."""
    if not st.session_state.get(key):
        if not st.button(button, icon=icon, key=f"ask_{key}"):
            return False
        st.session_state[key] = True
        st.rerun()  # draw the section in place of its button
    return True


def _dataset(config: dict) -> Dataset:
    return engine.dataset(config["data"], config.get("text_column"), config.get("label_column"),
                          config.get("data_name") or None)


@st.cache_data(max_entries=32, show_spinner=False)
def _painted(run_id: str, config: dict, indices: tuple[int, ...], classes: tuple[str, ...]) -> list:
    return attention_maps.looked_at(run_id, _dataset(config), list(indices), list(classes))


@st.cache_data(max_entries=32, show_spinner=False)
def _feature_map(run_id: str, config: dict) -> FeatureMap:
    return feature_maps.run_feature_map(run_id, _dataset(config))


def attention_section(pair: Pair, best: str) -> None:
    """The same test images side by side, painted where each model found evidence of the true class."""
    st.markdown("**Where each model looked** for the right answer (red: strong evidence)")
    if not _asked(f"attention_{pair[0].id}_{pair[1].id}", "Show where each model looked", ":material/visibility:"):
        return
    items = attention_maps.items_to_explain(pair[0].id, pair[1].id)
    indices, classes = tuple(i["index"] for i in items), tuple(i["true"] for i in items)
    try:
        with st.spinner("Tracing both models' evidence…"):
            painted = [_painted(r.id, r.config, indices, classes) for r in pair]
    except (UserError, OSError) as exc:
        st.warning(f"The maps cannot be drawn: {exc}")
        return
    gap = np.full((painted[0][0].shape[0], 6, 3), 255, dtype=np.uint8)
    pairs = [np.concatenate([painted[0][k], gap, painted[1][k]], axis=1) for k in range(len(items))]
    captions = [f"true: {i['true']} · left, from scratch: {i['scratch']} · right, {label(best)}: {i['transfer']}"
                for i in items]
    st.image(pairs, caption=captions, width=2 * THUMBNAIL_PX)  # a pair stays together at any screen width


def feature_map_section(pair: Pair, best: str) -> None:
    st.markdown("**How each model sees the test items**")
    st.caption("Each dot is a test example, placed by the features the model computes for it and coloured by its "
               "true class. Where the colours form separate groups, the last layer's job is easy.")
    if not _asked(f"feature_maps_{pair[0].id}_{pair[1].id}", "Show how each model sees the test items",
                  ":material/scatter_plot:"):
        return
    try:
        with st.spinner("Running both trained models over the test examples…"):
            maps = [_feature_map(r.id, r.config) for r in pair]
    except (UserError, OSError) as exc:
        st.warning(f"The maps cannot be drawn: {exc}")
        return
    names = ("From scratch", title(best))
    for column, fmap, name, chart_key in zip(st.columns(2), maps, names, ("map_scratch", "map_transfer")):
        column.plotly_chart(figures.feature_map_figure(fmap, name), key=chart_key, config=CHART_CONFIG)
    st.caption(f"Seed {pair[0].config.get('seed')}. Among its nearest neighbours, a test example finds its own "
               f"class {maps[1].neighbours_agree:.0%} of the time with {label(best)} features and "
               f"{maps[0].neighbours_agree:.0%} with features learnt from scratch (in the full feature space; the "
               "flat picture keeps only part of the spread).")
