"""Study rows: a study names its cells' runs; a finished run can serve several studies (that is how a resumed
or extended study reuses finished cells instead of training them again)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tlcore.runs.store.database import Database
from tlcore.runs.store.records import RunRecord, Scope, StudyRecord, run_record, scoped, study_record


class StudyQueries(Database):
    def create_study(self, spec: dict[str, Any], run_ids: list[str], *, owner: str, name: str = "") -> str:
        study_id = "study-" + uuid.uuid4().hex[:10]
        with self._transaction() as conn:
            conn.execute("INSERT INTO studies (id, owner, name, spec, created) VALUES (?, ?, ?, ?, ?)",
                         (study_id, owner, name, json.dumps(spec, sort_keys=True), time.time()))
            conn.executemany("INSERT OR IGNORE INTO study_runs VALUES (?, ?)", [(study_id, r) for r in run_ids])
        return study_id

    def get_study(self, study_id: str, *, owner: Scope) -> StudyRecord | None:
        mine, params = scoped(owner)
        row = self._execute(f"SELECT * FROM studies WHERE id=?{mine}", (study_id, *params)).fetchone()
        return study_record(row) if row else None

    def list_studies(self, *, owner: Scope, limit: int = 200) -> list[StudyRecord]:
        mine, params = scoped(owner)
        rows = self._execute(f"SELECT * FROM studies WHERE 1=1{mine} ORDER BY created DESC LIMIT ?",
                             (*params, limit)).fetchall()
        return [study_record(r) for r in rows]

    def study_runs(self, study_id: str) -> list[RunRecord]:
        """The runs of a study (whoever may see the study may see them: check the study first)."""
        rows = self._execute("SELECT runs.* FROM study_runs JOIN runs ON runs.id = study_runs.run_id "
                             "WHERE study_runs.study_id=? ORDER BY study_runs.rowid", (study_id,)).fetchall()
        return [run_record(r) for r in rows]
