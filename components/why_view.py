"""Compare's "why transfer won" section, computed when someone asks (a few seconds: both trained models run over
the test items once) and then kept: for images, where each model looked (class-activation maps), for texts, which
words each model used (token attributions), and the test items as each model sees them (feature maps)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
from PIL import Image

from components import engine
from components.compare_view import CHART_CONFIG
from tlcore.core.errors import UserError
from tlcore.core.strategies import label, title
from tlcore.data import Dataset
from tlcore.experiments import feature_maps, figures
from tlcore.experiments.feature_maps import FeatureMap
from tlcore.runs.store import RunRecord

if TYPE_CHECKING:  # these need torch: imported where a button asked for them, not to draw the page
    from tlcore.experiments import token_attributions

THUMBNAIL_PX = 150
Pair = tuple[RunRecord, RunRecord]  # (from scratch, transfer), the same seed


def why_section(records: list[RunRecord], best: str, ds: Dataset | None) -> None:
    pair = feature_maps.runs_to_map(records, best)
    if pair is None or ds is None:
        return
    st.subheader("Why transfer won")
    if ds.modality == "image":
        attention_section(pair, best)
    elif ds.modality == "text":
        words_section(pair, best)
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
def _explained(run_id: str, config: dict, indices: tuple[int, ...], classes: tuple[str, ...]) -> list:
    """The run's evidence for `classes` on the dataset items `indices`: painted images, or texts' scored words."""
    from tlcore.experiments import attention_maps, token_attributions

    ds = _dataset(config)
    explain = attention_maps.looked_at if ds.modality == "image" else token_attributions.words_used
    return explain(run_id, ds, list(indices), list(classes))


def _explain_both(pair: Pair, heading: str, ask: tuple[str, str, str],
                  answers: tuple[str, str]) -> tuple[list, list] | None:
    """Under `heading`, once the `ask` button (key, label, icon) was pressed: the test items to explain and both
    runs' evidence on them, each of the class its item names under `answers` (e.g. "true"); None before that, or
    after a plain warning."""
    st.markdown(heading)
    if not _asked(f"{ask[0]}_{pair[0].id}_{pair[1].id}", *ask[1:]):
        return None
    from tlcore.experiments import attention_maps

    items = attention_maps.items_to_explain(pair[0].id, pair[1].id)
    indices = tuple(i["index"] for i in items)
    try:
        with st.spinner("Tracing both models' evidence…"):
            return items, [_explained(r.id, r.config, indices, tuple(i[key] for i in items))
                           for r, key in zip(pair, answers)]
    except (UserError, OSError) as exc:
        st.warning(f"The evidence cannot be shown: {exc}")
        return None


@st.cache_data(max_entries=32, show_spinner=False)
def _feature_map(run_id: str, config: dict) -> FeatureMap:
    return feature_maps.run_feature_map(run_id, _dataset(config))


def attention_section(pair: Pair, best: str) -> None:
    """The same test images side by side, painted where each model found evidence of the true class."""
    shown = _explain_both(pair, "**Where each model looked** for the right answer (red: strong evidence)",
                          ("attention", "Show where each model looked", ":material/visibility:"), ("true", "true"))
    if shown is None:
        return
    items, painted = shown
    pairs = [side_by_side(painted[0][k], painted[1][k]) for k in range(len(items))]
    captions = [f"true: {i['true']} · left, from scratch: {i['scratch']} · right, {label(best)}: {i['transfer']}"
                for i in items]
    st.image(pairs, caption=captions, width=2 * THUMBNAIL_PX)  # a pair stays together at any screen width


def words_section(pair: Pair, best: str) -> None:
    """The same test texts side by side, each word coloured by how much it pushed the model to its answer."""
    shown = _explain_both(pair, "**Which words each model used** for its answer (green: for it, red: against it)",
                          ("words", "Show which words each model used", ":material/text_fields:"),
                          ("scratch", "transfer"))
    if shown is None:
        return
    items, explained = shown
    for item, *texts in zip(items, *explained):
        st.caption(f"{item['name']} · true: {item['true']}")
        for column, name, text in zip(st.columns(2), ("From scratch", title(best)), texts):
            with column:
                st.html(words_html(name, text, right=text.target == item["true"]))
    st.caption("The darker a word, the more it moved that model's answer; each text is scaled to its strongest "
               "word. A model that learnt the task leans on words that carry its meaning.")


def words_html(name: str, text: token_attributions.ExplainedText, right: bool) -> str:
    """One model's answer and the text with each word's colour; everything from the data is escaped."""
    verdict = "right" if right else "wrong"
    words = []
    for piece, score in text.segments:
        piece = html.escape(piece)
        if score is None:
            words.append(piece)
        else:
            rgb = "46, 160, 67" if score >= 0 else "215, 48, 39"
            words.append(f'<span title="{score:+.2f}" style="background: rgba({rgb}, {0.75 * abs(score):.2f}); '
                         f'border-radius: 3px">{piece}</span>')
    return (f'<div style="line-height: 1.8"><b>{html.escape(name)}</b> said <b>{html.escape(text.target)}</b> '
            f'({verdict})<br>{"".join(words)}</div>')


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 6) -> np.ndarray:
    """Two images at one height (the models may have seen different sizes: scratch trains at 160 px on a CPU,
    a probe reads 224 px), with a white gap between them."""
    side = max(left.shape[0], right.shape[0])
    left, right = (np.asarray(Image.fromarray(a).resize((side, side))) for a in (left, right))
    return np.concatenate([left, np.full((side, gap, 3), 255, dtype=np.uint8), right], axis=1)


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
