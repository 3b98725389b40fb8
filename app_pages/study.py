"""Study: accuracy against the number of training examples per class, scratch vs transfer, with error bars."""

import numpy as np
import streamlit as st

from components import context_card, engine, state
from components.choices import strategy_picker
from components.study_view import share_button, study_progress, study_results
from tlcore.core.config import TrainConfig
from tlcore.core.errors import UserError
from tlcore.experiments.estimate import estimate_study_seconds, format_duration
from tlcore.experiments.study import DEFAULT_PER_CLASS, StudySpec, allowed_per_class, per_class_label, submit_study
from tlcore.experiments.study.plan import default_max_steps
from tlcore.models import get_spec
from tlcore.runs.store import EVERYONE
from tlcore.train import prepare

SIZES = [1, 2, 5, 10, 25, 50, 100, None]

st.title("Data-efficiency study")
st.caption("How much data does each approach need? Every strategy is trained on 1, 2, 5, … examples per class, "
           "with several seeds, and always tested on the same held-out examples.")
store = engine.store()
shared = state.shared()
if shared:  # a read-only share link: this one study, no buttons that change anything
    study = store.get_study(shared[1], owner=EVERYONE)
    if study is None:
        st.error("The shared study no longer exists.")
        st.stop()
    st.subheader(study.name)
    context_card.context(store.study_runs(study.id))
    study_progress(study, read_only=True)
    study_results(study)
    st.stop()
owner = state.workspace()
studies = {s.id: s for s in store.list_studies(owner=owner)}
chosen = state.study()
if chosen and chosen not in studies:
    found = store.get_study(chosen, owner=owner)
    if found:
        studies[found.id] = found
    else:
        st.warning("The study in the link is not in this workspace (or no longer exists).")
if studies:
    options = list(studies)
    current = st.selectbox("Study", options, index=options.index(chosen) if chosen in studies else 0,
                           format_func=lambda s: studies[s].name)
    if current != chosen:
        state.set_study(current)
    study_progress(studies[current])
    study_results(studies[current])
    share_button(studies[current])

st.divider()
st.subheader("Start a study")
source = state.data_source()
ds = state.active_dataset()
spec = get_spec(state.model_id(ds.modality))
st.markdown(f"**Dataset:** {ds.name} ({len(ds)} examples, {ds.num_classes} classes) · **Model:** {spec.title}")
base = TrainConfig(data=source, model=spec.id, text_column=state.columns()[0], label_column=state.columns()[1])
try:
    prep = prepare(base, dataset=ds)
except UserError as exc:
    st.error(str(exc))
    st.stop()
allowed, _ = allowed_per_class(tuple(SIZES), np.bincount(ds.labels[prep.split.train], minlength=ds.num_classes))
strategies = strategy_picker("Strategies", spec, default=["scratch", "linear_probe", "knn"])
left, mid, right = st.columns(3)
sizes = left.multiselect("Training examples per class", list(allowed),
                         default=[k for k in allowed if k in DEFAULT_PER_CLASS], format_func=per_class_label,
                         help="Only sizes this dataset can provide are offered; "
                         "'all' uses every training example.")
seeds = mid.number_input("Seeds", 1, 10, 3, help="Each size is repeated with different random examples; "
                         "3 seeds give 95 % error bars.")
cap = right.number_input("Step budget per run (0 = none)", 0, 100_000, default_max_steps(base.device) or 0,
                         help="Caps the optimisation steps of each run, so large sizes finish in time. "
                              "Capped runs are marked in the results.")
cells = [(s, k) for k in sizes for _ in range(int(seeds)) for s in strategies]
if cells:
    seconds = estimate_study_seconds(prep, cells, cap or None, engine.calibration())
    st.info(f"{len(cells)} runs on {engine.device()}: {format_duration(seconds)}"
            " in total. Runs that already finished with the same settings are reused, not trained again.")
if st.button("Start study", type="primary", disabled=not cells):
    try:
        study_spec = StudySpec(base.with_(max_steps=int(cap) or None), tuple(strategies), tuple(sizes), int(seeds))
        submitted = submit_study(store, study_spec, owner=owner, name=f"{spec.id} on {ds.name}: data efficiency")
    except UserError as exc:
        st.error(str(exc))
    else:
        state.set_study(submitted.study_id)
        st.toast(f"Study queued: {submitted.new_runs} runs to train, {len(cells) - submitted.new_runs} reused.")
        st.rerun()
