"""Real worker processes driven through the store: submit, progress, artifacts, cancel, a killed worker,
recovery of orphans after a restart, FIFO order with one slot, and warm workers that chain queued runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import partial

import pytest

from tests.support.worker import pump_until, tiny_config
from tlcore.experiments import submit
from tlcore.runs import Dispatcher, RunStore
from tlcore.runs.paths import run_dir
from tlcore.runs.store import EVERYONE
from tlcore.runs.worker import log_path

pytestmark = pytest.mark.slow


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    return RunStore()


wait_until = partial(pump_until, timeout_s=90.0)


def test_submitted_run_trains_in_a_worker_and_writes_everything(store, tiny_image_folder):
    run_id = submit.submit(store, tiny_config(tiny_image_folder))
    dispatcher = Dispatcher(store, max_workers=1)
    (record,) = dispatcher.wait([run_id], poll_s=0.2, timeout_s=180)
    assert record.status == "succeeded", record.error
    assert record.pid and record.pid != os.getpid()
    assert record.progress == 1.0 and record.result["n_test"] == 6
    assert [e["epoch"] for e in store.epochs(run_id)] == list(range(1, len(store.epochs(run_id)) + 1))
    files = {p.name for p in run_dir(run_id).iterdir()}
    assert {"model.safetensors", "config.json", "labels.json", "predictions.json", "evaluation.json"} <= files


def test_cancel_stops_a_running_worker(store, tiny_image_folder):
    run_id = submit.submit(store, tiny_config(tiny_image_folder, strategy="scratch", epochs=1000, patience=0))
    dispatcher = Dispatcher(store, max_workers=1)
    wait_until(lambda: store.get(run_id, owner=EVERYONE).step > 0, dispatcher)
    assert store.request_cancel(run_id, owner=EVERYONE) == "running"
    (record,) = dispatcher.wait([run_id], poll_s=0.2, timeout_s=60)
    assert record.status == "cancelled" and record.step < record.total_steps
    assert not run_dir(run_id).exists()


def test_killed_worker_fails_with_reason_and_the_queue_goes_on(store, tiny_image_folder):
    doomed = submit.submit(store, tiny_config(tiny_image_folder, strategy="scratch", epochs=1000, patience=0))
    next_run = submit.submit(store, tiny_config(tiny_image_folder))
    dispatcher = Dispatcher(store, max_workers=1)
    wait_until(lambda: store.get(doomed, owner=EVERYONE).step > 0, dispatcher)
    assert store.queue_position(next_run) == 1  # one slot: the second run waits its turn
    os.kill(store.get(doomed, owner=EVERYONE).pid, signal.SIGKILL)
    records = dispatcher.wait([doomed, next_run], poll_s=0.2, timeout_s=180)
    assert records[0].status == "failed" and "SIGKILL" in records[0].error
    assert records[1].status == "succeeded"


def test_restart_marks_orphaned_runs_interrupted(store):
    run_id = store.create_run(tiny_config("tux-photos").to_dict())
    store.claim(run_id)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store.mark_running(run_id, gone.pid)
    # an unrelated live process with a run's pid does not count as its worker either
    other = store.create_run(tiny_config("tux-photos").to_dict())
    store.claim(other)
    store.mark_running(other, os.getpid())
    assert sorted(Dispatcher(RunStore(store.path), max_workers=1).recover()) == sorted([run_id, other])
    record = store.get(run_id, owner=EVERYONE)
    assert record.status == "interrupted" and "start it again" in record.error


def test_a_dead_worker_left_running_does_not_block_the_queue(store, tiny_image_folder):
    """A previous process died without cleaning up: the next dispatcher must still serve its queue."""
    stale = store.create_run(tiny_config(tiny_image_folder).to_dict())
    store.claim(stale)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store.mark_running(stale, gone.pid)
    fresh = submit.submit(store, tiny_config(tiny_image_folder))
    records = Dispatcher(store, max_workers=1).wait([fresh, stale], poll_s=0.2, timeout_s=180)
    assert [r.status for r in records] == ["succeeded", "interrupted"]


def test_relative_data_path_is_stored_absolute(store, tiny_image_folder, monkeypatch):
    monkeypatch.chdir(tiny_image_folder.parent)
    run_id = submit.submit(store, tiny_config(tiny_image_folder.name))
    assert store.get(run_id, owner=EVERYONE).config["data"] == str(tiny_image_folder.resolve())


def test_one_warm_worker_runs_the_queue_in_fifo_order(store, tiny_image_folder):
    run_ids = [submit.submit(store, tiny_config(tiny_image_folder, epochs=1, seed=seed)) for seed in range(3)]
    dispatcher = Dispatcher(store, max_workers=1)
    records = dispatcher.wait(run_ids, poll_s=0.2, timeout_s=180)
    assert [r.status for r in records] == ["succeeded"] * 3, [r.error for r in records]
    assert len({r.pid for r in records}) == 1  # one process, started once, ran all three
    assert sorted(records, key=lambda r: r.started) == records  # in the order they were queued
    assert all(r.started >= before.finished for before, r in zip(records, records[1:]))
    for r in records:  # each run keeps its own log
        assert f"run {r.id} ended: succeeded" in log_path(r.id).read_text()
        assert (run_dir(r.id) / "model.safetensors").exists()


def test_the_real_dispatcher_takes_turns_between_workspaces(store, tiny_image_folder):
    """A's long run is queued first and A's second run right after it; B's and C's 2-run comparisons come
    later. With one worker, B's and C's first runs start before A's second run (round-robin, not FIFO)."""
    long_a = submit.submit(store, tiny_config(tiny_image_folder, strategy="scratch", epochs=3), owner="A")
    second_a = submit.submit(store, tiny_config(tiny_image_folder, epochs=1), owner="A")
    base = tiny_config(tiny_image_folder, epochs=1)
    _, b_runs, _ = submit.submit_comparison(store, base, ["linear_probe", "scratch"], 1, owner="B")
    _, c_runs, _ = submit.submit_comparison(store, base, ["linear_probe", "scratch"], 1, owner="C")
    assert [r.id for r in store.queued()] == [long_a, b_runs[0], c_runs[0], second_a, b_runs[1], c_runs[1]]
    records = Dispatcher(store, max_workers=1).wait([long_a, second_a, *b_runs, *c_runs], poll_s=0.2,
                                                    timeout_s=300)
    assert [r.status for r in records] == ["succeeded"] * 6, [r.error for r in records]
    started = {r.id: r.started for r in records}
    assert started[long_a] < started[b_runs[0]] < started[c_runs[0]] < started[second_a]
    assert started[second_a] < started[b_runs[1]] < started[c_runs[1]]


