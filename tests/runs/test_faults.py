"""Faults with real worker processes and a real SQLite store: a worker killed mid-run, a server restart,
the GPU running out of memory, and a disk that cannot take the model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
import torch

from tests.support.worker import pump_until, tiny_config
from tlcore.core.config import TrainConfig
from tlcore.core.errors import ConfigError
from tlcore.experiments import submit
from tlcore.runs import Dispatcher, RunStore, is_worker_alive
from tlcore.runs.memory import with_smaller_batch_on_oom
from tlcore.runs.paths import run_dir, runs_root
from tlcore.runs.store import EVERYONE

pytestmark = pytest.mark.slow
FILE_SIZE_LIMIT = 4 * 1024 * 1024  # above everything a tiny run writes except MobileNetV2's ~9 MB of weights


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    return RunStore()


tiny = partial(tiny_config, epochs=1)


def endless(folder) -> TrainConfig:
    return tiny(folder, strategy="scratch", epochs=1000, patience=0)


def test_sigkill_mid_run_fails_only_that_run(store, tiny_image_folder):
    done = submit.submit(store, tiny(tiny_image_folder))
    doomed = submit.submit(store, endless(tiny_image_folder))
    behind = submit.submit(store, tiny(tiny_image_folder, seed=1))
    dispatcher = Dispatcher(store, max_workers=1)
    pump_until(lambda: store.get(doomed, owner=EVERYONE).step > 0, dispatcher)
    finished_before = (store.get(done, owner=EVERYONE), store.epochs(done),
                       sorted(p.name for p in run_dir(done).iterdir()))
    os.kill(store.get(doomed, owner=EVERYONE).pid, signal.SIGKILL)
    records = dispatcher.wait([done, doomed, behind], poll_s=0.2, timeout_s=180)
    assert [r.status for r in records] == ["succeeded", "failed", "succeeded"]
    assert records[0].pid == records[1].pid  # the killed run was the worker's second: chained, not its first
    assert "stopped unexpectedly (killed by SIGKILL)" in records[1].error and records[1].result is None
    assert (records[0], store.epochs(done), sorted(p.name for p in run_dir(done).iterdir())) == finished_before
    assert not run_dir(doomed).exists() and records[2].pid != records[1].pid


def test_server_restart_keeps_history_and_marks_the_orphan_interrupted(store, tiny_image_folder):
    done = submit.submit(store, tiny(tiny_image_folder))
    orphan = submit.submit(store, endless(tiny_image_folder))
    first_server = Dispatcher(store, max_workers=1)
    pump_until(lambda: store.get(orphan, owner=EVERYONE).step > 0, first_server)
    pid = store.get(orphan, owner=EVERYONE).pid
    # chained: its run id is not in the worker's command line
    assert first_server.worker_pids == [pid] == [store.get(done, owner=EVERYONE).pid]
    # a second server on the same data directory sees the live worker as alive, not as an orphan
    assert Dispatcher(RunStore(store.path), max_workers=1).recover() == []
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    finished_before = (store.get(done, owner=EVERYONE), store.epochs(done))
    del first_server
    restarted = RunStore(store.path)
    assert Dispatcher(restarted, max_workers=1).recover() == [orphan]
    record = restarted.get(orphan, owner=EVERYONE)
    assert record.status == "interrupted" and "start it again" in record.error
    assert (restarted.get(done, owner=EVERYONE), restarted.epochs(done)) == finished_before
    assert (run_dir(done) / "model.safetensors").exists() and not run_dir(orphan).exists()


def test_ctrl_c_in_the_cli_cancels_its_own_run_and_stops_its_worker(store, tiny_image_folder, tmp_path):
    root = Path(__file__).resolve().parents[2]
    cli = subprocess.Popen([sys.executable, "-m", "tlcore", "train", "--data", str(tiny_image_folder), "--model",
                            "mobilenet_v2", "--strategy", "scratch", "--epochs", "1000", "--patience", "0",
                            "--image-size", "32"], env=dict(os.environ, PYTHONPATH=str(root)), cwd=root,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           # a suite started in the background by a non-interactive shell ignores SIGINT, and
                           # so would the CLI (Python installs its Ctrl-C handler only where SIGINT is not
                           # ignored): give it the terminal's default, as a person pressing Ctrl-C has
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not any(r.step > 0 for r in store.active_runs()):
            assert time.monotonic() < deadline and cli.poll() is None, "the CLI's run did not start"
            time.sleep(0.2)
        (mine,) = store.active_runs()
        someone_elses = submit.submit(store, tiny(tiny_image_folder))  # queued behind it by another caller
        cli.send_signal(signal.SIGINT)
        assert cli.wait(timeout=120) == 130 and "interrupted" in cli.stderr.read()
    except BaseException:
        for run in store.active_runs():  # a worker left training would slow every later test
            if run.pid and is_worker_alive(run.pid):
                os.kill(run.pid, signal.SIGKILL)
        raise
    finally:
        cli.kill()
    assert store.get(mine.id, owner=EVERYONE).status == "cancelled" and not is_worker_alive(mine.pid)
    assert store.get(someone_elses, owner=EVERYONE).status == "queued"


def test_a_reused_pid_is_not_a_live_worker():
    """Only a tlcore.runs.worker process that already existed when the run was handed to it counts (or one
    forked a moment ago, which may not have exec'd the worker yet)."""
    started = time.time()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "tlcore.runs.worker"])
    try:
        assert is_worker_alive(proc.pid) and is_worker_alive(proc.pid, since=started)
        assert not is_worker_alive(proc.pid, since=started - 3600)  # born long after the run started
        assert not is_worker_alive(os.getpid())  # alive, but not a worker
    finally:
        proc.kill()
        proc.wait()
    assert not is_worker_alive(proc.pid, since=started)


