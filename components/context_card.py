"""What a comparison is about and what its words mean, for someone who was not there when it ran (a share
link's reader): a header card of facts and a short glossary. Nothing here names the server, its device,
its queue or the workspace."""

from __future__ import annotations

import streamlit as st

from tlcore.core import strategies
from tlcore.experiments import comparison
from tlcore.runs.store import RunRecord

TERMS = {
    "Validation accuracy": "the share of a small set of held-back examples the model gets right after each pass "
                           "over the training data; it shows progress while training.",
    "Test accuracy": "the share of examples the model never saw while training that it labels correctly; the "
                     "final score.",
    "Seed": "one repeat of the whole experiment with a different random split and starting point; more seeds "
            "show how much the result depends on luck.",
    "95 % interval": "the range the true average accuracy lies in, judged from the seeds; when two ranges do not "
                     "overlap, the difference is very unlikely to be chance. With fewer than 3 seeds it is very "
                     "wide or missing.",
    "Trainable parameters": "how many numbers in the network are adjusted during training; fewer means cheaper "
                            "and faster.",
    "Epoch": "one pass over all training examples.",
}


def context(records: list[RunRecord]) -> None:
    """The header card with the glossary beside it (below it on a phone). The glossary starts folded, so that
    the verdict below still shows on the first screen of a shared view."""
    facts, words = st.columns([3, 2])
    with facts:
        header_card(records)
    with words:
        glossary(records)


def header_card(records: list[RunRecord]) -> None:
    """Dataset and size, classes, model, strategies, repeats and date, in a bordered card."""
    facts = comparison.describe(records)
    with st.container(border=True):
        st.markdown("  \n".join(f"**{name}:** {value}" for name, value in facts.items()))


def glossary(records: list[RunRecord]) -> None:
    """The strategies of this comparison in one sentence each, and the terms the charts use."""
    ids = sorted({r.config.get("strategy", "") for r in records}, key=strategies.order)
    lines = [f"- **{strategies.title(s)}:** {strategies.get(s).description}" for s in ids if s in strategies.IDS]
    lines += [f"- **{term}:** {meaning}" for term, meaning in TERMS.items()]
    with st.expander("What the words mean", icon=":material/menu_book:"):
        st.markdown("\n".join(lines))
