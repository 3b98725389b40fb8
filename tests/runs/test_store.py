"""The SQLite run store: lifecycle guards, queue order, cancel, recovery, migrations, concurrency."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from tlcore.core.errors import UserError
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
