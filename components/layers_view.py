"""The Models page's "Which layers transfer?" for the chosen model: the per-depth curve, the freeze suggestion
and the domain gauge. One forward pass of the model over the training items: a background job
(`components.background`), polled like the ranking."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import background, state
from components.ranking_view import ranking_argv
from tlcore.core import strategies
from tlcore.experiments import figures
from tlcore.experiments.layers import LayerReport
from tlcore.models import ModelSpec

GAUGE_WORDS = {"near": "close to", "moderate": "somewhat unlike", "far": "far from"}


def layers_section(source: str, spec: ModelSpec, options: dict[str, Any]) -> None:
    st.write("Features taken at several depths of the model, each scored on your training examples: where the "
             "curve peaks says how much of the network to keep frozen when fine-tuning.")
    argv = [*ranking_argv(source, options), "--layers", spec.id]
    job = background.shown_state(argv, "Reading every depth")
    if job.status == "running":
        return
    if job.status == "done" and job.result:
        show_report(LayerReport.from_dict(job.result))
        return
    if background.start_button(argv, "Show which layers transfer", "layers-run",
                               "One pass of this model over your training examples (seconds to a minute on a CPU)."):
        background.start(argv)
        st.rerun()


def show_report(report: LayerReport) -> None:
    st.markdown(f"**{report.advice}**")
    st.plotly_chart(figures.layer_curve_figure([vars(c) for c in report.curve], report.freeze_through),
                    key="layer-curve", config={"displayModeBar": False})
    gauge = report.gauge
    if gauge is None:
        st.caption("No distance gauge for text models: they have no pretrained classifier to ask.")
    else:
        st.progress(min(gauge.msp / 0.6, 1.0), text=f"Your data looks {GAUGE_WORDS[gauge.level]} what "
                    f"{report.title} was pretrained on (its pretrained classifier's confidence: {gauge.msp:.0%})")
        (st.warning if gauge.warn else st.caption)(gauge.message)
    st.caption(f"Measured on {report.n_train:,} training examples in {report.seconds:.1f} s.")
    if report.freeze_through < len(report.curve) - 1:  # partial freezing advised: Train can take it as it is
        stage = report.curve[report.freeze_through].depth
        if st.button("Use this on the Train page", icon=":material/arrow_forward:", key="use-freeze",
                     help=f"Chooses \"{strategies.title('finetune_top')}\" with the network frozen up to {stage}."):
            state.set_model(report.model_id)
            state.set_freeze_through(report.model_id, stage)
            st.switch_page("app_pages/train.py")
