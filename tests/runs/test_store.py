"""The SQLite run store: lifecycle guards, queue order, cancel, recovery, migrations, concurrency."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from tlcore.core.errors import UserError
from tlcore.data import library
from tlcore.runs.store import EVERYONE, MIGRATIONS, RunStore


@pytest.fixture()
def store(tmp_path):
    return RunStore(tmp_path / "runs.sqlite3")


def test_wal_mode_and_schema_version(store):
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    assert int(version) == len(MIGRATIONS)


def test_newer_schema_is_refused_not_dropped(tmp_path):
    path = tmp_path / "runs.sqlite3"
    RunStore(path).create_run({"a": 1})
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    conn.commit()
    with pytest.raises(UserError, match="newer"):
        RunStore(path)
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


def test_lifecycle_and_final_runs_are_never_rewritten(store):
    run_id = store.create_run({"strategy": "scratch"}, group_id="g1", name="first", owner="alice")
    assert store.get(run_id, owner=EVERYONE).status == "queued"
    assert store.claim(run_id) and not store.claim(run_id)
    assert store.mark_running(run_id, pid=123)
    store.update_progress(run_id, step=5, total_steps=10, message="Training")
    assert store.get(run_id, owner=EVERYONE).progress == 0.5
    store.add_epoch(run_id, {"epoch": 1, "val_loss": float("nan"), "val_acc": 0.5})
    assert store.epochs(run_id) == [{"epoch": 1, "val_loss": None, "val_acc": 0.5}]
    assert store.finish(run_id, "succeeded", result={"test_accuracy": 0.9})
    # a late worker message or a second finish cannot change a finished run
    assert not store.finish(run_id, "failed", error="late")
    store.update_progress(run_id, step=1)
    record = store.get(run_id, owner=EVERYONE)
    assert (record.status, record.result, record.error, record.step) == ("succeeded", {"test_accuracy": 0.9}, None, 5)


def test_queue_is_fifo_with_positions(store):
    ids = [store.create_run({"n": i}) for i in range(3)]
    assert [store.queue_position(i) for i in ids] == [1, 2, 3]
    store.claim(ids[0])
    assert store.queue_position(ids[0]) is None
    assert [store.queue_position(i) for i in ids[1:]] == [1, 2]
    assert [r.id for r in store.queued()] == ids[1:]


def test_cancel_queued_is_immediate_and_running_sets_flag(store):
    waiting, running = store.create_run({}), store.create_run({})
    store.claim(running)
    store.mark_running(running, 1)
    assert store.request_cancel(waiting, owner=EVERYONE) == "cancelled"
    assert store.request_cancel(running, owner=EVERYONE) == "running"
    assert store.cancel_requested(running) and store.get(waiting, owner=EVERYONE).status == "cancelled"


def test_recover_orphans_marks_dead_workers_interrupted(store):
    alive, dead, finished = (store.create_run({}) for _ in range(3))
    for run_id, pid in ((alive, 10), (dead, 20), (finished, 30)):
        store.claim(run_id)
        store.mark_running(run_id, pid)
    store.finish(finished, "succeeded", result={})
    orphans = store.recover_orphans(lambda run: run.pid == 10)
    assert orphans == [dead]
    status = {run: store.get(run, owner=EVERYONE).status for run in (dead, alive, finished)}
    assert status == {dead: "interrupted", alive: "running", finished: "succeeded"}
    assert "start it again" in store.get(dead, owner=EVERYONE).error


def test_delete_only_final_runs_and_cascade_epochs(store):
    run_id = store.create_run({})
    assert not store.delete(run_id, owner=EVERYONE)
    store.request_cancel(run_id, owner=EVERYONE)
    store.add_epoch(run_id, {"epoch": 1})
    assert store.delete(run_id, owner=EVERYONE)
    assert store.get(run_id, owner=EVERYONE) is None and store.epochs(run_id) == []


def test_concurrent_writers_from_threads(store):
    errors = []

    def writer():
        try:
            for _ in range(25):
                store.create_run({"x": 1})
        except Exception as exc:  # pragma: no cover - the assertion reports it
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(store.list_runs(limit=1000, owner=EVERYONE)) == 100


def test_claim_respects_a_limit_shared_by_all_dispatchers(store):
    first, second = store.create_run({}), store.create_run({})
    assert store.claim(first, max_active=1)
    assert not store.claim(second, max_active=1) and store.get(second, owner=EVERYONE).status == "queued"
    assert store.claim(second, max_active=2)


def test_epochs_of_a_finished_run_cannot_be_added(store):
    run_id = store.create_run({})
    store.claim(run_id)
    store.mark_running(run_id, 1)
    store.add_epoch(run_id, {"epoch": 1})
    store.finish(run_id, "cancelled")
    store.add_epoch(run_id, {"epoch": 2})
    assert [e["epoch"] for e in store.epochs(run_id)] == [1]


def test_claim_next_takes_the_oldest_queued_run_within_the_shared_limit(store):
    """A warm worker (claim_next) and a dispatcher (claim) race for the same slots: the limit holds."""
    running, first, second = (store.create_run({"n": i}) for i in range(3))
    store.claim(running)
    store.mark_running(running, 10)
    assert store.claim_next(pid=20, max_active=1) is None  # the one slot is busy
    assert not store.claim(first, max_active=1)
    store.finish(running, "succeeded", result={})
    assert store.claim_next(pid=10, max_active=1) == first  # FIFO, and it now belongs to process 10
    assert (store.get(first, owner=EVERYONE).status, store.get(first, owner=EVERYONE).pid) == ("starting", 10)
    assert not store.claim(second, max_active=1) and store.claim_next(pid=20, max_active=1) is None
    assert [r.id for r in store.active_runs()] == [first]
    assert store.claim_next(pid=20, max_active=2) == second and store.claim_next(pid=20) is None


def test_a_keyed_claim_takes_only_runs_queued_with_that_key(store):
    """A worker that outlived its command claims with its worker key: a run queued by other code or settings
    (or before keys were recorded) is not its, however long it has waited."""
    other, unkeyed, mine = (store.create_run({"n": i}, worker_key=key) for i, key in enumerate(["b", None, "a"]))
    assert store.claim_next(pid=1, worker_key="a") == mine
    assert store.claim_next(pid=1, worker_key="a") is None
    assert [r.id for r in store.queued()] == [other, unkeyed] and store.get(mine, owner=EVERYONE).worker_key == "a"
    assert store.claim_next(pid=2) == other  # without a key, as before: the oldest


def test_epochs_are_cleared_only_while_running(store):
    run_id = store.create_run({})
    store.claim(run_id)
    store.mark_running(run_id, 1)
    store.add_epoch(run_id, {"epoch": 1})
    store.clear_epochs(run_id)
    store.add_epoch(run_id, {"epoch": 1, "retry": True})
    store.finish(run_id, "succeeded", result={})
    store.clear_epochs(run_id)
    assert store.epochs(run_id) == [{"epoch": 1, "retry": True}]


def test_the_queue_takes_turns_between_workspaces(store):
    """One workspace's long comparison cannot hold everybody else behind all of its runs."""
    a1, a2, a3 = (store.create_run({"n": i}, owner="A") for i in range(3))
    b1, b2 = (store.create_run({"n": i}, owner="B") for i in range(2))
    c1 = store.create_run({"n": 0}, owner="C")
    assert [r.id for r in store.queued()] == [a1, b1, c1, a2, b2, a3]  # nobody has started yet: oldest first
    assert store.claim_next(pid=1) == a1  # the claim follows the same turns
    assert [r.id for r in store.queued()] == [b1, c1, a2, b2, a3]
    assert store.queue_position(a2) == 3 and store.queue_position(b1) == 1
    assert [store.claim_next(pid=1) for _ in range(5)] == [b1, c1, a2, b2, a3]


