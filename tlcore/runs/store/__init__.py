"""The run store: SQLite (see `database`) holding runs with their epochs, studies, share links, workspaces,
which workspace may use which upload, and where runs on a Ray cluster are (`placements`).

It owns all SQL of the project. Every query a person can reach takes `owner=` (a workspace id, or
EVERYONE for the command line), see `records`.
"""

from tlcore.runs.store.database import MIGRATIONS
from tlcore.runs.store.lifecycle import Lifecycle
from tlcore.runs.store.placements import Placement, PlacementQueries
from tlcore.runs.store.records import ACTIVE, EVERYONE, FINAL, Everyone, RunRecord, Scope, StudyRecord
from tlcore.runs.store.runs import RunQueries
from tlcore.runs.store.shares import SHARE_KINDS, ShareQueries
from tlcore.runs.store.studies import StudyQueries
from tlcore.runs.store.workspaces import WorkspaceQueries


class RunStore(RunQueries, Lifecycle, PlacementQueries, StudyQueries, ShareQueries, WorkspaceQueries):
    """One object per process (or per Streamlit server); safe to share between threads."""


__all__ = ["ACTIVE", "EVERYONE", "FINAL", "MIGRATIONS", "SHARE_KINDS", "Everyone", "Placement", "RunRecord",
           "RunStore", "Scope", "StudyRecord"]
