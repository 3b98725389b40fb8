"""The Study page's pieces: live progress of a study's cells and its results (charts, verdicts, report)."""

from __future__ import annotations

import streamlit as st

from components import engine, state
from components.compare_view import CHART_CONFIG
from tlcore.experiments import figures, workspaces
from tlcore.experiments.comparison import distillation_note
from tlcore.experiments.estimate import format_duration
from tlcore.experiments.study import results
from tlcore.experiments.study.report import render_report
from tlcore.runs.store import StudyRecord


@st.fragment(run_every=3.0)
def study_progress(study: StudyRecord, read_only: bool = False) -> None:
    """Polls the store; when another cell finishes, the whole page reruns so the charts catch up."""
    records = engine.store().study_runs(study.id)
    total = len(records)
    final = sum(r.is_final for r in records)
    key = f"study_final_{study.id}"
    if key in st.session_state and st.session_state[key] != final:
        st.session_state[key] = final
        st.rerun()
    st.session_state[key] = final
    if final == total:
        return
    running = [r for r in records if r.status == "running"]
    remaining = sum((r.eta_s or 0) for r in running)
    st.progress(final / max(total, 1), text=f"{final} of {total} runs finished"
                + (f" · now: {running[0].name} ({format_duration(remaining)} left for it)" if running else ""))
    if not read_only and st.button("Cancel the rest of this study", icon=":material/stop_circle:"):
        for r in records:
            if not r.is_final:
                engine.store().request_cancel(r.id, owner=state.workspace())
        st.toast("Cancelling: finished runs are kept, and a restarted study reuses them.")


def study_results(study: StudyRecord) -> None:
    records = engine.store().study_runs(study.id)
    cells = results.cells_frame(records)
    summary = results.summary_frame(cells)
    failed = cells[cells["status"].isin(["failed", "cancelled", "interrupted"])]
    if len(failed):
        st.warning(f"{len(failed)} run(s) did not finish ({', '.join(sorted(set(failed['status'])))}); they are "
                   "left out. Start the same study again to fill them in: finished runs are reused.")
    if summary.empty:
        st.caption("No run of this study has finished yet; results appear here as they come in.")
        return
    verdicts = results.size_verdicts(summary, results.paired_tests(cells, summary))
    st.info(f"**{results.headline(verdicts)}**", icon=":material/emoji_events:")
    multiplier = results.data_multiplier(summary)
    if multiplier and multiplier.get("text"):
        st.markdown(f"**Data multiplier:** {multiplier['text']}")
    st.plotly_chart(figures.accuracy_vs_data(summary, cells), key="study_accuracy", config=CHART_CONFIG)
    taught = distillation_note(records)
    if taught:
        st.caption(taught)
    if verdicts:
        st.subheader("Is the gap real?")
        st.markdown("\n".join(f"- **{v['k_label']} per class** ({v['verdict'].short}): {v['verdict'].sentence}"
                              for v in verdicts))
        st.caption("Each size: the best transfer strategy against from-scratch. A gap is called clear only when "
                   "the 95 % intervals over seeds do not overlap and, on the same test items, an exact paired "
                   "test (McNemar's with one seed) finds it unlikely to be chance.")
    with st.expander("Cost: accuracy per second and per trainable parameter"):
        st.plotly_chart(figures.study_cost_figure(summary), key="study_cost", config=CHART_CONFIG)
    if st.toggle("Show per-class curves"):
        per_class = results.per_class_frame(cells)
        if not per_class.empty:
            st.plotly_chart(figures.per_class_figure(per_class), key="study_per_class", config=CHART_CONFIG)
    # a callable: the ~5 MB report (plotly.js inside) is built only when someone clicks, not on every rerun
    store = engine.store()
    st.download_button("Download the report (HTML)", lambda: render_report(store, study),
                       file_name=f"{study.id}.html", mime="text/html", icon=":material/download:",
                       help="One file with the charts, verdicts, data hash, every setting and seed, and the "
                            "environment; it opens offline.")


def share_button(study: StudyRecord) -> None:
    """A read-only link to this study (nobody gets the workspace, so nothing can be changed through it)."""
    if study.owner and st.button("Share a read-only link", icon=":material/share:", key=f"share_{study.id}"):
        token = workspaces.create_share(engine.store(), study.owner, "study", study.id)
        st.code(state.share_url(token), language=None)
        st.caption("Anyone with this link can see this study's results, and nothing else of yours.")
