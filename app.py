"""Transfer Lab — the Streamlit entry point: a router and the sidebar; pages live in pages/."""

import streamlit as st

from components import engine, state

st.set_page_config(page_title="Transfer Lab", page_icon="🧪", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/data.py", title="Data", icon="🗂️"),
    st.Page("pages/models.py", title="Models", icon="🧠"),
    st.Page("pages/train.py", title="Train", icon="🏋️"),
    st.Page("pages/compare.py", title="Compare", icon="📊"),
    st.Page("pages/predict.py", title="Predict", icon="🔮"),
    st.Page("pages/runs.py", title="Runs", icon="🗃️"),
]
navigation = st.navigation(PAGES)
engine.dispatcher()  # one per server: starts queued runs in worker processes


@st.fragment(run_every=2.0)
def sidebar_status() -> None:
    store = engine.store()
    running = len(store.list_runs(statuses=("starting", "running")))
    waiting = len(store.queued())
    st.caption(f"**Device:** {engine.device()}")
    st.caption(f"**Queue:** {running} running · {waiting} waiting")
    st.caption(f"**Dataset:** {state.data_source()}")


with st.sidebar:
    sidebar_status()
state.keep_in_url()
navigation.run()
