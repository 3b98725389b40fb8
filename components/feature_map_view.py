"""Compare's "why transfer won" section: the test items as the from-scratch and the transfer model see them,
computed when someone asks (a few seconds: both models run over the test items once), then kept."""

from __future__ import annotations

import streamlit as st

from components import engine
from components.compare_view import CHART_CONFIG
from tlcore.core.errors import UserError
from tlcore.core.strategies import label, title
from tlcore.experiments import feature_maps, figures
from tlcore.experiments.feature_maps import FeatureMap
from tlcore.runs.store import RunRecord


@st.cache_data(max_entries=32, show_spinner=False)
def _feature_map(run_id: str, data: str, text_column: str | None, label_column: str | None,
                 data_name: str | None) -> FeatureMap:
    return feature_maps.run_feature_map(run_id, engine.dataset(data, text_column, label_column, data_name))


def _map_of(record: RunRecord) -> FeatureMap:
    c = record.config
    return _feature_map(record.id, c["data"], c.get("text_column"), c.get("label_column"), c.get("data_name") or None)


def feature_map_section(records: list[RunRecord], best: str) -> None:
    pair = feature_maps.runs_to_map(records, best)
    if pair is None:
        return
    st.subheader("Why transfer won: how each model sees the test items")
    st.caption("Each dot is a test example, placed by the features the model computes for it and coloured by its "
               "true class. Where the colours form separate groups, the last layer's job is easy.")
    key = f"feature_maps_{pair[0].id}_{pair[1].id}"
    if not st.session_state.get(key):
        if not st.button("Show how each model sees the test items", icon=":material/scatter_plot:"):
            return
        st.session_state[key] = True
    try:
        with st.spinner("Running both trained models over the test examples…"):
            maps = [_map_of(r) for r in pair]
    except (UserError, OSError) as exc:
        st.warning(f"The maps cannot be drawn: {exc}")
        return
    names = ("From scratch", title(best))
    for column, fmap, name, chart_key in zip(st.columns(2), maps, names, ("map_scratch", "map_transfer")):
        column.plotly_chart(figures.feature_map_figure(fmap, name), key=chart_key, config=CHART_CONFIG)
    seed = pair[0].config.get("seed")
    st.caption(f"Seed {seed}. Among its nearest neighbours, a test example finds its own class "
               f"{maps[1].neighbours_agree:.0%} of the time with {label(best)} features and "
               f"{maps[0].neighbours_agree:.0%} with features learnt from scratch (in the full feature space; the "
               "flat picture keeps only part of the spread).")
