"""Pickers the Train and Study pages share."""

from __future__ import annotations

import streamlit as st

from tlcore.core import strategies
from tlcore.models import ModelSpec


def strategy_picker(label: str, spec: ModelSpec, default: list[str]) -> list[str]:
    """A multiselect of the strategies this model supports, titled and explained from the registry."""
    choices = strategies.strategies_for(spec)
    ids = [s.id for s in choices]
    return st.multiselect(label, ids, default=[d for d in default if d in ids], format_func=strategies.title,
                          help="\n\n".join(f"**{s.title}** — {s.description}" for s in choices))
