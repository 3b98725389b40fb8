"""Runs: the history — filter, open, rename, delete (with confirmation) and see the exact config."""

import pandas as pd
import streamlit as st

from components import engine, state
from components.run_card import describe_node, run_title
from tlcore.core import strategies
from tlcore.experiments.quotas import describe_usage
from tlcore.runs.artifacts import delete_artifacts

st.title("Runs")
store = engine.store()
workspace = state.workspace()
records = store.list_runs(owner=workspace, limit=1000)
st.caption(describe_usage(store, workspace))
if not records:
    st.info("No runs yet.")
    st.page_link("app_pages/home.py", label="Run the demo from Home", icon=":material/home:")
    st.stop()

c1, c2, c3 = st.columns(3)
statuses = c1.multiselect("Status", sorted({r.status for r in records}))
models = c2.multiselect("Model", sorted({r.config["model"] for r in records}))
text = c3.text_input("Name contains")
shown = [r for r in records if (not statuses or r.status in statuses) and (not models or r.config["model"] in models)
         and text.lower() in r.name.lower()]
st.dataframe(pd.DataFrame([{
    "name": r.name, "status": r.status, "test accuracy": (r.result or {}).get("test_accuracy"),
    "strategy": strategies.title(r.config["strategy"]), "model": r.config["model"], "data": state.run_data_label(r),
    "seed": r.config["seed"], "run": r.id, "comparison": r.group_id, "node": r.node or "",
} for r in shown]), hide_index=True, column_config={  # the answer people look for first, before the details
    "name": st.column_config.TextColumn(width="medium"),
    "test accuracy": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0, width="small"),
})

if not shown:
    st.stop()
by_id = {r.id: r for r in shown}
run_id = st.selectbox("Open a run", list(by_id), format_func=lambda i: f"{i} — {run_title(by_id[i])} — {by_id[i].name}")
record = store.get(run_id, owner=workspace)
if record is None:  # deleted meanwhile (e.g. in another tab)
    st.info("That run was not found; it may have just been deleted.")
    st.stop()
st.markdown(f"**Status:** {record.status}" + (f" — {record.error}" if record.error else ""))
if record.node:
    st.caption(f"**Ran on:** {describe_node(record, store.attempts(run_id))}")
if record.group_id and st.button("Open its comparison"):
    state.set_comparison(record.group_id)
    st.switch_page("app_pages/compare.py")
with st.expander("Exact configuration"):
    st.json(record.config)
    if record.result:
        st.json(record.result)
new_name = st.text_input("Name", value=record.name, key=f"name-{run_id}")
if new_name != record.name and st.button("Rename"):
    store.rename(run_id, new_name, owner=workspace)
    st.rerun()
if record.is_final:
    confirm = st.checkbox("Yes, delete this run and its trained model", key=f"confirm-{run_id}")
    if st.button("Delete run", disabled=not confirm):
        if store.delete(run_id, owner=workspace):
            delete_artifacts(run_id)
        st.success("Deleted.")
        st.rerun()
else:
    st.caption("A run that has not finished can be deleted once it is cancelled.")
    if st.button("Cancel run", icon=":material/stop_circle:", key=f"cancel-{run_id}"):
        status = store.request_cancel(run_id, owner=workspace)
        st.toast("Cancelled." if status == "cancelled" else "Cancelling: it stops after the current step.")
        st.rerun()
