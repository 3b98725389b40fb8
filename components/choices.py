"""Pickers the Train and Study pages share."""

from __future__ import annotations

import streamlit as st

from tlcore.core import strategies
from tlcore.models import ModelSpec, get_spec


@st.cache_data(show_spinner=False)
def _stage_names(model_id: str) -> list[str]:
    from tlcore.train.depths import stage_names  # builds the network (torch): only once the strategy is chosen

    return stage_names(get_spec(model_id))


def freeze_picker(spec: ModelSpec, chosen: list[str], suggested: str | None) -> str | None:
    """Where "Fine-tune the last layers" stops freezing, when it is chosen and the model has named stages;
    `suggested` (the Models page's layer advice) comes preselected."""
    names = _stage_names(spec.id) if "finetune_top" in chosen else []
    if not names:
        return None
    options: list[str | None] = [None, *names]
    return st.selectbox(f"{strategies.title('finetune_top')}: keep frozen up to", options,
                        index=options.index(suggested) if suggested in options else 0,
                        format_func=lambda name: "the first two thirds of the network" if name is None else name,
                        help="The stages before and including this one keep their pretrained weights; the later "
                             "ones learn. The Models page's \"Which layers transfer?\" suggests where to stop.")


def strategy_picker(label: str, spec: ModelSpec, default: list[str]) -> list[str]:
    """A multiselect of the strategies this model supports, titled and explained from the registry."""
    choices = strategies.strategies_for(spec)
    ids = [s.id for s in choices]
    return st.multiselect(label, ids, default=[d for d in default if d in ids], format_func=strategies.title,
                          help="\n\n".join(f"**{s.title}** — {s.description}" for s in choices))
