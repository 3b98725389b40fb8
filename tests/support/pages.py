"""What the app tests share: workspaces this server knows, uploads made the way the Data page makes them, and
opening the real app (Streamlit AppTest) in a session."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.support.paths import APP
from tlcore.experiments import uploads
from tlcore.runs.store import RunStore

# Two anonymous workspaces (shaped like the 22-character tokens the server hands out), registered in each test's
# store by the app tests' `data_dir` fixture.
WS_A, WS_B = "testWorkspaceA_0123456", "testWorkspaceB_0123456"


def register(store: RunStore, *workspaces: str) -> None:
    for ws in workspaces:
        store.add_workspace(ws, "anonymous")


def upload(store: RunStore, workspace: str, source: Path) -> str:
    """A file or a folder uploaded into `workspace` as the Data page does; returns its handle."""
    if source.is_dir():
        files = [(f"{source.name}/{p.relative_to(source).as_posix()}", p.read_bytes())
                 for p in sorted(source.rglob("*")) if p.is_file()]
        return uploads.upload_folder(store, workspace, files)
    return uploads.upload_file(store, workspace, source.name, source.read_bytes())


def open_app(page: str | None = None, timeout: float = 60, user: dict | None = None, **query: str) -> AppTest:
    """The real app in a fresh session with `query` in its URL (and signed in as `user`), run once (and switched
    to `page`)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in query.items():
        at.query_params[key] = value
    if user is not None:
        at.user = user
    at.run()
    if page:
        at.switch_page(f"app_pages/{page}.py").run()
    return at
