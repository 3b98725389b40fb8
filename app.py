"""Transfer Lab — the Streamlit entry point: only a router (pages live in pages/, logic in tlcore)."""

import streamlit as st

st.set_page_config(page_title="Transfer Lab", page_icon="🧪", layout="wide")
navigation = st.navigation([st.Page("pages/home.py", title="Home", icon="🏠", default=True)])
navigation.run()
