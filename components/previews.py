"""Previews of a dataset and its check report: an image grid per class, a text table, the report panel."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from tlcore.data import DataReport, Dataset, images
from tlcore.experiments import figures

PREVIEW_SIDE = 96  # px; tiny images (8×8 digits) are scaled up with sharp pixels so they stay legible
MAX_LISTED = 50


def sample_per_class(ds: Dataset, per_class: int, seed: int = 0) -> dict[str, list[int]]:
    """Up to `per_class` item indices of each class, drawn reproducibly."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[int]] = {}
    for c, name in enumerate(ds.classes):
        idx = np.flatnonzero(ds.labels == c)
        take = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else idx
        out[name] = sorted(int(i) for i in take)
    return out


def _jpeg(image: Image.Image | None) -> bytes | None:
    if image is None:
        return None
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=95)
    return out.getvalue()


@st.cache_data(max_entries=2_000, show_spinner=False)
def _cached_thumbnail(path: str, side: int) -> bytes | None:
    return _jpeg(images.thumbnail(path, side))


def thumbnail(ref, side: int = PREVIEW_SIDE) -> bytes | None:
    """A preview as JPEG bytes (None: unreadable or too large to preview). Files are cached by path (uploads
    live in a content-addressed library, so a path never changes content), and as encoded bytes, which
    `st.image` serves as they are: a rerun neither decodes nor encodes an image again."""
    return _jpeg(images.thumbnail(ref, side)) if isinstance(ref, np.ndarray) else _cached_thumbnail(str(ref), side)


def image_grid(ds: Dataset, per_class: int = 6, seed: int = 0) -> None:
    """One row per class: its name, then up to `per_class` example images with their file names."""
    for name, indices in sample_per_class(ds, per_class, seed).items():
        cols = st.columns([1.2] + [1] * per_class, vertical_alignment="center")
        cols[0].markdown(f"**{name}**  \n{int((ds.labels == ds.classes.index(name)).sum())} examples")
        for col, i in zip(cols[1:], indices):
            thumb = thumbnail(ds.items[i])
            if thumb is None:
                col.caption(f"{ds.item_names[i]} (unreadable or too large to preview)")
            else:
                col.image(thumb, caption=ds.item_names[i].rsplit("/", 1)[-1][:24])


def text_table(ds: Dataset, n: int = 20, seed: int = 0) -> None:
    """A random sample of `n` rows: where the row came from, its text and its label."""
    rng = np.random.default_rng(seed)
    idx = sorted(rng.choice(len(ds), size=min(n, len(ds)), replace=False).tolist())
    df = pd.DataFrame({"row": [ds.item_names[i] for i in idx], "text": [ds.items[i] for i in idx],
                       "label": [ds.classes[ds.labels[i]] for i in idx]})
    st.dataframe(df, hide_index=True, width="stretch",
                 column_config={"text": st.column_config.TextColumn("text", width="large")})


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text


def report_panel(report: DataReport) -> None:
    """The check results in plain words: errors block training, warnings qualify the results."""
    st.plotly_chart(figures.class_balance_figure(report.counts), width="stretch")
    for error in report.errors:
        st.error(_sentence(error) + " Training is blocked until this is fixed.", icon=":material/block:")
    for warning in report.warnings:
        st.warning(_sentence(warning), icon=":material/warning:")
    if report.ok and not report.warnings:
        st.success("No problems found: every class has enough examples, there are no duplicates, and the test part is "
                   "large enough to tell results apart.",
                   icon=":material/check_circle:")
    if report.skipped:
        with st.expander(f"{len(report.skipped)} file(s) skipped (unreadable, corrupt or not in a class folder)"):
            st.dataframe(pd.DataFrame([{"file": s.name, "why": s.reason} for s in report.skipped[:1000]]),
                         hide_index=True, width="stretch")
    if report.duplicate_groups:
        with st.expander(f"{len(report.duplicate_groups)} group(s) of identical examples"):
            st.caption("Copies are kept in the same part of the split so they cannot inflate test accuracy.")
            for group in report.duplicate_groups[:MAX_LISTED]:
                st.text(" = ".join(group))
            if len(report.duplicate_groups) > MAX_LISTED:
                st.caption(f"… and {len(report.duplicate_groups) - MAX_LISTED} more groups.")
    if report.cross_class_duplicates:
        with st.expander(f"{len(report.cross_class_duplicates)} identical example(s) with different labels"):
            for group in report.cross_class_duplicates[:MAX_LISTED]:
                st.text(" = ".join(group))
    if report.leakage:
        with st.expander(f"{len(report.leakage)} example(s) appear in more than one of train/validation/test"):
            st.text("\n".join(report.leakage[:MAX_LISTED * 4]))
