"""Trying finished models on a new example, side by side: the Predict page's core, and the "Try these models"
section a share link's viewer gets (read-only: it runs the shared models and changes nothing; its predictions
are counted per visitor address, `Limits.max_shared_predictions_per_hour`)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import streamlit as st

from components import state
from tlcore.core.errors import UserError
from tlcore.core.settings import Limits
from tlcore.data.images import load_image_bytes
from tlcore.experiments.rate_limit import SlidingWindow
from tlcore.models import modality_of
from tlcore.runs.paths import has_weights

if TYPE_CHECKING:
    from tlcore.experiments.predict import Predictor
    from tlcore.runs.store import RunRecord

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]


@st.cache_resource(max_entries=8, show_spinner="Loading the trained model…")
def predictor(run_id: str) -> Predictor:
    from tlcore.experiments.predict import Predictor  # torch: only once someone tries a model, not to draw the page

    return Predictor(run_id)


@st.cache_resource
def shared_budget() -> SlidingWindow:
    """One per server: share-link predictions per visitor address in the last hour."""
    return SlidingWindow(Limits.from_env().max_shared_predictions_per_hour, 3600.0)


def example_input(modality: str, *, camera: bool = False, key: str = "example") -> Any | None:
    """A new image (uploaded, or from the camera when `camera`) or text to classify; None until there is one."""
    if modality != "image":
        return st.text_area("A text to classify", placeholder="Type or paste a sentence…", key=f"{key}_text") or None
    if camera:
        upload_tab, camera_tab = st.tabs(["Upload a photo", "Take a photo"])
        upload = (upload_tab.file_uploader("An image to classify", type=IMAGE_TYPES, key=f"{key}_file")
                  or camera_tab.camera_input("Take a photo to classify", key=f"{key}_camera"))
    else:
        upload = st.file_uploader("An image to classify", type=IMAGE_TYPES, key=f"{key}_file")
    try:  # within the server's image limits (TLAB_MAX_IMAGE_PIXELS), like every other image
        example = load_image_bytes(upload.getvalue()) if upload else None
    except UserError as exc:
        st.error(str(exc))
        return None
    if example is not None:
        st.image(example, width=224)
    return example


def predictions_side_by_side(run_ids: list[str], titles: dict[str, str], example: Any) -> None:
    """Each model's top five classes with their probabilities, one column per model."""
    for column, run_id in zip(st.columns(len(run_ids)), run_ids):
        with column:
            st.markdown(f"**{titles[run_id]}**")
            try:
                top = predictor(run_id).predict([example], top=5)[0]
            except UserError as exc:
                st.error(str(exc))
                continue
            st.dataframe({"class": [c for c, _ in top], "probability": [p for _, p in top]}, hide_index=True,
                         column_config={"probability": st.column_config.ProgressColumn(
                             "probability", min_value=0.0, max_value=1.0, format="percent")})


def try_shared_models(runs: list[RunRecord], titles: dict[str, str]) -> None:
    """The share link's "Try these models": the shared comparison's models on the viewer's own example. Drawing it
    loads no model: that waits for an example."""
    runs = [r for r in runs if has_weights(r.id)]  # a trained model deleted since is not offered
    try:
        modality = modality_of(runs[0].config["model"]) if runs else None
    except UserError:  # a model id this version no longer knows: nothing to try
        modality = None
    if modality is None:
        return
    run_ids = [r.id for r in runs]
    st.subheader("Try these models")
    st.caption(f"Give the models a new {'photo' if modality == 'image' else 'text'} and see what each one says. "
               "Nothing you give is kept, and nothing here changes the shared results.")
    example = example_input(modality, camera=True, key="shared_example")
    if example is None:
        return
    budget, client = shared_budget(), state.client_address()
    digest = hashlib.sha256(example.tobytes() if hasattr(example, "tobytes") else str(example).encode()).hexdigest()
    counted = st.session_state.get("shared_example_counted") == digest  # reruns show it again for free
    if not counted and not budget.take(client):
        st.warning(f"This link has tried enough examples for now; try again in about "
                   f"{budget.wait_s(client) / 60:.0f} min.", icon=":material/hourglass:")
        return
    st.session_state["shared_example_counted"] = digest
    predictions_side_by_side(run_ids, titles, example)
