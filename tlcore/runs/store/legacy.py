"""Migration 5: uploads stored before the dataset library (under `<data dir>/uploads/<workspace>/…` and referred
to by that path) move into the library, and the runs and studies that used them now name them by handle and
file name. The old folder goes afterwards, so nothing is stored (or counted) twice. Names shown to people (run and
study names, which comparison titles come from) said "<model> on <that path>": they are rewritten too, since a
share link shows them and the path contains the owner's workspace id."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from tlcore.core import settings
from tlcore.core.errors import DataError
from tlcore.runs.paths import run_dir

_TABLES = (("runs", "config"), ("studies", "spec"))
_UPLOAD_PATH = re.compile(r"(?:[^\s:]*/)?uploads/[^\s:]*")  # any path through an old uploads folder


def import_legacy_uploads(conn: sqlite3.Connection) -> Callable[[], None] | None:
    """Rewrite the rows; returns the removal of the old folder, for after the transaction has committed."""
    from tlcore.data import library  # here: opening the store does not import the data layer (pandas, PIL)

    legacy = settings.data_dir() / "uploads"
    imported: dict[str, tuple[str, str, int]] = {}
    for table, column in _TABLES:
        for row_id, text, owner, shown in conn.execute(f"SELECT id, {column}, owner, name FROM {table}").fetchall():
            doc = json.loads(text)
            config = doc if table == "runs" else doc.get("base", {})
            path = config.get("data")
            source = _legacy_upload(path, legacy)
            if source is not None:
                if path not in imported:
                    imported[path] = _import(source)
                ref, name, nbytes = imported[path]
                config["data"], config["data_name"] = ref, name
                conn.execute(f"UPDATE {table} SET {column}=? WHERE id=?", (json.dumps(doc, sort_keys=True), row_id))
                if table == "runs":
                    _rewrite_saved_config(row_id, ref, name)
                if owner:
                    conn.execute("INSERT OR IGNORE INTO uploads (workspace, dataset, name, bytes, created) "
                                 "VALUES (?, ?, ?, ?, ?)", (owner, library.upload_id(ref), name, nbytes, time.time()))
            if _UPLOAD_PATH.search(shown):
                conn.execute(f"UPDATE {table} SET name=? WHERE id=?", (_UPLOAD_PATH.sub(_file_name, shown), row_id))
    return (lambda: shutil.rmtree(legacy, ignore_errors=True)) if legacy.is_dir() else None


def _file_name(match: re.Match) -> str:
    from tlcore.data import library

    return library.display_name(Path(match.group(0)).name)


def _rewrite_saved_config(run_id: str, ref: str, name: str) -> None:
    """The copy of the config in the run's folder (it goes into downloads) names the data the same way."""
    path = run_dir(run_id) / "config.json"
    try:
        meta = json.loads(path.read_text())
        meta["config"].update(data=ref, data_name=name)
        path.write_text(json.dumps(meta, indent=1))
    except (OSError, ValueError, KeyError, AttributeError):
        pass  # a run without (readable) artifacts has nothing to rewrite


def _legacy_upload(path: object, legacy: Path) -> Path | None:
    """Where an old upload path's files are now: inside this data folder's `uploads/`, or — for a path written
    before the data folder moved — the same place under the new one. None for data that was never uploaded."""
    if not (isinstance(path, str) and Path(path).is_absolute()):
        return None
    parts = Path(path).parts
    if Path(path).is_relative_to(legacy):
        return Path(path)
    if "uploads" not in parts[:-1]:
        return None
    last = len(parts) - 1 - parts[::-1].index("uploads")
    return legacy.joinpath(*parts[last + 1:])


def _import(path: Path) -> tuple[str, str, int]:
    """(handle, display name, bytes) of one old upload; a file that is gone keeps a handle that resolves to
    nothing (the pages then say the data can no longer be read)."""
    from tlcore.data import library

    a_file = path.is_file() or (path.suffix != "" and not path.is_dir())  # a file that is gone still has a suffix
    name = library.display_name(path.name if a_file else "uploaded folder")
    try:
        if path.is_file():
            stored = library.store_file(path.name, path.read_bytes())
        elif path.is_dir():
            files = [(p.relative_to(path).as_posix(), p.read_bytes()) for p in sorted(path.rglob("*")) if p.is_file()]
            stored = library.store_folder(files)
        else:
            raise FileNotFoundError(path)
    except (OSError, DataError):
        return library.PREFIX + hashlib.sha256(str(path).encode()).hexdigest()[:32], name, 0
    return stored.ref, name, stored.bytes
