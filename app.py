"""Transfer Lab — the Streamlit entry point: a router and the sidebar; pages live in app_pages/.

Not `pages/`: Streamlit still auto-discovers a folder of that name, and opening or reloading a sub-page
URL (e.g. /data) then runs that file alone, without this router and its sidebar.
"""

from pathlib import Path

import streamlit as st

from components import account, engine, state
from tlcore.core.errors import UserError

# A file served by this app itself: a ":material/…:" page icon makes every browser fetch it from a font
# host on the internet, which an offline or locked-down server cannot reach.
FAVICON = Path(__file__).parent / "assets" / "favicon.png"
st.set_page_config(page_title="Transfer Lab", page_icon=str(FAVICON), layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/data.py", title="Data", icon=":material/dataset:"),
    st.Page("app_pages/models.py", title="Models", icon=":material/neurology:"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/monitoring:"),
    st.Page("app_pages/study.py", title="Study", icon=":material/query_stats:"),
    st.Page("app_pages/predict.py", title="Predict", icon=":material/online_prediction:"),
    st.Page("app_pages/runs.py", title="Runs", icon=":material/history:"),
]
# A read-only share link (?share=TOKEN) opens only the page of what was shared, and no workspace at all.
SHARED_PAGES = {"comparison": "app_pages/compare.py", "study": "app_pages/study.py"}
shared = state.shared()
if state.share_token() and (shared is None or shared[0] not in SHARED_PAGES):
    st.error("This share link does not work: it is mistyped, or its owner stopped sharing. Ask them for a new one.")
    st.stop()
navigation = (st.navigation([st.Page(SHARED_PAGES[shared[0]], title="Shared", default=True)], position="hidden")
              if shared else st.navigation(PAGES))
try:
    engine.executor()  # one per server: starts queued runs in worker processes, or on a Ray cluster
except UserError as exc:  # e.g. TLAB_EXECUTOR=ray and the cluster is down: runs wait in the queue meanwhile
    st.error(f"Runs cannot start: {exc}")


@st.fragment(run_every=2.0)
def sidebar_status() -> None:
    if shared:  # a stakeholder's view: nothing about this server or its other users
        st.caption("**Read-only view** shared with you: you can look at everything here and change nothing.")
        return
    store = engine.store()
    running = store.count_active()
    waiting = store.queued()
    st.caption(f"**Device:** {engine.device()}")
    mine = sum(r.owner == state.workspace() for r in waiting)
    st.caption(f"**Queue:** {running} running · {len(waiting)} waiting" + (f" ({mine} yours)" if mine else ""))
    st.caption(f"**Dataset:** {state.data_label()}")


with st.sidebar:
    sidebar_status()
    if not shared:
        account.sidebar()
if not shared:
    state.keep_in_url()
    notice = state.pop_notice()
    if notice:
        st.warning(notice, icon=":material/link_off:")
navigation.run()
