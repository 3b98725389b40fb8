"""Predict: try finished models on a new image or text, side by side, and download them.

The page loads a model (and torch) only to answer an example or to make an ONNX file, and builds the weights'
zip only when it is downloaded: a rerun (each text typed, each model picked) then costs no model load and no
compression of the weights (a text model's are about 90 MB)."""

from functools import partial

import streamlit as st

from components import engine, state
from components.run_card import run_title
from components.try_models import example_input, predictions_side_by_side
from tlcore.core.errors import UserError
from tlcore.models import modality_of
from tlcore.runs.paths import has_weights, weights_zip

st.title("Predict")
store = engine.store()
group = state.comparison()
workspace = state.workspace()
runs = store.list_runs(group_id=group, owner=workspace, statuses=["succeeded"]) if group else []
runs = runs or store.list_runs(owner=workspace, statuses=["succeeded"], limit=50)
baselines = [r for r in runs if r.config.get("strategy") == "knn"]  # the nearest-neighbour baseline trains no model
runs = [r for r in runs if has_weights(r.id)]
if not runs:
    st.info("No trained models yet. Train a comparison first.")
    st.page_link("app_pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()
labels = {r.id: f"{run_title(r)} — {r.config['model']} on {state.run_data_label(r)} "
                f"({r.result['test_accuracy']:.0%} test accuracy)" for r in runs}
default = [r.id for r in runs if r.config["seed"] == min(x.config["seed"] for x in runs)][:2]
chosen = st.multiselect("Models to try (side by side)", list(labels), default=default, format_func=labels.get)
if baselines:
    st.caption("The nearest-neighbour baseline is not listed: it trains no model, it compares each example with "
               "the training examples.")
if not chosen:
    st.stop()
try:
    modalities = {r.id: modality_of(r.config["model"]) for r in runs if r.id in chosen}
except UserError as exc:  # a model id this version no longer knows
    st.error(str(exc))
    st.stop()
modality = modalities[chosen[0]]
if any(m != modality for m in modalities.values()):
    st.error("Pick models trained on the same kind of data (all images or all texts).")
    st.stop()

example = example_input(modality, camera=True)
if example is not None:
    predictions_side_by_side(chosen, {run_id: labels[run_id].split(" — ")[0] for run_id in chosen}, example)

st.subheader("Download a trained model")
run_id = st.selectbox("Model", chosen, format_func=labels.get)
left, right = st.columns(2)
left.download_button("Weights + labels + config (.zip)", data=partial(weights_zip, run_id), file_name=f"{run_id}.zip",
                     mime="application/zip")
if right.button("Prepare an ONNX file"):
    from tlcore.experiments.predict import export_onnx_bytes  # torch: only when someone asks for the file

    try:
        st.session_state["onnx"] = (run_id, export_onnx_bytes(run_id))
    except UserError as exc:
        right.error(str(exc))
if st.session_state.get("onnx", (None,))[0] == run_id:
    right.download_button("Download ONNX", data=st.session_state["onnx"][1], file_name=f"{run_id}.onnx")
