"""Models: which model suits the data (a ranking without training, then which of its layers transfer), and a
card per usable model for the dataset's kind (images or text); the ones this server cannot load
now are listed once, compactly, with the reason and what to do."""

import streamlit as st

from components import state
from components.layers_view import layers_section
from components.ranking_view import ranking_options, ranking_section
from tlcore.core.errors import UserError
from tlcore.models import ModelSpec, availability, get_spec, list_specs, named

st.title("Models")
try:
    dataset = state.dataset(state.data_source(), *state.columns())
    modality = dataset.modality
except UserError:
    dataset, modality = None, "image"
st.write(f"Pretrained models for **{'images' if modality == 'image' else 'text'}**. Each one is also trained "
         "from scratch (random start) when you compare strategies, so you see what pretraining adds.")


def _facts(spec: ModelSpec) -> str:
    size = f"{spec.input_size} px input" if spec.modality == "image" else f"up to {spec.max_length} tokens"
    return f"{spec.params_m:g} M parameters · {size} · licence {spec.licence}"


specs = list_specs(modality)
usable = [s for s in specs if availability(s).available]
unusable = [s for s in specs if not availability(s).available]

split = st.session_state.get("split_settings", {})
if dataset is not None:
    with st.container(border=True):
        ranking_section(state.data_source(), dataset, split)
chosen = state.model_id(modality)  # after the ranking, which preselects its best model
if dataset is not None and availability(get_spec(chosen)).available:
    with st.expander(f"Which layers of {get_spec(chosen).title} transfer?"):
        layers_section(state.data_source(), get_spec(chosen), ranking_options(split))

columns = st.columns(2)
for i, spec in enumerate(usable):
    with columns[i % 2].container(border=True):
        st.markdown(f"### {spec.title}" + (" :material/check_circle: selected" if spec.id == chosen else ""))
        st.write(spec.note)
        st.caption(f"{_facts(spec)}  \nWeights: {spec.source} ({availability(spec).reason})")
        if st.button("Use this model", key=f"use-{spec.id}", disabled=spec.id == chosen):
            state.set_model(spec.id)
            st.rerun()

if unusable:
    reasons = sorted({availability(s).reason for s in unusable})
    with st.expander(f"{len(unusable)} more model{'s' if len(unusable) != 1 else ''} that this server cannot load "
                     "now", icon=":material/cloud_off:"):
        st.caption("Why: " + "; ".join(reasons) + ". The models above work without it.")
        st.markdown("\n".join(f"- **{s.title}** — {s.note} ({_facts(s)})" for s in unusable))

st.subheader("Any other model")
library = "timm" if modality == "image" else "the Hugging Face hub"
example = "convnext_nano.in12k" if modality == "image" else "distilbert-base-uncased"
query = st.text_input(f"Search {library} by name", placeholder=f"e.g. {example}", key="model-search")
if query:
    try:
        found = named.search(query, modality)
    except UserError as exc:
        found = []
        st.warning(str(exc))
    if not found:
        st.info(f"No {library} model matches {query!r}.")
    for model_id in found:
        try:
            spec = get_spec(model_id)
        except UserError as exc:
            st.warning(str(exc))
            continue
        avail = availability(spec)
        left, right = st.columns([4, 1])
        left.markdown(f"**{model_id}**  \n" + (f"Available: {avail.reason}" if avail.available
                                                 else f"Not available here: {avail.reason}"))
        if right.button("Use", key=f"use-{model_id}", disabled=not avail.available or model_id == chosen):
            state.set_model(model_id)
            st.rerun()
