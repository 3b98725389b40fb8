"""The Models page's "Which model suits my data?": rank on click, show the ranking in words, preselect the top.

A ranking whose features are all cached already is computed right here (it only reads the cache and scores:
well under a second for a few hundred examples); otherwise it runs as a background job (`components.background`)
and this part of the page polls it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components import background, state
from tlcore.core.errors import UserError
from tlcore.data import Dataset
from tlcore.experiments import ranking


def ranking_options(split: dict[str, Any]) -> dict[str, Any]:
    """The Data page's split settings and the dataset's columns, as TrainConfig fields for the ranking."""
    text_column, label_column = state.columns()
    options = {"seed": split.get("seed"), "per_class": split.get("per_class") or None,
               "test_fraction": split.get("test_fraction"), "val_fraction": split.get("val_fraction"),
               "text_column": text_column, "label_column": label_column}
    return {k: v for k, v in options.items() if v is not None}


def ranking_argv(source: str, options: dict[str, Any]) -> list[str]:
    argv = ["rank", "--data", source]
    for name, value in sorted(options.items()):
        argv += [f"--{name.replace('_', '-')}", str(value)]
    return argv


def ranking_section(source: str, ds: Dataset, split: dict[str, Any]) -> None:
    st.subheader("Which model suits my data?")
    st.write("Every available model looks at your training examples once, without training, and is scored on "
             "how well its features already separate your classes. The best start is then chosen for Train.")
    options = ranking_options(split)
    argv = ranking_argv(source, options)
    job = background.shown_state(argv, "Ranking the models")
    if job.status == "running":
        return
    if job.status == "done" and job.result:
        _show(ranking.Ranking.from_dict(job.result), background.job_key(argv))
    label = "Rank again" if job.status == "done" else "Rank the models for my data"
    if background.start_button(argv, label, "rank-models",
                               "Uses the cached features when the models have seen this data before."):
        _rank(source, ds, options, argv)


def _rank(source: str, ds: Dataset, options: dict[str, Any], argv: list[str]) -> None:
    try:
        with st.spinner("Reading cached features…"):
            warm = ranking.rank_models(source, options, dataset=ds, cached_only=True)
    except UserError as exc:
        st.error(str(exc))
        return
    if warm is None:
        background.start(argv)
    else:
        background.save(argv, warm.to_dict())
    st.rerun()


def _show(result: ranking.Ranking, key: str) -> None:
    applied = f"{key}:{result.seconds}"
    if st.session_state.get("ranking_applied") != applied:  # preselect once per result, then let people choose
        st.session_state["ranking_applied"] = applied
        state.set_model(result.best)
    st.success(f"**{result.headline}**", icon=":material/emoji_events:")
    st.write(result.certainty)
    st.caption(result.second_opinion)
    st.dataframe(_table(result), hide_index=True, key="ranking-table")
    cached = sum(m.from_cache for m in result.models)
    st.caption(f"Ranked on {result.n_train:,} training examples in {result.seconds:.1f} s"
               + (f" ({cached} of {len(result.models)} from cached features)." if cached else "."))
    if result.skipped:  # the page lists them, with why, below the cards
        st.caption(f"Not ranked: {len(result.skipped)} model(s) this server cannot load now.")


def _table(result: ranking.Ranking) -> pd.DataFrame:
    return pd.DataFrame([{"Model": m.title, "Verdict": m.verdict, "Score (LogME)": round(m.logme, 3),
                          "Neighbours agree": f"{m.knn_loo:.0%}", "Seconds": round(m.seconds, 1)}
                         for m in result.models])
