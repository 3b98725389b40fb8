"""Home: what Transfer Lab does, and a one-click demo comparison."""

import streamlit as st

from components import engine, state
from tlcore.core.config import TrainConfig
from tlcore.core.errors import UserError
from tlcore.experiments import submit

DEMO = TrainConfig(data="tux-photos", model="mobilenet_v2")
DEMO_STRATEGIES = ["scratch", "linear_probe"]

st.title("Transfer Lab")
st.markdown(
    "Bring a small labelled dataset — photos in folders, or a spreadsheet of texts and labels. "
    "Transfer Lab trains a network that already learned from millions of examples, and the very same "
    "network from a random start, on exactly the same data. "
    "You watch both learn live and see, with honest error bars, how much the head start is worth.")

st.subheader("See it in one click")
st.write(f"The demo compares a pretrained MobileNetV2 with the same network from scratch on 167 photos "
         f"of animals, fruit, flowers and vegetables, with three seeds. On {engine.device()} it takes about "
         "four minutes.")
if st.button("Run the demo", type="primary", icon=":material/play_arrow:"):
    try:
        group_id, _, _ = submit.submit_comparison(engine.store(), DEMO, DEMO_STRATEGIES, seeds=3,
                                                   name="Demo: photos, pretrained vs scratch", owner=state.workspace())
    except UserError as exc:
        st.error(f"The demo cannot start: {exc}")
    else:
        state.set_data_source(DEMO.data)
        state.set_model(DEMO.model)
        state.set_comparison(group_id)
        st.switch_page("app_pages/train.py")

st.subheader("Or bring your own data")
c1, c2, c3 = st.columns(3)
c1.page_link("app_pages/data.py", label="1. Pick or upload a dataset", icon=":material/dataset:")
c2.page_link("app_pages/models.py", label="2. Choose a pretrained model", icon=":material/neurology:")
c3.page_link("app_pages/train.py", label="3. Train and compare", icon=":material/model_training:")
