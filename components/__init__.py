"""Reusable UI pieces for the Streamlit pages (figure builders, previews, the live run card, state)."""
