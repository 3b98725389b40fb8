"""Data: pick a built-in dataset or upload one, see its checks and a preview, and choose how it is split."""

from dataclasses import fields
from pathlib import Path

import streamlit as st

from components import engine, previews, state
from tlcore.config import VAL_PER_CLASS, TrainConfig
from tlcore.data import build_report, list_builtins, make_split, save_folder_upload, save_upload, subset_per_class
from tlcore.data.text import TABLE_SUFFIXES, table_columns
from tlcore.errors import UserError
from tlcore.workspaces import check_room

BUILTINS = {b.id: b for b in list_builtins()}
SPLIT_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)
                  if f.name in ("test_fraction", "val_fraction", "per_class", "seed")}


def label(source: str) -> str:
    return source if source in BUILTINS else f"{Path(source).name} (uploaded)"


def keep_previous(error: UserError) -> None:
    """Explain a failed upload or choice; the active dataset stays what it was."""
    st.session_state["data_error"] = f"{error}\n\nThe previous dataset, {label(state.data_source())}, is still active."


def activate(source: str, text: str | None = None, lab: str | None = None) -> None:
    """Make `source` the active dataset if it loads; otherwise explain why and keep the previous one."""
    try:
        engine.dataset(source, text, lab)
    except UserError as e:
        keep_previous(e)
    else:
        state.set_data_source(source, text, lab)
        st.session_state.pop("data_error", None)


@st.cache_data(show_spinner=False, max_entries=32)
def columns_of(path: str) -> tuple[list[str], str | None, str | None]:
    return table_columns(Path(path))


def activate_table(path: str, text: str | None = None, lab: str | None = None) -> None:
    try:
        cols, detected_text, detected_label = columns_of(path)
    except UserError as e:
        keep_previous(e)
        return
    text = text or detected_text or cols[0]  # undetectable: start from the first columns, the person adjusts
    lab = lab or detected_label or next((c for c in cols if c != text), text)
    activate(path, text, lab)


def choose_builtin() -> None:
    if st.session_state.get("builtin_choice"):
        activate(st.session_state["builtin_choice"])
        if state.data_source() != st.session_state["builtin_choice"]:  # failed: show what is really active
            st.session_state["builtin_choice"] = state.data_source() if state.data_source() in BUILTINS else None


def choose_columns(path: str) -> None:
    activate_table(path, st.session_state["text_column_choice"], st.session_state["label_column_choice"])


def clear_error() -> None:
    st.session_state.pop("data_error", None)


st.title("Data")
current = state.data_source()
st.session_state.setdefault("data_mode", "Built-in dataset" if current in BUILTINS else "Upload")
mode = st.radio("Where is the data?", ["Built-in dataset", "Upload"], horizontal=True, key="data_mode",
                on_change=clear_error)

if mode == "Built-in dataset":
    st.session_state.setdefault("builtin_choice", current if current in BUILTINS else None)
    st.selectbox("Built-in dataset", list(BUILTINS), key="builtin_choice", index=None, placeholder="Choose one",
                 format_func=lambda b: f"{BUILTINS[b].title} ({b})" + ("" if BUILTINS[b].available else " — not installed"),
                 on_change=choose_builtin)
    chosen = BUILTINS.get(st.session_state.get("builtin_choice"))
    if chosen:
        st.caption(f"{chosen.description} {chosen.n_items:,} examples, {len(chosen.classes)} classes · {chosen.licence}")
        if not chosen.available:
            st.info(f"{chosen.title} is not installed on this server; to get it, {chosen.how_to_get}.")