def test_cancel_of_a_chained_run_stops_the_process_it_is_on(store, tiny_image_folder):
    """The worker ignores the flag (it is stopped): after the grace period the dispatcher kills the
    process that the cancelled run is on; the run before it stays finished and the one after still runs."""
    first = submit.submit(store, tiny_config(tiny_image_folder, epochs=1))
    stuck = submit.submit(store, tiny_config(tiny_image_folder, strategy="scratch", epochs=1000, patience=0))
    after = submit.submit(store, tiny_config(tiny_image_folder, epochs=1))
    dispatcher = Dispatcher(store, max_workers=1, cancel_grace_s=0.5)
    wait_until(lambda: store.get(stuck, owner=EVERYONE).step > 0, dispatcher)
    pid = store.get(stuck, owner=EVERYONE).pid
    assert pid == store.get(first, owner=EVERYONE).pid and store.get(first, owner=EVERYONE).status == "succeeded"
    os.kill(pid, signal.SIGSTOP)
    try:
        assert store.request_cancel(stuck, owner=EVERYONE) == "running"
        records = dispatcher.wait([first, stuck, after], poll_s=0.2, timeout_s=180)
    finally:
        if pid in dispatcher.worker_pids:  # the test failed before the dispatcher killed it
            os.kill(pid, signal.SIGKILL)
    assert [r.status for r in records] == ["succeeded", "cancelled", "succeeded"]
    assert records[2].pid != pid and not run_dir(stuck).exists() and run_dir(first).exists()


def test_max_workers_holds_while_workers_and_dispatchers_race(store, tiny_image_folder):
    """Two servers' dispatchers and their warm workers all claim from one queue with one slot."""
    run_ids = [submit.submit(store, tiny_config(tiny_image_folder, epochs=1, seed=seed)) for seed in range(3)]
    dispatchers = [Dispatcher(RunStore(store.path), max_workers=1) for _ in range(2)]
    busy = []
    deadline = time.monotonic() + 180
    while not all(store.get(r, owner=EVERYONE).is_final for r in run_ids):
        assert time.monotonic() < deadline, "runs not finished in time"
        for d in dispatchers:
            d.pump()
            busy.append(store.count_active())
        time.sleep(0.05)
    assert max(busy) == 1
    assert [store.get(r, owner=EVERYONE).status for r in run_ids] == ["succeeded"] * 3