def test_deleting_finished_runs_does_not_win_a_workspace_the_next_turn(store):
    a1, a2 = (store.create_run({"n": i}, owner="A") for i in range(2))
    b1 = store.create_run({"n": 0}, owner="B")
    assert store.claim_next(pid=1) == a1
    store.finish(a1, "succeeded")
    assert store.delete(a1, owner="A")  # A's only started run is gone: it must still wait for B's turn
    assert [store.claim_next(pid=1) for _ in range(2)] == [b1, a2]


def test_a_store_from_before_the_library_moves_its_uploads_and_keeps_its_runs_working(tmp_path, monkeypatch):
    """Schema 3 referred to uploads by their path under uploads/<workspace>/: after the upgrade the same runs
    name them by handle and file name, the workspace may still use them, and the old folder is gone."""
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    old = tmp_path / "uploads" / "oldWorkspace_0123456789" / "0123456789abcdef" / "my reviews.csv"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"text,label\ngood,pos\nbad,neg\n")
    path = tmp_path / "runs.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for script in MIGRATIONS[:3]:
        for statement in filter(str.strip, script.split(";")):
            conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '3')")
    config = json.dumps({"data": str(old), "model": "glove-50d-bag", "strategy": "scratch", "seed": 0}, sort_keys=True)
    conn.execute("INSERT INTO runs (id, owner, status, config, created, name) VALUES ('r1', 'oldWorkspace_0123456789', "
                 "'succeeded', ?, 0, ?)", (config, f"glove-50d-bag on {old}: scratch (seed 0)"))
    moved = "/srv/old-data-dir/uploads/oldWorkspace_0123456789/fedcba9876543210/gone.csv"  # the data folder moved
    conn.execute("INSERT INTO runs (id, owner, status, config, created, name) VALUES ('r2', 'oldWorkspace_0123456789', "
                 "'failed', ?, 0, ?)", (config.replace(str(old), moved), f"glove-50d-bag on {moved}: knn (seed 1)"))
    conn.commit()
    conn.close()
    (tmp_path / "runs" / "r1").mkdir(parents=True)
    (tmp_path / "runs" / "r1" / "config.json").write_text(json.dumps({"config": json.loads(config)}))

    store = RunStore(path)
    record = store.get("r1", owner="oldWorkspace_0123456789")
    ref = record.config["data"]
    assert library.is_upload_ref(ref) and record.config["data_name"] == "my reviews.csv"
    assert library.source_path(ref).read_bytes() == b"text,label\ngood,pos\nbad,neg\n"
    assert store.upload_name("oldWorkspace_0123456789", library.upload_id(ref)) == "my reviews.csv"
    assert store.workspace_kind("oldWorkspace_0123456789") == "anonymous"  # its old link still opens
    saved = json.loads((tmp_path / "runs" / "r1" / "config.json").read_text())["config"]
    assert saved["data"] == ref and "uploads" not in json.dumps(saved)
    assert not (tmp_path / "uploads").exists()
    names = {r.id: r.name for r in store.list_runs(owner="oldWorkspace_0123456789")}
    assert names == {"r1": "glove-50d-bag on my reviews.csv: scratch (seed 0)",
                     "r2": "glove-50d-bag on gone.csv: knn (seed 1)"}  # share views title comparisons by these
    gone = store.get("r2", owner="oldWorkspace_0123456789").config
    assert library.is_upload_ref(gone["data"]) and gone["data_name"] == "gone.csv"
