"""Models: a card per model for the dataset's kind (images or text), with availability and advice."""

import streamlit as st

from components import state
from tlcore.core.errors import UserError
from tlcore.models import availability, list_specs

st.title("Models")
try:
    modality = state.dataset(state.data_source(), *state.columns()).modality
except UserError:
    modality = "image"
chosen = state.model_id(modality)
st.write(f"Pretrained models for **{'images' if modality == 'image' else 'text'}**. Each one is also trained "
         "from scratch (random start) when you compare strategies, so you see what pretraining adds.")

columns = st.columns(2)
for i, spec in enumerate(list_specs(modality)):
    avail = availability(spec)
    with columns[i % 2].container(border=True):
        st.markdown(f"### {spec.title}" + (" :material/check_circle: selected" if spec.id == chosen else ""))
        st.write(spec.note)
        size = f"{spec.input_size} px input" if modality == "image" else f"up to {spec.max_length} tokens"
        st.caption(f"{spec.params_m:g} M parameters · {size} · licence {spec.licence}  \n"
                   f"Weights: {spec.source}")
        if avail.available:
            st.caption(f"Available: {avail.reason}")
        else:
            st.warning(f"Not available here: {avail.reason}")
        if st.button("Use this model", key=f"use-{spec.id}", disabled=not avail.available or spec.id == chosen):
            state.set_model(spec.id)
            st.rerun()
