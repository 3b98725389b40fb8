"""The app's standby worker: started before any run is queued, it waits with everything imported, takes the
first run itself (no new process), goes back to waiting, stops with the server, and exits when the server that
started it is gone (even when that happened while it was still starting), or, started by a command line with
`linger_s`, that much later, having taken only runs queued with its own code and settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psutil
import pytest

from tests.support.paths import REPO
from tests.support.worker import pump_until, tiny_config
from tlcore.runs import Dispatcher, RunStore
from tlcore.runs.paths import heartbeat_path, log_path
from tlcore.runs.processes import LEAVE_WHEN_IDLE, WARM_ALL, WARM_FROZEN, beat, waiting_workers
from tlcore.runs.store import EVERYONE
from tlcore.runs.worker_key import worker_key


@contextmanager
def standby_dispatcher(data_dir, monkeypatch, **options) -> Iterator[tuple[RunStore, Dispatcher, int]]:
    """A dispatcher keeping a standby worker, in `data_dir`: (store, dispatcher, the standby's pid)."""
    monkeypatch.setenv("TLAB_DATA_DIR", str(data_dir))
    store = RunStore()
    dispatcher = Dispatcher(store, standby=True, **options)
    try:
        dispatcher.pump()
        [standby] = dispatcher.worker_pids  # started with nothing queued
        yield store, dispatcher, standby
    finally:
        dispatcher.terminate_all()


def _ready(timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while "ready after" not in (log_path("standby").read_text() if log_path("standby").exists() else ""):
        assert time.monotonic() < deadline, "the standby worker did not get ready"
        time.sleep(0.2)


def test_the_standby_worker_takes_runs_without_a_new_process(tmp_path, monkeypatch, tiny_image_folder):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    store = RunStore()
    dispatcher = Dispatcher(store, max_workers=1, standby=True)
    try:
        dispatcher.pump()
        [standby] = dispatcher.worker_pids  # started with nothing queued
        _ready()
        for k in range(2):  # the first run, and one after it went back to waiting
            run_id = store.create_run(tiny_config(tiny_image_folder, seed=k).to_dict())
            pump_until(lambda run_id=run_id: store.get(run_id, owner=EVERYONE).is_final, dispatcher, timeout_s=180)
            record = store.get(run_id, owner=EVERYONE)
            assert record.status == "succeeded" and record.pid == standby, record.error
            assert dispatcher.worker_pids == [standby]
        dispatcher.stop()  # the server shuts down: its waiting standby worker goes too, and no new one comes
        psutil.Process(standby).wait(timeout=30)
        dispatcher.pump()
        assert dispatcher.worker_pids == []
    finally:
        dispatcher.terminate_all()


@pytest.mark.parametrize("warm, with_torch", [(WARM_FROZEN, False), (WARM_ALL, True)])
def test_what_a_standby_worker_imports_while_it_waits_is_what_its_runs_will_need(tmp_path, monkeypatch, warm,
                                                                                 with_torch):
    """A command queueing only linear probes or nearest neighbours (`ready_executor`) gets a worker that loads no
    torch while it waits: those runs need none on an exported body, and would wait for its import otherwise."""
    with standby_dispatcher(tmp_path, monkeypatch, max_workers=1, standby_warm=warm) as (_, _, standby):
        _ready()
        mapped = {m.path for m in psutil.Process(standby).memory_maps()}
        assert any("onnxruntime" in path for path in mapped)
        assert any("libtorch" in path for path in mapped) == with_torch


def test_a_standby_worker_on_a_run_when_its_server_stops_finishes_the_run_and_then_leaves(tmp_path, monkeypatch,
                                                                                         tiny_image_folder):
    """The server stops (`Dispatcher.stop`) while its standby worker is on a run: the run is not cut short, and
    the worker leaves after it although its server (here this process) is still there. The worker itself decides
    between two runs, so a run it claims in the instant the server stops is finished too (when the dispatcher
    terminated the workers it believed idle, such a run ended interrupted)."""
    with standby_dispatcher(tmp_path, monkeypatch, max_workers=1) as (store, dispatcher, standby):
        _ready()
        run_id = store.create_run(tiny_config(tiny_image_folder, strategy="scratch", epochs=1000, patience=0,
                                              max_seconds=4).to_dict())
        pump_until(lambda: store.get(run_id, owner=EVERYONE).status == "running", dispatcher, timeout_s=60)
        dispatcher.stop()
        psutil.Process(standby).wait(timeout=120)
        record = store.get(run_id, owner=EVERYONE)
        assert record.status == "succeeded" and record.pid == standby, record.error
        assert not heartbeat_path(standby).exists()


def test_a_hung_standby_worker_is_killed_when_its_server_stops(tmp_path, monkeypatch):
    """A worker frozen while it waits would never read the request to leave and would outlive its server."""
    with standby_dispatcher(tmp_path, monkeypatch, max_workers=1, standby_stale_s=2.0) as (_, dispatcher, standby):
        _ready()
        psutil.Process(standby).suspend()
        time.sleep(2.5)
        dispatcher.stop()
        assert not psutil.pid_exists(standby) or psutil.Process(standby).status() == psutil.STATUS_ZOMBIE


def test_a_request_to_leave_that_comes_while_the_worker_claims_a_run_lets_that_run_finish(tmp_path, monkeypatch,
                                                                                       tiny_image_folder):
    """The instant the dispatcher used to lose: the request to leave arrives while the worker claims a run (here
    sent from inside the store's claim, in this process). The worker runs the claimed run to its end, takes no
    other, and returns."""
    from tlcore.runs.worker import standby

    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))

    class AskedToLeaveWhileClaiming(RunStore):
        def claim_next(self, *args, **kwargs):
            os.kill(os.getpid(), LEAVE_WHEN_IDLE)
            return super().claim_next(*args, **kwargs)

    store = AskedToLeaveWhileClaiming()
    first, second = (store.create_run(tiny_config(tiny_image_folder, seed=k).to_dict()) for k in range(2))
    previous = signal.getsignal(LEAVE_WHEN_IDLE)
    try:
        statuses = standby(store, max_active=1, max_runs=5, parent=os.getppid())
    finally:
        signal.signal(LEAVE_WHEN_IDLE, previous)
    assert statuses == ["succeeded"]
    assert [store.get(r, owner=EVERYONE).status for r in (first, second)] == ["succeeded", "queued"]


