"""Compare: how transfer strategies did against training from scratch, for one comparison (group of runs)."""

import streamlit as st

from components import compare_view, engine
from tlcore.experiments import comparison, figures

st.title("Compare")
store = engine.store()
group_id, records = compare_view.page_records(store)
compare_view.status_banner(records)

final = comparison.final_frame(records)
st.info(f"**{comparison.verdict(final)}**", icon=":material/emoji_events:")
best = comparison.best_transfer(final)
compare_view.curves_section(store, records)
if not final.empty:
    st.subheader("Test accuracy")
    st.plotly_chart(figures.final_accuracy_figure(final), key="final")
if best and "scratch" in set(final["strategy"]):
    compare_view.scratch_vs_transfer(records, best)
if not final.empty:
    st.subheader("Cost")
    st.plotly_chart(figures.cost_figure(final), key="cost")
st.download_button("Download metrics (CSV)", comparison.metrics_csv(records), file_name=f"{group_id}-metrics.csv",
                   mime="text/csv")
