"""The worker key: what a run queued now expects of the process that trains it. It must change with the engine's
code, its installed packages and any setting that changes what a run computes, and not with how the worker
process is run (its slot limit, its parent, its data directory's spelling)."""

from __future__ import annotations

import shutil

from tlcore.runs.worker_key import PACKAGE, worker_key


def test_the_key_follows_the_code_and_the_settings_not_the_process(tmp_path):
    package = tmp_path / "tlcore"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    env = {"TLAB_FEATURE_BACKEND": "onnx", "PATH": "/bin"}
    key = worker_key(env, package)
    assert worker_key(dict(env), package) == key  # the same process state: the same key
    per_process = dict(env, TLAB_MAX_WORKERS="2", TLAB_STANDBY_PARENT="42", TLAB_WORKER_LINGER_S="300",
                       TLAB_DATA_DIR="/elsewhere", PYTHONPATH="/x", PATH="/usr/bin")
    assert worker_key(per_process, package) == key
    assert worker_key(dict(env, TLAB_FEATURE_BACKEND="torch"), package) != key
    assert worker_key(dict(env, HF_HUB_OFFLINE="1"), package) != key
    assert worker_key(dict(env, TLAB_EXECUTOR="ray"), package) != key  # a Ray run never trains on a local worker
    assert worker_key(dict(env, CUDA_VISIBLE_DEVICES="1"), package) != key  # the command asked for that GPU
    assert worker_key(dict(env, CUDA_VISIBLE_DEVICES="1", TLAB_ASSIGNED_GPU="1"), package) == key  # a dispatcher's
    source = package / "runs" / "worker.py"
    source.write_text(source.read_text() + "\n# an edit\n")
    assert worker_key(env, package) != key
    assert worker_key(env, PACKAGE) != worker_key(env, package)  # another checkout of the same code

