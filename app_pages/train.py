"""Train: choose strategies and settings, see the time estimate, start a comparison, watch it live."""

import streamlit as st

from components import engine, state
from components.choices import freeze_picker, strategy_picker
from components.run_card import comparison_cards
from tlcore.core.config import TrainConfig
from tlcore.core.errors import UserError
from tlcore.experiments import submit
from tlcore.experiments.estimate import estimate_comparison_seconds, format_duration
from tlcore.models import get_spec
from tlcore.train import prepare
from tlcore.train.defaults import resolve

st.title("Train")
source = state.data_source()
ds = state.active_dataset()
spec = get_spec(state.model_id(ds.modality))
split = st.session_state.get("split_settings", {})
st.markdown(f"**Dataset:** {ds.name} — {len(ds)} examples, {ds.num_classes} classes · "
            f"**Model:** {spec.title}")
st.caption("Change them on the Data and Models pages.")

group = state.live_comparison()
if group:  # the live comparison comes first: that is what someone arriving here wants to watch
    st.subheader("Current comparison")
    comparison_cards(group)
    st.subheader("Start another comparison")

suggested = state.freeze_through(spec.id)  # the Models page's layer advice, when someone chose to use it
strategies = strategy_picker("Strategies to compare", spec, default=["scratch", "linear_probe",
                                                                    "finetune_top" if suggested else "finetune"])
freeze_through = freeze_picker(spec, strategies, suggested)
left, right = st.columns(2)
seeds = left.number_input("Seeds", 1, 10, 1, help="Repeat everything with different random splits to see "
                          "how much results vary; 3 seeds give error bars.")
base = TrainConfig(data=source, model=spec.id, text_column=state.columns()[0], label_column=state.columns()[1],
                   **split)  # the Data page's split settings; TrainConfig's defaults otherwise
epochs = right.number_input("Epochs", 1, 200, resolve(base, spec).epochs,
                            help="Passes over the training examples. Training stops earlier when the "
                                 "validation accuracy stops improving.")
with st.expander("More settings"):
    c1, c2, c3 = st.columns(3)
    lr = c1.number_input("Learning rate (0 = automatic)", 0.0, 0.5, 0.0, format="%.5f",
                         help="Step size of the new last layer; pretrained layers use a fraction of it.")
    batch = c2.number_input("Batch size (0 = automatic)", 0, 1024, 0)
    smoothing = c3.number_input("Label smoothing", 0.0, 0.4, 0.0, step=0.05,
                                help="Softens targets; can make confidence better calibrated.")
config = base.with_(epochs=int(epochs), lr=lr or None, batch_size=int(batch) or None, label_smoothing=smoothing,
                    freeze_through=freeze_through)
try:
    prep = prepare(config, dataset=ds)
except UserError as exc:
    st.error(str(exc))
    st.stop()

if strategies:
    seconds = estimate_comparison_seconds(prep, strategies, int(seeds), engine.calibration())
    st.info(f"{len(strategies) * int(seeds)} runs on {engine.device()}: {format_duration(seconds)} in total "
            f"({len(prep.train_idx)} training, {len(prep.val_idx)} validation, {len(prep.split.test)} test "
            f"examples; images at {prep.resolved.image_size} px)." if ds.modality == "image" else
            f"{len(strategies) * int(seeds)} runs on {engine.device()}: {format_duration(seconds)} in total "
            f"({len(prep.train_idx)} training, {len(prep.split.test)} test texts).")
previous = strategies and submit.previous_comparison(engine.store(), config, list(strategies), int(seeds),
                                                    owner=state.workspace(), fingerprint=ds.fingerprint)
if previous:  # identical settings and data give identical numbers: offer them instead of the wait
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.info("A comparison with exactly these settings already ran on this data (or is running): training it "
              "again gives the same numbers.", icon=":material/replay:")
    if right.button("See that result", width="stretch"):
        state.started_comparison(previous)
        st.switch_page("app_pages/compare.py")
if st.button("Start comparison" if not previous else "Run it again", type="primary", disabled=not strategies):
    try:
        group_id, _, _ = submit.submit_comparison(engine.store(), config, list(strategies), int(seeds),
                                                   name=f"{spec.id} on {ds.name}", owner=state.workspace())
    except UserError as exc:
        st.error(str(exc))
    else:
        state.started_comparison(group_id)
        st.toast("Comparison queued: it keeps running if you leave this page.")
        st.rerun()
