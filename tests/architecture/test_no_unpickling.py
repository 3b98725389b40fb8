"""No code path unpickles: uploads and weights are read with formats that cannot run code.

Pickle (and everything built on it: `torch.load` without `weights_only=True`, `np.load(allow_pickle=True)`,
joblib, dill, `pd.read_pickle`, shelve) executes arbitrary code while loading, so a crafted upload or
weight file would own the server. Weights are written as safetensors, never with `torch.save`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ["tlcore", "components", "app_pages", "bench", "app.py"]
FORBIDDEN = {"pickle.load", "pickle.loads", "pickle.Unpickler", "cPickle.load", "cPickle.loads", "dill.load",
             "dill.loads", "cloudpickle.load", "cloudpickle.loads", "joblib.load", "read_pickle", "shelve.open",
             "torch.save", "marshal.load", "marshal.loads"}
FORBIDDEN_IMPORTS = {("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"), ("joblib", "load"),
                     ("dill", "load"), ("dill", "loads"), ("marshal", "loads")}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _keyword_is_true(call: ast.Call, name: str) -> bool:
    return any(k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords)


def _call_violation(call: ast.Call) -> str | None:
    name = _dotted(call.func)
    short = ".".join(name.split(".")[-2:])
    if short in FORBIDDEN or name.split(".")[-1] == "read_pickle":
        return f"{name}() unpickles or pickles"
    if short == "torch.load" and not _keyword_is_true(call, "weights_only"):
        return "torch.load() without weights_only=True"
    if short in ("np.load", "numpy.load") and _keyword_is_true(call, "allow_pickle"):
        return "np.load(allow_pickle=True)"
    return None


def violations(source: str, filename: str = "<string>") -> list[str]:
    """Every unsafe load in `source`, as 'file:line: what'."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        what = None
        if isinstance(node, ast.Call):
            what = _call_violation(node)
        elif isinstance(node, ast.ImportFrom) and node.module:
            bad = [a.name for a in node.names if (node.module.split(".")[-1], a.name) in FORBIDDEN_IMPORTS]
            what = f"from {node.module} import {', '.join(bad)}" if bad else None
        if what:
            found.append(f"{filename}:{node.lineno}: {what}")
    return found


def _sources() -> list[Path]:
    files = []
    for entry in SCANNED:
        path = ROOT / entry
        files += [path] if path.is_file() else sorted(path.rglob("*.py")) if path.is_dir() else []
    return files


def test_the_checker_catches_every_unsafe_load():
    bad = """
import pickle, joblib, torch, numpy as np, pandas as pd
from pickle import loads
pickle.load(open("x", "rb"))
joblib.load("m.joblib")
torch.load("w.pt")
torch.load("w.pt", weights_only=False)
np.load("a.npy", allow_pickle=True)
pd.read_pickle("df.pkl")
torch.save(model.state_dict(), "w.pt")
torch.load("w.pt", map_location="cpu", weights_only=True)
np.load("a.npy", allow_pickle=False)
"""
    found = violations(bad)
    assert len(found) == 8, found
    assert not any(":11:" in f or ":12:" in f for f in found)  # the safe forms pass


def test_no_unsafe_loading_in_the_source():
    sources = _sources()
    assert len(sources) > 20 and any(p.parts[-2:] == ("models", "weights.py") for p in sources)
    found = [v for p in sources for v in violations(p.read_text(encoding="utf-8"), p.relative_to(ROOT).as_posix())]
    assert found == []
