"""Home: what Transfer Lab does, and what this server can use right now (datasets and models)."""

import pandas as pd
import streamlit as st

from tlcore.data import list_builtins
from tlcore.models import availability, list_specs

st.title("Transfer Lab")
st.write(
    "Bring a small labelled dataset, pick a pretrained model, and see how much better it learns than the "
    "same network trained from scratch. The training pages are being built; meanwhile the same engine "
    "runs from the command line: `python -m tlcore compare --data tux-photos --model mobilenet_v2 "
    "--strategies scratch,linear_probe --seeds 3`."
)

st.subheader("Built-in datasets")
st.dataframe(pd.DataFrame([{"dataset": b.id, "kind": b.modality, "examples": b.n_items,
                            "classes": len(b.classes), "installed": b.available,
                            "how to get it": "" if b.available else b.how_to_get} for b in list_builtins()]),
             hide_index=True)

st.subheader("Models")
rows = []
for spec in list_specs():
    avail = availability(spec)
    rows.append({"model": spec.id, "kind": spec.modality, "parameters (M)": spec.params_m,
                 "available": avail.available, "why": avail.reason, "when to pick it": spec.note})
st.dataframe(pd.DataFrame(rows), hide_index=True)
