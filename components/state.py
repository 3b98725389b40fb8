"""What the person has chosen (dataset, model, active comparison), kept in the session and in the URL.

The URL's query parameters make a page reload or a shared link land on the same dataset, model and
comparison; runs themselves live in the store, so nothing is lost when the browser reconnects.
"""

from __future__ import annotations

import streamlit as st

DEFAULT_IMAGE_DATA = "tux-photos"
DEFAULT_IMAGE_MODEL = "mobilenet_v2"
DEFAULT_TEXT_MODEL = "minilm-l6"
_KEYS = {"data": "data", "model": "model", "comparison": "cmp", "text_column": "text", "label_column": "label"}


def _get(name: str, default: str | None = None) -> str | None:
    if name in st.session_state and st.session_state[name]:
        return st.session_state[name]
    value = st.query_params.get(_KEYS[name])
    if value:
        st.session_state[name] = value
        return value
    return default


def _set(name: str, value: str | None) -> None:
    st.session_state[name] = value
    if value:
        st.query_params[_KEYS[name]] = value
    elif _KEYS[name] in st.query_params:
        del st.query_params[_KEYS[name]]


def data_source() -> str:
    return _get("data", DEFAULT_IMAGE_DATA)


def set_data_source(source: str, text_column: str | None = None, label_column: str | None = None) -> None:
    _set("data", source)
    _set("text_column", text_column)
    _set("label_column", label_column)


def columns() -> tuple[str | None, str | None]:
    return _get("text_column"), _get("label_column")


def model_id(modality: str) -> str:
    default = DEFAULT_IMAGE_MODEL if modality == "image" else DEFAULT_TEXT_MODEL
    chosen = _get("model")
    from tlcore.models import get_spec
    try:
        if chosen and get_spec(chosen).modality == modality:
            return chosen
    except Exception:  # an unknown id in an old link falls back to the default
        pass
    return default


def set_model(model: str) -> None:
    _set("model", model)


def comparison() -> str | None:
    return _get("comparison")


def set_comparison(group_id: str | None) -> None:
    _set("comparison", group_id)


def keep_in_url() -> None:
    """Re-write the session's choices into the URL (st.navigation drops unknown query params on switch)."""
    for name, param in _KEYS.items():
        value = st.session_state.get(name)
        if value and st.query_params.get(param) != value:
            st.query_params[param] = value
