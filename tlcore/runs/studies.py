"""Study rows in the run store: a study names its cells' runs; a finished run can serve several studies
(that is how a resumed or extended study reuses finished cells instead of training them again)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from tlcore.runs.store import RunRecord, RunStore

REUSABLE = ("succeeded", "queued", "starting", "running")


@dataclass
class StudyRecord:
    id: str
    owner: str
    name: str
    spec: dict[str, Any]
    created: float


def create_study(store: RunStore, spec: dict[str, Any], run_ids: list[str], *, owner: str = "",
                 name: str = "") -> str:
    study_id = "study-" + uuid.uuid4().hex[:10]
    conn = store._conn()
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("INSERT INTO studies (id, owner, name, spec, created) VALUES (?, ?, ?, ?, ?)",
                     (study_id, owner, name, json.dumps(spec, sort_keys=True), time.time()))
        conn.executemany("INSERT OR IGNORE INTO study_runs VALUES (?, ?)", [(study_id, r) for r in run_ids])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return study_id


def get_study(store: RunStore, study_id: str) -> StudyRecord | None:
    row = store._execute("SELECT * FROM studies WHERE id=?", (study_id,)).fetchone()
    return _study(row) if row else None


def list_studies(store: RunStore, *, owner: str | None = None, limit: int = 200) -> list[StudyRecord]:
    where, params = ("WHERE owner=?", (owner,)) if owner is not None else ("", ())
    rows = store._execute(f"SELECT * FROM studies {where} ORDER BY created DESC LIMIT ?", (*params, limit))
    return [_study(r) for r in rows.fetchall()]


def study_runs(store: RunStore, study_id: str) -> list[RunRecord]:
    ids = [r[0] for r in store._execute("SELECT run_id FROM study_runs WHERE study_id=?", (study_id,))]
    return [r for r in (store.get(i) for i in ids) if r is not None]


def find_reusable_run(store: RunStore, config_json: str, owner: str, fingerprint: str) -> RunRecord | None:
    """A run of exactly this config (same owner) that succeeded on the same data, or is still on its way."""
    rows = store._execute(
        f"SELECT id FROM runs WHERE owner=? AND config=? AND status IN ({','.join('?' * len(REUSABLE))}) "
        "ORDER BY status='succeeded' DESC, created DESC", (owner, config_json, *REUSABLE)).fetchall()
    for (run_id,) in rows:
        record = store.get(run_id)
        if record and (record.status != "succeeded" or (record.result or {}).get("data_fingerprint") == fingerprint):
            return record
    return None


def _study(row: Any) -> StudyRecord:
    data = dict(row)
    data["spec"] = json.loads(data["spec"])
    return StudyRecord(**data)
