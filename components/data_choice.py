"""Choosing the active dataset on the Data page: a built-in one, or an upload (a file or a whole folder).

Every choice is tried first; when it cannot be used the person is told why, and the previous dataset stays
active (nothing already chosen is lost)."""

from __future__ import annotations

import streamlit as st

from components import engine, state
from tlcore.core.config import TrainConfig
from tlcore.core.errors import UserError
from tlcore.data import is_upload_ref, library, list_builtins, make_split
from tlcore.data.report import refuse_unusable
from tlcore.data.tables import TABLE_SUFFIXES, table_columns
from tlcore.experiments import uploads

BUILTINS = {b.id: b for b in list_builtins()}
DEFAULTS = TrainConfig.__dataclass_fields__


def label(source: str) -> str:
    return f"{state.data_label(source)} (uploaded)" if is_upload_ref(source) else state.data_label(source)


def is_table(source: str) -> bool:
    """An uploaded .csv/.tsv/.jsonl (the person then chooses its text and label columns)."""
    try:
        return is_upload_ref(source) and library.source_path(source).suffix.lower() in TABLE_SUFFIXES
    except UserError:  # the upload is gone: nothing to choose
        return False


def keep_previous(error: UserError) -> None:
    """Explain a failed upload or choice; the active dataset stays what it was."""
    st.session_state["data_error"] = f"{error}\n\nThe previous dataset, {label(state.data_source())}, is still active."


def activate(source: str, text: str | None = None, lab: str | None = None) -> None:
    """Make `source` the active dataset if it loads; otherwise explain why and keep the previous one."""
    try:
        ds = state.dataset(source, text, lab)
        refuse_unusable(ds, make_split(ds, seed=0, val_fraction=DEFAULTS["val_fraction"].default,
                                       test_fraction=DEFAULTS["test_fraction"].default))
    except UserError as e:
        keep_previous(e)
    else:
        state.set_data_source(source, text, lab)
        st.session_state.pop("data_error", None)


@st.cache_data(show_spinner=False, max_entries=32)
def columns_of(source: str, name: str) -> tuple[list[str], str | None, str | None]:
    return table_columns(library.source_path(source), name=name)


def activate_table(source: str, text: str | None = None, lab: str | None = None) -> None:
    try:
        cols, detected_text, detected_label = columns_of(source, state.data_label(source))
    except UserError as e:
        keep_previous(e)
        return
    text = text or detected_text or cols[0]  # undetectable: start from the first columns, the person adjusts
    lab = lab or detected_label or next((c for c in cols if c != text), text)
    activate(source, text, lab)


def choose_builtin() -> None:
    if st.session_state.get("builtin_choice"):
        activate(st.session_state["builtin_choice"])
        if state.data_source() != st.session_state["builtin_choice"]:  # failed: show what is really active
            st.session_state["builtin_choice"] = state.data_source() if state.data_source() in BUILTINS else None


def choose_columns(path: str) -> None:
    activate_table(path, st.session_state["text_column_choice"], st.session_state["label_column_choice"])


def clear_error() -> None:
    st.session_state.pop("data_error", None)


def builtin_picker() -> None:
    st.session_state.setdefault("builtin_choice", state.data_source() if state.data_source() in BUILTINS else None)
    st.selectbox("Built-in dataset", list(BUILTINS), key="builtin_choice", index=None, placeholder="Choose one",
                 format_func=lambda b: f"{BUILTINS[b].title} ({b})" + ("" if BUILTINS[b].available
                                                                       else " — not installed"),
                 on_change=choose_builtin)
    chosen = BUILTINS.get(st.session_state.get("builtin_choice"))
    if chosen:
        st.caption(f"{chosen.description} {chosen.n_items:,} examples, {len(chosen.classes)} classes · "
                   f"{chosen.licence}")
        if not chosen.available:
            st.info(f"{chosen.title} is not installed on this server; to get it, {chosen.how_to_get}.")


def upload_widgets() -> None:
    """A file (zip or table) and a whole folder; each new upload is saved, checked and made active."""
    # No type= filter: Streamlit raises an exception for other extensions, and the engine explains them
    # better (an .xlsx: "save it as CSV UTF-8"; a .tar.gz: "re-pack it as .zip").
    up = st.file_uploader("A .zip of class folders (cats/1.jpg, dogs/2.jpg…), or a .csv / .tsv / .jsonl table with "
                          "a text and a label column", key="upload_file", on_change=clear_error)
    folder = st.file_uploader("…or a whole folder holding one sub-folder per class", accept_multiple_files="directory",
                              key="upload_folder", on_change=clear_error)
    if up is not None and st.session_state.get("upload_seen") != up.file_id:
        st.session_state["upload_seen"] = up.file_id
        _save_file(up)
    folder_id = "|".join(f.file_id for f in folder or [])
    if folder and st.session_state.get("folder_seen") != folder_id:
        st.session_state["folder_seen"] = folder_id
        _save_folder(folder)


def _save_file(up) -> None:
    try:
        with st.spinner(f"Saving {up.name}…"):
            ref = uploads.upload_file(engine.store(), state.workspace(), up.name, up.getvalue())
    except UserError as e:
        keep_previous(e)
        return
    with st.spinner(f"Reading {up.name}…"):
        (activate_table if is_table(ref) else activate)(ref)


def _save_folder(folder: list) -> None:
    bar = st.progress(0.0, text=f"Reading {len(folder)} files…")
    files = []
    for i, f in enumerate(folder):
        files.append((f.name, f.getvalue()))
        bar.progress((i + 1) / len(folder), text=f"Reading {i + 1} of {len(folder)} files…")
    try:
        with st.spinner("Saving and checking the folder…"):
            activate(uploads.upload_folder(engine.store(), state.workspace(), files))
    except UserError as e:
        keep_previous(e)
    bar.empty()


def column_pickers(current: str, text_column: str | None, label_column: str | None) -> None:
    """For an uploaded table: which column holds the texts and which the labels."""
    if not is_table(current):
        return
    cols, _, _ = columns_of(current, state.data_label(current))
    st.session_state["text_column_choice"], st.session_state["label_column_choice"] = text_column, label_column
    c1, c2 = st.columns(2)
    c1.selectbox("Text column", cols, key="text_column_choice", on_change=choose_columns, args=(current,))
    c2.selectbox("Label column", cols, key="label_column_choice", on_change=choose_columns, args=(current,))
