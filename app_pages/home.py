"""Home: what Transfer Lab does, and a one-click demo comparison (shown at once when it ran before)."""

import time

import streamlit as st

from components import engine, state
from tlcore.core.config import TrainConfig
from tlcore.core.errors import UserError
from tlcore.experiments import submit
from tlcore.experiments.estimate import estimate_comparison_seconds, format_duration
from tlcore.train import prepare

DEMO = TrainConfig(data="tux-photos", model="mobilenet_v2")
DEMO_STRATEGIES = ["scratch", "linear_probe"]
DEMO_SEEDS = 3


def start_demo() -> None:
    """Queue the demo's runs and watch them on Train."""
    try:
        group_id, _, _ = submit.submit_comparison(engine.store(), DEMO, DEMO_STRATEGIES, seeds=DEMO_SEEDS,
                                                   name="Demo: photos, pretrained vs scratch", owner=state.workspace())
    except UserError as exc:
        st.error(f"The demo cannot start: {exc}")
        return
    open_demo(group_id, "app_pages/train.py")


def open_demo(group_id: str, page: str) -> None:
    state.set_data_source(DEMO.data)
    state.set_model(DEMO.model)
    state.started_comparison(group_id)
    st.switch_page(page)


st.title("Transfer Lab")
st.markdown(
    "Bring a small labelled dataset — photos in folders, or a spreadsheet of texts and labels. "
    "Transfer Lab trains a network that already learned from millions of examples, and the very same "
    "network from a random start, on exactly the same data. "
    "You watch both learn live and see, with honest error bars, how much the head start is worth.")

st.subheader("See it in one click")
demo_data = state.dataset(DEMO.data)
prep = prepare(DEMO, dataset=demo_data)
seconds = estimate_comparison_seconds(prep, DEMO_STRATEGIES, DEMO_SEEDS, engine.calibration())
st.write(f"The demo compares a pretrained MobileNetV2 with the same network from scratch on {len(demo_data)} photos "
         f"of animals, fruit, flowers and vegetables, with three seeds. On {engine.device()} it takes "
         f"{format_duration(seconds)}.")
previous = submit.previous_comparison(engine.store(), DEMO, DEMO_STRATEGIES, DEMO_SEEDS, owner=state.workspace(),
                                      fingerprint=demo_data.fingerprint)
if previous is None:
    if st.button("Run the demo", type="primary", icon=":material/play_arrow:"):
        start_demo()
else:
    runs = engine.store().list_runs(group_id=previous, owner=state.workspace())
    when = time.strftime("%d %b %H:%M", time.localtime(max(r.created for r in runs)))
    running = any(not r.is_final for r in runs)
    st.caption(f"The demo {'is running' if running else 'already ran'} in this workspace (started {when}) with "
               "exactly these settings, so there is no need to train it again: running it again gives the same "
               "numbers.")
    left, right = st.columns(2)
    if left.button("Watch it train" if running else "See the last result", type="primary",
                   icon=":material/monitoring:", width="stretch"):
        open_demo(previous, "app_pages/train.py" if running else "app_pages/compare.py")
    if right.button("Run it again", icon=":material/replay:", width="stretch"):
        start_demo()

st.subheader("Or bring your own data")
c1, c2, c3 = st.columns(3)
c1.page_link("app_pages/data.py", label="1. Pick or upload a dataset", icon=":material/dataset:")
c2.page_link("app_pages/models.py", label="2. Choose a pretrained model", icon=":material/neurology:")
c3.page_link("app_pages/train.py", label="3. Train and compare", icon=":material/model_training:")