@pytest.mark.parametrize("oom", sorted({torch.OutOfMemoryError, torch.cuda.OutOfMemoryError}, key=str))
def test_out_of_memory_is_retried_once_with_half_the_batch(oom):
    tried, retries = [], []

    def attempt(batch_size: int) -> str:
        tried.append(batch_size)
        if batch_size > 16:
            raise oom("CUDA out of memory. Tried to allocate 2.00 GiB")
        return f"trained at {batch_size}"

    assert with_smaller_batch_on_oom(attempt, 32, retries.append) == ("trained at 16", 16)
    assert tried == [32, 16] and retries == [16]
    tried.clear()
    with pytest.raises(ConfigError, match="ran out of memory even at batch size 32; choose a smaller model"):
        with_smaller_batch_on_oom(attempt, 64)
    assert tried == [64, 32]
    tried.clear()
    with pytest.raises(ConfigError, match="even at batch size 17"):
        with_smaller_batch_on_oom(attempt, 35)
    assert tried == [35, 17]


def test_out_of_memory_at_batch_size_one_and_other_errors_are_not_retried():
    tried = []

    def attempt(batch_size: int) -> None:
        tried.append(batch_size)
        raise torch.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(ConfigError, match="even at batch size 1;"):
        with_smaller_batch_on_oom(attempt, 1)
    assert tried == [1]

    def broken(batch_size: int) -> None:
        tried.append(batch_size)
        raise ValueError("not a memory problem")

    tried.clear()
    with pytest.raises(ValueError):
        with_smaller_batch_on_oom(broken, 8)
    assert tried == [8]


def limited_python(tmp_path) -> str:
    """An interpreter wrapper whose processes may not write files above FILE_SIZE_LIMIT: writes past it fail
    with EFBIG (SIGXFSZ, which would kill the process instead, is ignored and stays so across exec)."""
    wrapper = tmp_path / "python-limited"
    wrapper.write_text(f"#!{sys.executable}\nimport os, resource, signal, sys\n"
                       "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
                       f"resource.setrlimit(resource.RLIMIT_FSIZE, ({FILE_SIZE_LIMIT}, {FILE_SIZE_LIMIT}))\n"
                       f"os.execv({sys.executable!r}, [{sys.executable!r}, *sys.argv[1:]])\n")
    wrapper.chmod(0o755)
    return str(wrapper)


def test_a_full_disk_fails_the_run_and_leaves_no_half_written_folder(store, tiny_image_folder, tmp_path):
    run_id = submit.submit(store, tiny(tiny_image_folder))
    dispatcher = Dispatcher(store, max_workers=1, python=limited_python(tmp_path))
    (record,) = dispatcher.wait([run_id], poll_s=0.2, timeout_s=180)
    assert record.status == "failed" and record.result is None
    assert record.error == ("The server's disk is full (or not writable) while saving the model: free space for "
                            "the data directory and start the run again (File too large).")
    assert str(runs_root()) not in record.error  # people (and share links) see no server path
    assert store.epochs(run_id)  # it did train: only saving failed
    assert list(runs_root().iterdir()) == []  # neither the run's folder nor its temporary one
