"""Compare: how transfer strategies did against training from scratch, for one comparison (group of runs).

While runs of the comparison are queued or training, the results part reruns itself every few seconds (an
`st.fragment`); once nothing is active it reruns the page once, which stops the polling."""

import streamlit as st

from components import compare_view, engine, state, try_models, why_view
from components.compare_view import CHART_CONFIG
from components.run_card import run_title
from tlcore.experiments import comparison, figures

LIVE_REFRESH_S = 3.0

st.title("Compare")
store = engine.store()
group_id, first_records = compare_view.page_records(store)
live = comparison.status_counts(first_records)["active"] > 0


@st.fragment(run_every=LIVE_REFRESH_S if live else None)
def results() -> None:
    records = compare_view.reload_records(store, group_id)
    if live and not comparison.status_counts(records)["active"]:
        st.rerun()  # everything finished: draw the final page once, without polling
    compare_view.status_banner(records)
    final = comparison.final_frame(records)
    st.info(f"**{comparison.verdict(final)}**", icon=":material/emoji_events:")
    best = comparison.best_transfer(final)
    compare_view.curves_section(store, records)
    if not final.empty:
        st.subheader("Test accuracy")
        st.plotly_chart(figures.final_accuracy_figure(final), key="final", config=CHART_CONFIG)
        note = comparison.distillation_note(records)
        if note:
            st.caption(note)
    if best and "scratch" in set(final["strategy"]):
        why_view.why_section(records, best, compare_view.scratch_vs_transfer(records, best))
    if not final.empty:
        st.subheader("Cost")
        st.plotly_chart(figures.cost_figure(final), key="cost", config=CHART_CONFIG)
    st.download_button("Download metrics (CSV)", comparison.metrics_csv(records), file_name=f"{group_id}-metrics.csv",
                       mime="text/csv")


results()
if state.shared():  # the viewer may try the shared models on an example of their own (read-only, rate-limited)
    shown = comparison.models_to_try(compare_view.reload_records(store, group_id))
    try_models.try_shared_models(shown, {r.id: run_title(r) for r in shown})
