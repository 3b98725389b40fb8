"""Data: pick a built-in dataset or upload one, see its checks and a preview, and choose how it is split."""

import streamlit as st

from components import data_choice, previews, split_panel, state
from tlcore.core.errors import UserError
from tlcore.data import build_report

st.title("Data")
st.session_state.setdefault("data_mode", "Built-in dataset" if state.data_source() in data_choice.BUILTINS
                            else "Upload")
mode = st.radio("Where is the data?", ["Built-in dataset", "Upload"], horizontal=True, key="data_mode",
                on_change=data_choice.clear_error)
if mode == "Built-in dataset":
    data_choice.builtin_picker()
else:
    data_choice.upload_widgets()
if st.session_state.get("data_error"):
    st.error(st.session_state["data_error"], icon=":material/block:")

current = state.data_source()
text_column, label_column = state.columns()
data_choice.column_pickers(current, text_column, label_column)
try:
    ds = state.dataset(current, text_column, label_column)
except UserError as e:
    st.error(f"The dataset {data_choice.label(current)} cannot be used: {e} Choose another dataset above.",
             icon=":material/block:")
    st.stop()

st.subheader(f"Active dataset: {data_choice.label(current)}")
st.caption(f"{len(ds):,} {'images' if ds.modality == 'image' else 'texts'} in {ds.num_classes} classes"
           + (f" · text column '{text_column}', label column '{label_column}'" if text_column else ""))
st.subheader("Split")
settings = split_panel.split_settings()
split = split_panel.split_summary(ds, settings)
st.subheader("Checks")
previews.report_panel(build_report(ds, split))
st.subheader("Preview")
if ds.modality == "image":
    previews.image_grid(ds, per_class=6, seed=settings["seed"])
else:
    previews.text_table(ds, n=20, seed=settings["seed"])
