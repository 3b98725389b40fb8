"""The Data page's split settings (test and validation shares, examples per class, seed) and what they give."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import streamlit as st

from tlcore.core.config import VAL_PER_CLASS, TrainConfig
from tlcore.core.errors import UserError
from tlcore.data import Dataset, Split, make_split, subset_per_class

SPLIT_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)
                  if f.name in ("test_fraction", "val_fraction", "per_class", "seed")}
# The allowed shares. They are checked here, not by the widget: a widget's own min/max only marks a typed value
# as invalid in the browser and keeps the old one, so the field showed 0.6 while the split silently used 0.2.
FRACTION_RANGES = {"split_test": ("Test fraction", 0.05, 0.5), "split_val": ("Validation fraction", 0.0, 0.4)}


def _clamp_fraction(key: str) -> None:
    """on_change: a share outside its range is set to the nearest allowed value, and the page says so."""
    name, low, high = FRACTION_RANGES[key]
    value = st.session_state[key]
    if value is None or not low <= value <= high:
        fixed = low if value is None or value < low else high
        st.session_state[key] = fixed
        st.session_state["split_notice"] = (f"{name} must be between {low:g} and {high:g}; "
                                            f"{'nothing' if value is None else f'{value:g}'} was changed to {fixed:g}.")


def _fraction_input(column: Any, key: str, help: str) -> float:
    name, low, high = FRACTION_RANGES[key]
    return column.number_input(f"{name} ({low:g}–{high:g})", step=0.05, key=key, help=help, on_change=_clamp_fraction,
                               args=(key,))


def split_settings() -> dict[str, Any]:
    """The four inputs, remembered in the session (the Train page reads them); returns the settings."""
    saved = {**SPLIT_DEFAULTS, **st.session_state.get("split_settings", {})}
    for key, value in (("split_test", saved["test_fraction"]), ("split_val", saved["val_fraction"]),
                       ("split_k", saved["per_class"] or 0), ("split_seed", saved["seed"])):
        st.session_state.setdefault(key, value)
    c1, c2, c3, c4 = st.columns(4)
    test_fraction = _fraction_input(c1, "split_test", "Held out and used only once, for the final comparison.")
    val_fraction = _fraction_input(c2, "split_val", "Used to pick the best epoch.")
    per_class = c3.number_input("Examples per class (0 = all)", 0, 10**6, step=1, key="split_k",
                                help="Train on at most this many examples per class, to see how transfer helps "
                                     "small data.")
    seed = c4.number_input("Seed", 0, 10**6, step=1, key="split_seed")
    if notice := st.session_state.pop("split_notice", None):
        st.warning(notice, icon=":material/edit:")
    settings = {"test_fraction": float(test_fraction), "val_fraction": float(val_fraction),
                "per_class": int(per_class) or None, "seed": int(seed)}
    st.session_state["split_settings"] = settings
    return settings


def split_summary(ds: Dataset, settings: dict[str, Any]) -> Split | None:
    """How many examples each part gets; the split, or None (with the reason shown) when it is not possible."""
    try:
        split = make_split(ds, seed=settings["seed"], val_fraction=settings["val_fraction"],
                           test_fraction=settings["test_fraction"])
    except UserError as e:
        st.error(f"This split is not possible: {e}", icon=":material/block:")
        return None
    n_train = len(subset_per_class(ds.labels, split.train, settings["per_class"], settings["seed"]))
    n_val = len(subset_per_class(ds.labels, split.val, VAL_PER_CLASS, settings["seed"]))
    st.markdown(f"**Train {n_train:,} · Validation {n_val:,} · Test {len(split.test):,}**")
    st.caption(f"Validation picks the best epoch (at most {VAL_PER_CLASS} examples per class are used); the test "
               "part is never seen during training and gives the final score.")
    return split
