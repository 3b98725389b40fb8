"""Workspaces in the app (Streamlit AppTest, real store): two sessions with different `?ws=` never see,
cancel or delete each other's runs or uploads, even with an id in the URL; share links are read-only;
limits give plain messages; sign-in (when configured) gives each account its own workspace."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from tests.support.comparisons import make_comparison
from tests.support.data import coloured_zip
from tests.support.pages import WS_A, WS_B, open_app
from tlcore.data import library
from tlcore.experiments import workspaces
from tlcore.runs.store import EVERYONE, RunStore

A, B = WS_A, WS_B


def session(page: str | None = None, user: dict | None = None, **query: str) -> AppTest:
    at = open_app(page, user=user, **query)
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return " ".join(e.value for kind in ("markdown", "info", "warning", "error", "caption") for e in at.get(kind))


def labels(at: AppTest) -> set[str]:
    return {b.label for b in at.button}


def test_another_workspaces_comparison_is_not_found_even_with_its_id(data_dir):
    make_comparison(RunStore(), data_dir, running=False, group_id="cmp-a", owner=A)
    mine = session("compare", ws=A, cmp="cmp-a")
    assert mine.selectbox[0].value == "cmp-a" and len(mine.get("plotly_chart")) >= 4

    theirs = session("compare", ws=B, cmp="cmp-a")
    assert "was not found in this workspace" in texts(theirs)
    assert "There is no comparison yet" in texts(theirs) and not theirs.get("plotly_chart")
    assert not theirs.selectbox


def test_another_workspace_cannot_see_or_cancel_runs_on_the_train_page(data_dir):
    store = RunStore()
    running = store.create_run({"strategy": "scratch", "seed": 0, "model": "m", "data": "d"}, group_id="cmp-a", owner=A)
    queued = store.create_run({"strategy": "linear_probe", "seed": 0, "model": "m", "data": "d"}, group_id="cmp-a",
                              owner=A)
    assert store.claim(running)  # holds the only worker slot (no process yet), so `queued` stays queued

    theirs = session("train", ws=B, live="cmp-a", data="digits")  # Train watches `?live=`
    assert "was not found in this workspace" in texts(theirs)
    assert "Cancel" not in labels(theirs) and "position 1 in the queue" not in texts(theirs)

    mine = session("train", ws=A, live="cmp-a", data="digits")
    assert "Waiting for a free worker: position 1 in the queue." in texts(mine)
    mine.button(key=f"cancel-{queued}").click().run()
    assert store.get(queued, owner=EVERYONE).status == "cancelled"
    assert store.get(running, owner=EVERYONE).status == "starting"


def test_runs_page_lists_and_deletes_only_the_workspaces_runs(data_dir):
    ids = make_comparison(RunStore(), data_dir, running=False, group_id="cmp-a", owner=A)
    theirs = session("runs", ws=B)
    assert "No runs yet" in texts(theirs) and not theirs.dataframe
    mine = session("runs", ws=A)
    assert set(mine.dataframe[0].value["run"]) == set(ids.values())
    assert "This workspace stores 0.0 MB of uploads and trained models" in texts(mine)
    run_id = mine.selectbox[0].value
    mine.checkbox(key=f"confirm-{run_id}").check().run()
    [delete] = [b for b in mine.button if b.label == "Delete run"]
    delete.click().run()
    assert RunStore().get(run_id, owner=EVERYONE) is None and len(RunStore().list_runs(owner=A)) == len(ids) - 1


def test_share_link_opens_one_comparison_read_only_until_revoked(data_dir):
    make_comparison(RunStore(), data_dir, running=False, group_id="cmp-a", owner=A)
    make_comparison(RunStore(), data_dir, running=False, group_id="cmp-other", owner=A)
    owner = session("compare", ws=A, cmp="cmp-a")
    [share] = [b for b in owner.button if b.label == "Share read-only link"]
    share.click().run()
    link = owner.code[0].value
    token = re.fullmatch(r"/\?share=([A-Za-z0-9_-]+)", link).group(1)
    assert A not in link and workspaces.resolve_share(RunStore(), token) == ("comparison", "cmp-a")

    viewer = session(share=token)
    assert viewer.title[0].value == "Compare" and "read-only view" in texts(viewer)
    assert len(viewer.get("plotly_chart")) >= 4
    assert not viewer.selectbox  # exactly the shared comparison: no way to pick the owner's others
    assert labels(viewer) <= {"Refresh"}  # nothing that shares, renames, cancels, deletes or trains
    assert "ws" not in viewer.query_params  # a viewer gets no workspace (and never sees the owner's)

    [stop] = [b for b in owner.button if b.label == "Stop sharing"]
    stop.click().run()
    viewer.run()
    assert "This share link does not work" in viewer.error[0].value and not viewer.get("plotly_chart")
    assert "does not work" in session(share="made-up-token-0000000").error[0].value


def test_queue_limit_shows_a_plain_message_and_queues_nothing(data_dir, monkeypatch):
    monkeypatch.setenv("TLAB_MAX_QUEUED_PER_WORKSPACE", "2")
    home = session(ws=A)
    [demo] = [b for b in home.button if b.label == "Run the demo"]
    demo.click().run()
    assert not home.exception
    assert ("The demo cannot start: This workspace already has 0 run(s) waiting or running, and 6 more would pass "
            "its limit of 2.") in home.error[0].value
    assert RunStore().list_runs(owner=EVERYONE) == []


def _zip() -> bytes:
    return coloured_zip("tiny", {"red": (220, 30, 30), "blue": (30, 30, 220)}, per_class=3)


def test_an_upload_is_private_to_its_workspace(data_dir):
    mine = session("data", ws=A)
    mine.radio(key="data_mode").set_value("Upload").run()
    mine.file_uploader(key="upload_file").set_value(("tiny.zip", _zip(), "application/zip")).run()
    assert not mine.exception
    handle = mine.session_state["data"]
    assert library.is_upload_ref(handle) and A not in handle  # a content id, nothing of the workspace

    again = session("data", ws=A, data=handle)  # the owner's link works after a reload
    assert "Active dataset: tiny.zip (uploaded)" in [s.value for s in again.subheader]

    stored = str(library.source_path(handle))
    for stolen in (handle, stored, "/etc/passwd", str(data_dir / "runs.sqlite3")):
        theirs = session(ws=B, data=stolen)
        assert "The dataset in the link was not opened" in theirs.warning[0].value
        theirs.switch_page("app_pages/data.py").run()
        assert theirs.session_state["data"] != stolen and "data" not in theirs.query_params
        assert not any(stolen in s.value for s in theirs.subheader)


def test_invalid_workspace_in_the_link_starts_a_new_one(data_dir):
    at = session(ws="../../etc")
    new = at.query_params["ws"][0] if isinstance(at.query_params["ws"], list) else at.query_params["ws"]
    assert workspaces.is_anonymous_workspace(RunStore(), new) and "not valid" in at.warning[0].value
    assert "bookmark it" in texts(at) and "Sign in" not in labels(at)  # sign-in is not configured here


def test_signed_in_accounts_get_their_own_workspace_without_it_in_the_url(data_dir):
    ada = {"is_logged_in": True, "sub": "42", "iss": "https://id.example", "name": "Ada"}
    at = session(user=ada)
    assert "Sign out" in labels(at) and "Signed in as **Ada**" in texts(at)
    assert "ws" not in at.query_params
    holder = RunStore().create_run({"strategy": "scratch"}, owner=B)
    RunStore().claim(holder)  # holds the only worker slot: the demo's runs stay queued, no worker starts
    [demo] = [b for b in at.button if b.label == "Run the demo"]
    demo.click().run()
    owners = {r.owner for r in RunStore().list_runs(owner=EVERYONE) if r.id != holder}
    assert owners == {workspaces.workspace_for_identity(RunStore(), "https://id.example", "42")}
    assert len(session("runs", user=ada).dataframe[0].value) == 6  # the same account, another session
    assert "No runs yet" in texts(session("runs", user={**ada, "sub": "43"}))  # another account

    logged_out = session(user={"is_logged_in": False})
    assert "Sign in" in labels(logged_out) and "ws" in logged_out.query_params


def test_runs_page_puts_accuracy_first_and_cancels_a_queued_run_where_it_asks_for_it(data_dir):
    store = RunStore()
    make_comparison(store, data_dir, running=False, group_id="cmp-a", owner=A)
    holder = store.create_run({"strategy": "scratch", "seed": 0, "model": "m", "data": "d"}, owner=B)
    assert store.claim(holder)  # holds the only worker slot, so the run below stays queued
    queued = store.create_run({"strategy": "knn", "seed": 0, "model": "m", "data": "d"}, owner=A, name="waiting")
    mine = session("runs", ws=A)
    table = mine.dataframe[0].value
    assert list(table.columns[:3]) == ["name", "status", "test accuracy"]  # visible without scrolling sideways
    assert "Nearest neighbours" in set(table["strategy"]) and "knn" not in set(table["strategy"])
    mine.selectbox[0].set_value(queued).run()
    assert "can be deleted once it is cancelled" in texts(mine)
    mine.button(key=f"cancel-{queued}").click().run()
    assert store.get(queued, owner=EVERYONE).status == "cancelled"
    assert [b for b in mine.button if b.label == "Delete run"]  # and now it can go
