"""Transfer Lab — the Streamlit entry point: a router and the sidebar; pages live in app_pages/.

Not `pages/`: Streamlit still auto-discovers a folder of that name, and opening or reloading a sub-page
URL (e.g. /data) then runs that file alone, without this router and its sidebar.
"""

import streamlit as st

from components import engine, state

st.set_page_config(page_title="Transfer Lab", page_icon=":material/science:", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/data.py", title="Data", icon=":material/dataset:"),
    st.Page("app_pages/models.py", title="Models", icon=":material/neurology:"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/monitoring:"),
    st.Page("app_pages/predict.py", title="Predict", icon=":material/online_prediction:"),
    st.Page("app_pages/runs.py", title="Runs", icon=":material/history:"),
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