else:
    # No type= filter: Streamlit raises an exception for other extensions, and the engine explains them
    # better (an .xlsx: "save it as CSV UTF-8"; a .tar.gz: "re-pack it as .zip").
    up = st.file_uploader("A .zip of class folders (cats/1.jpg, dogs/2.jpg…), or a .csv / .tsv / .jsonl table with "
                          "a text and a label column", key="upload_file", on_change=clear_error)
    folder = st.file_uploader("…or a whole folder holding one sub-folder per class", accept_multiple_files="directory",
                              key="upload_folder", on_change=clear_error)
    if up is not None and st.session_state.get("upload_seen") != up.file_id:
        st.session_state["upload_seen"] = up.file_id
        try:
            with st.spinner(f"Saving {up.name}…"):
                check_room(engine.store(), state.workspace(), new_bytes=up.size)
                path = str(save_upload(up.name, up.getvalue(), workspace=state.workspace()))
        except UserError as e:
            keep_previous(e)
        else:
            with st.spinner(f"Reading {up.name}…"):
                (activate_table if Path(path).suffix.lower() in TABLE_SUFFIXES else activate)(path)
    folder_id = "|".join(f.file_id for f in folder or [])
    if folder and st.session_state.get("folder_seen") != folder_id:
        st.session_state["folder_seen"] = folder_id
        bar = st.progress(0.0, text=f"Reading {len(folder)} files…")
        files = []
        for i, f in enumerate(folder):
            files.append((f.name, f.getvalue()))
            bar.progress((i + 1) / len(folder), text=f"Reading {i + 1} of {len(folder)} files…")
        try:
            with st.spinner("Saving and checking the folder…"):
                check_room(engine.store(), state.workspace(), new_bytes=sum(len(data) for _, data in files))
                activate(str(save_folder_upload(files, workspace=state.workspace())))
        except UserError as e:
            keep_previous(e)
        bar.empty()

if st.session_state.get("data_error"):
    st.error(st.session_state["data_error"], icon=":material/block:")

current = state.data_source()
text_column, label_column = state.columns()
if Path(current).suffix.lower() in TABLE_SUFFIXES and current not in BUILTINS:
    cols, _, _ = columns_of(current)
    st.session_state["text_column_choice"], st.session_state["label_column_choice"] = text_column, label_column
    c1, c2 = st.columns(2)
    c1.selectbox("Text column", cols, key="text_column_choice", on_change=choose_columns, args=(current,))
    c2.selectbox("Label column", cols, key="label_column_choice", on_change=choose_columns, args=(current,))
try:
    ds = engine.dataset(current, text_column, label_column)
except UserError as e:
    st.error(f"The dataset {label(current)} cannot be used: {e} Choose another dataset above.", icon=":material/block:")
    st.stop()

st.subheader(f"Active dataset: {label(current)}")
st.caption(f"{len(ds):,} {'images' if ds.modality == 'image' else 'texts'} in {ds.num_classes} classes"
           + (f" · text column '{text_column}', label column '{label_column}'" if text_column else ""))

st.subheader("Split")
saved = {**SPLIT_DEFAULTS, **st.session_state.get("split_settings", {})}
for key, value in (("split_test", saved["test_fraction"]), ("split_val", saved["val_fraction"]),
                   ("split_k", saved["per_class"] or 0), ("split_seed", saved["seed"])):
    st.session_state.setdefault(key, value)
c1, c2, c3, c4 = st.columns(4)
test_fraction = c1.number_input("Test fraction", 0.05, 0.5, step=0.05, key="split_test",
                                help="Held out and used only once, for the final comparison.")
val_fraction = c2.number_input("Validation fraction", 0.0, 0.4, step=0.05, key="split_val",
                               help="Used to pick the best epoch.")
per_class = c3.number_input("Examples per class (0 = all)", 0, 10**6, step=1, key="split_k",
                            help="Train on at most this many examples per class, to see how transfer helps small data.")
seed = c4.number_input("Seed", 0, 10**6, step=1, key="split_seed")
settings = {"test_fraction": float(test_fraction), "val_fraction": float(val_fraction),
            "per_class": int(per_class) or None, "seed": int(seed)}
st.session_state["split_settings"] = settings
split = None
try:
    split = make_split(ds, seed=settings["seed"], val_fraction=settings["val_fraction"],
                       test_fraction=settings["test_fraction"])
    n_train = len(subset_per_class(ds.labels, split.train, settings["per_class"], settings["seed"]))
    n_val = len(subset_per_class(ds.labels, split.val, VAL_PER_CLASS, settings["seed"]))
    st.markdown(f"**Train {n_train:,} · Validation {n_val:,} · Test {len(split.test):,}**")
    st.caption(f"Validation picks the best epoch (at most {VAL_PER_CLASS} examples per class are used); the test part is "
               "never seen during training and gives the final score.")
except UserError as e:
    st.error(f"This split is not possible: {e}", icon=":material/block:")

st.subheader("Checks")
previews.report_panel(build_report(ds, split))

st.subheader("Preview")
if ds.modality == "image":
    previews.image_grid(ds, per_class=6, seed=settings["seed"])
else:
    previews.text_table(ds, n=20, seed=settings["seed"])