def test_the_standby_worker_leaves_when_its_server_is_gone_even_before_it_was_ready(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    server = subprocess.run(  # a stand-in server: starts the standby worker, then dies at once, cleaning nothing
        [sys.executable, "-c", "import os; from tlcore.runs import Dispatcher, RunStore; "
         "d = Dispatcher(RunStore(), max_workers=1, standby=True); d.pump(); print(d.worker_pids[0], flush=True); "
         "os._exit(0)"],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, check=True)
    standby = psutil.Process(int(server.stdout.strip()))
    try:
        standby.wait(timeout=180)  # it sees its server is gone between two imports, and leaves
        assert "ready after" not in log_path("standby").read_text()  # without importing every library first
    finally:
        if standby.is_running():
            standby.kill()


def test_a_hung_standby_worker_is_replaced_and_the_queue_moves_on(tmp_path, monkeypatch, tiny_image_folder):
    """With one worker slot, a standby worker that stopped polling (here frozen with SIGSTOP) would hold the
    slot for ever: the dispatcher kills it and starts a worker for the queued run."""
    with standby_dispatcher(tmp_path, monkeypatch, max_workers=1, standby_stale_s=3.0) as (store, dispatcher,
                                                                                           standby):
        _ready()
        time.sleep(1.0)
        dispatcher.pump()
        assert dispatcher.worker_pids == [standby], "a healthy waiting standby worker was taken for hung"
        psutil.Process(standby).suspend()
        run_id = store.create_run(tiny_config(tiny_image_folder).to_dict())
        pump_until(lambda: store.get(run_id, owner=EVERYONE).is_final, dispatcher, timeout_s=180)
        record = store.get(run_id, owner=EVERYONE)
        assert record.status == "succeeded" and record.pid != standby, record.error
        assert not psutil.pid_exists(standby) or psutil.Process(standby).status() == psutil.STATUS_ZOMBIE


def test_a_worker_imports_at_its_lower_priority_from_its_start(tmp_path, monkeypatch):
    """The dispatcher lowers a new worker's priority at once: its seconds of imports (while a command checks
    its data, or a page is being used) already run below its starter, not only its runs."""
    monkeypatch.setenv("TLAB_WORKER_NICE", "7")
    with standby_dispatcher(tmp_path, monkeypatch, max_workers=1) as (_, _, worker):
        assert "ready after" not in log_path("standby").read_text()  # still importing
        assert psutil.Process(worker).nice() == min(19, psutil.Process().nice() + 7)


def test_with_a_free_slot_a_queued_run_waits_for_the_standby_worker_only_so_long(tmp_path, monkeypatch,
                                                                                tiny_image_folder):
    """With two slots, the first queued run is left to the waiting standby worker (no second process for it);
    one it has not taken within `standby_stale_s` (here it is frozen while still importing) goes to the free
    slot."""
    with standby_dispatcher(tmp_path, monkeypatch, max_workers=2, standby_stale_s=2.0) as (store, dispatcher,
                                                                                           standby):
        psutil.Process(standby).suspend()
        run_id = store.create_run(tiny_config(tiny_image_folder).to_dict())
        dispatcher.pump()
        assert store.get(run_id, owner=EVERYONE).status == "queued" and dispatcher.worker_pids == [standby]
        time.sleep(2.5)
        dispatcher.pump()
        record = store.get(run_id, owner=EVERYONE)
        assert record.status != "queued" and record.pid not in (None, standby)
        assert sorted(dispatcher.worker_pids) == sorted([standby, record.pid])


def test_a_worker_left_by_a_command_takes_only_its_own_kind_of_run_and_ctrl_c_stops_it(tmp_path, monkeypatch,
                                                                                       tiny_image_folder):
    """A stand-in command starts a standby worker that lingers (`linger_s`), waits until it is ready and exits.
    The next command's dispatcher starts no worker of its own and leaves the run to the waiting one; a run queued
    with other code or settings (another worker key) is not taken by it; Ctrl-C on a run it is on (the
    command's `terminate_all`) stops that process and ends the run cancelled."""
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    command = subprocess.Popen(
        [sys.executable, "-c", "import os, sys; from tlcore.runs import Dispatcher, RunStore; "
         "d = Dispatcher(RunStore(), max_workers=1, standby=True, linger_s=120); d.pump(); "
         "print(d.worker_pids[0], flush=True); sys.stdin.read(); d.stop(); os._exit(0)"],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    left = psutil.Process(int(command.stdout.readline()))
    store, dispatcher = RunStore(), Dispatcher(RunStore(), max_workers=1, standby=True, linger_s=120)
    try:
        _ready()
        command.communicate(timeout=30)  # the command ends; its worker stays
        time.sleep(1.0)
        assert left.is_running()
        dispatcher.pump()
        assert dispatcher.worker_pids == [], "a worker was started although one was waiting"
        mine = store.create_run(tiny_config(tiny_image_folder).to_dict(), worker_key=worker_key())
        pump_until(lambda: store.get(mine, owner=EVERYONE).is_final, dispatcher, timeout_s=120)
        record = store.get(mine, owner=EVERYONE)
        assert record.status == "succeeded" and record.pid == left.pid and dispatcher.worker_pids == [], record
        other = store.create_run(tiny_config(tiny_image_folder).to_dict(), worker_key="other code or settings")
        time.sleep(2.0)  # eight polls of the waiting worker
        assert store.get(other, owner=EVERYONE).status == "queued" and left.is_running()
        store.request_cancel(other, owner=EVERYONE)
        long = store.create_run(tiny_config(tiny_image_folder, strategy="scratch", epochs=1000, patience=0).to_dict(),
                                worker_key=worker_key())
        pump_until(lambda: store.get(long, owner=EVERYONE).status == "running", dispatcher, timeout_s=60)
        dispatcher.terminate_all([long])  # Ctrl-C in the command whose run it is
        assert not left.is_running() or left.status() == psutil.STATUS_ZOMBIE
        assert store.get(long, owner=EVERYONE).status == "cancelled"
    finally:
        command.kill()
        dispatcher.terminate_all()
        if left.is_running():
            left.kill()


def test_a_worker_whose_command_is_gone_takes_only_its_key_and_leaves_after_waiting_so_long(tmp_path, monkeypatch):
    from tlcore.runs.worker import Tenure

    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    store = RunStore()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    tenure = Tenure(store, parent=gone.pid, linger_s=0.5)
    other = store.create_run({"n": 0}, worker_key="other code or settings")
    mine = store.create_run({"n": 1}, worker_key=tenure.key)
    assert tenure.stays() and tenure.claim(max_active=1) == mine and tenure.claim(max_active=2) is None
    tenure.worked()
    time.sleep(0.6)
    assert not tenure.stays() and store.get(other, owner=EVERYONE).status == "queued"
    assert Tenure(store, parent=os.getppid(), linger_s=0).stays()  # its command is there: it stays


def test_a_killed_workers_heartbeat_is_deleted_and_a_busy_workers_is_kept(tmp_path, monkeypatch):
    """A worker killed while it waited (SIGKILL, out of memory) leaves its heartbeat file behind; the next look
    for waiting workers deletes it, but keeps the stale heartbeat of a live worker that is busy training."""
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("tlcore.runs.processes.EXEC_GRACE_S", 0)  # alive as a worker, not as a process just forked
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    # a live process whose command line is a worker's, as `processes.is_worker_alive` recognises one
    busy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "tlcore.runs.worker"])
    try:
        long_ago = time.time() - 600
        for pid in (gone.pid, busy.pid):
            beat(pid, "some-key")
            os.utime(heartbeat_path(pid), (long_ago, long_ago))
        assert waiting_workers() == {}  # neither beats now
        assert not heartbeat_path(gone.pid).exists()
        assert heartbeat_path(busy.pid).exists()
        beat(busy.pid, "some-key")  # back to waiting
        assert waiting_workers() == {busy.pid: "some-key"}
    finally:
        busy.kill()
        busy.wait()
