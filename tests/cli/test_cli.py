"""`python -m tlcore`: listings, a real train and compare through worker processes, export, predict,
and exit status 2 with one plain line (never a traceback) for bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.appserver import worker_processes
from tests.support.paths import REPO
from tlcore.cli import main
from tlcore.runs.store import EVERYONE, RunStore

ROOT = REPO


def run_cli(*args: str, data_dir: Path, early_worker: bool = False, max_workers: int = 1, linger_s: float = 0
            ) -> subprocess.CompletedProcess:
    """`early_worker`: as outside the tests, the command starts its worker before checking the data; `linger_s`:
    and that worker stays so long after the command, for the next one (outside the tests: 300 s)."""
    env = dict(os.environ, TLAB_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT), TLAB_MAX_WORKERS=str(max_workers),
               TLAB_STANDBY_WORKER="1" if early_worker else "0", TLAB_WORKER_LINGER_S=str(linger_s))
    return subprocess.run([sys.executable, "-m", "tlcore", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


def test_datasets_and_models_listings(capsys):
    assert main(["datasets", "--json"]) == 0
    datasets = {d["id"]: d for d in json.loads(capsys.readouterr().out)["datasets"]}
    assert {"tux-photos", "mnist-5k", "digits", "fashion-mnist", "rotten-tomatoes", "bbc-news"} <= set(datasets)
    assert datasets["digits"]["available"] is True
    assert main(["models", "--json"]) == 0
    models = {m["id"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert all(models[m]["available"] for m in ("mobilenet_v2", "efficientnet_lite0", "minilm-l6", "glove-50d-bag"))
    assert models["resnet50"]["available"] is False and "internet" in models["resnet50"]["reason"]


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "/no/such/file.zip", "--model", "mobilenet_v2"], "file.zip"),
    (["train", "--data", "tux-photos", "--model", "no-such-model"], "no-such-model"),
    (["train", "--data", "tux-photos", "--model", "mobilenet_v2", "--strategy", "magic"], "magic"),
    (["train", "--data", "tux-photos", "--model", "mobilenet_v2", "--epochs", "0"], "epochs"),
    (["train", "--data", "tux-photos", "--model", "mobilenet_v2", "--epochs", "three"], "three"),
    (["train", "--data", "bbc-news", "--model", "mobilenet_v2"], "text"),
    (["compare", "--data", "tux-photos", "--model", "mobilenet_v2", "--strategies", "scratch,lora"], "LoRA"),
    (["compare", "--data", "tux-photos", "--model", "resnet50", "--strategies", "scratch,finetune"], "resnet50"),
    (["compare", "--data", "tux-photos", "--model", "mobilenet_v2", "--strategies", "scratch,scratch"], "twice"),
    (["compare", "--data", "tux-photos", "--model", "mobilenet_v2", "--strategies", "scratch,finetune_top",
      "--freeze-through", "blocks.3"], "MobileNetV2 has no stage 'blocks.3'; its stages are features.1, features.4"),
    (["train", "--data", "tux-photos", "--model", "mobilenet_v2", "--freeze-through", " "], "freeze_through must name"),
    (["train", "--data", "digits", "--model", "mobilenet_v2", "--device", "cuda"], None),
    (["train", "--data", "tux-photos", "--model", "mobilenet_v2", "--strategy", "distill", "--alpha", "2"], "alpha"),
    (["runs", "show", "nope"], "nope"),
    (["predict", "--run", "nope", "x.png"], "nope"),
    (["frobnicate"], "frobnicate"),
])
def test_bad_input_exits_2_with_one_line(args, message, capsys):
    import torch
    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("a GPU is present, so --device cuda is valid here")
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    if message:
        assert message in err


def test_bad_input_from_a_real_process_has_no_traceback(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("text,label\nonly one class,a\nanother,a\n")
    proc = run_cli("train", "--data", str(bad), "--model", "minilm-l6", data_dir=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr and proc.stdout == ""


def test_an_executor_that_cannot_start_is_one_line_and_leaves_nothing_queued(tmp_path, tiny_image_folder,
                                                                            monkeypatch, capsys):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TLAB_EXECUTOR", "kubernetes")
    code = main(["train", "--data", str(tiny_image_folder), "--model", "mobilenet_v2", "--strategy", "linear_probe",
                 "--image-size", "32"])
    assert code == 2 and "error: TLAB_EXECUTOR must be 'local'" in capsys.readouterr().err
    assert RunStore(tmp_path / "runs.sqlite3").list_runs(owner=EVERYONE) == []  # the executor comes first


def test_the_worker_started_before_the_check_trains_the_run_and_goes_when_the_check_fails(tmp_path,
                                                                                        tiny_image_folder):
    """`train` starts its worker before checking the data, so that its imports overlap the check: that worker
    trains the run and stays for the next command, which starts no worker of its own; refused data, with the
    worker set to leave with its command, leaves no worker behind."""
    train = ("train", "--data", str(tiny_image_folder), "--model", "mobilenet_v2", "--strategy", "linear_probe",
             "--image-size", "32", "--json")
    try:
        runs = []
        for seed in ("0", "1"):  # with 2 slots: a free slot must not tempt the command into a second worker
            proc = run_cli(*train, "--seed", seed, data_dir=tmp_path, early_worker=True, max_workers=2, linger_s=120)
            assert proc.returncode == 0 and json.loads(proc.stdout)["status"] == "succeeded", proc.stderr
            runs.append(RunStore(tmp_path / "runs.sqlite3").get(json.loads(proc.stdout)["run_id"], owner=EVERYONE))
        started = re.findall(r"standby worker (\d+): started", (tmp_path / "logs" / "standby.log").read_text())
        assert started == [str(runs[0].pid)] and runs[1].pid == runs[0].pid  # one worker, for both commands
    finally:
        for proc in worker_processes(tmp_path):
            proc.kill()
    refused = tmp_path / "refused"
    bad = tmp_path / "labels.csv"
    bad.write_text("text,label\nonly one class,a\nanother,a\n")
    proc = run_cli("train", "--data", str(bad), "--model", "minilm-l6", data_dir=refused, early_worker=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert (refused / "logs" / "standby.log").exists()  # a worker had been started
    deadline = time.monotonic() + 2  # stopped by the command: sooner than it would notice its parent is gone
    while (left := worker_processes(refused)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == []


@pytest.mark.slow
def test_train_export_predict_end_to_end(tmp_path, tiny_image_folder, monkeypatch, capsys):
    proc = run_cli("train", "--data", str(tiny_image_folder), "--model", "mobilenet_v2", "--strategy",
                   "finetune", "--epochs", "2", "--image-size", "32", "--json", data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert {"run_id", "status", "test_accuracy", "macro_f1", "n_train", "n_test", "epochs", "wall_seconds",
            "trainable_params", "history"} <= set(result)
    assert result["status"] == "succeeded" and len(result["history"]) == result["epochs"]
    assert "step" in proc.stderr  # the progress bar went to stderr, not stdout
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    run_id = result["run_id"]
    for fmt in ("safetensors", "onnx"):
        out = tmp_path / f"model.{fmt}"
        assert main(["runs", "export", run_id, "--format", fmt, "--out", str(out)]) == 0
        assert out.stat().st_size > 1_000_000
    capsys.readouterr()
    image = next((tiny_image_folder / "red").glob("*.png"))
    assert main(["predict", "--run", run_id, str(image), "--json"]) == 0
    (pred,) = json.loads(capsys.readouterr().out)["predictions"]
    assert len(pred["top"]) == 3 and abs(sum(t["probability"] for t in pred["top"]) - 1) < 1e-4
    assert main(["runs", "list", "--json"]) == 0
    assert [r["run_id"] for r in json.loads(capsys.readouterr().out)["runs"]] == [run_id]


@pytest.mark.slow
def test_compare_shares_one_split_per_seed(tmp_path, tiny_image_folder):
    proc = run_cli("compare", "--data", str(tiny_image_folder), "--model", "mobilenet_v2", "--strategies",
                   "scratch,linear_probe", "--seeds", "2", "--epochs", "2", "--image-size", "32", "--json",
                   data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    runs = out["runs"]
    assert len(runs) == 4 and all(r["status"] == "succeeded" for r in runs)
    splits = {seed: {r["split_id"] for r in runs if r["seed"] == seed} for seed in (0, 1)}
    assert all(len(ids) == 1 for ids in splits.values()) and splits[0] != splits[1]
    for strategy in ("scratch", "linear_probe"):
        acc = out["summary"][strategy]["test_accuracy"]
        assert acc["n"] == 2 and acc["low"] <= acc["mean"] <= acc["high"]


def test_compare_with_distillation_says_what_the_student_learned_from(tmp_path, tiny_image_folder):
    proc = run_cli("compare", "--data", str(tiny_image_folder), "--model", "mobilenet_v2", "--strategies",
                   "scratch,distill", "--seeds", "1", "--per-class", "2", "--epochs", "1", "--image-size", "32",
                   "--temperature", "2", "--json", data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    (taught,) = [r for r in out["runs"] if r["strategy"] == "distill"]
    assert taught["status"] == "succeeded" and taught["unlabelled_items"] > 0
    assert 0 <= taught["teacher_test_accuracy"] <= 1 and taught["n_train"] == 6
    assert "never saw" in out["distillation"] and "from scratch did not get" in out["distillation"]


@pytest.mark.slow
def test_train_without_a_strategy_fine_tunes_texts_with_enough_examples(tmp_path):
    rows = [f"{'good great fine' if i % 2 else 'bad awful poor'} review number {i}" for i in range(400)]
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "\n".join(f"{t},{'pos' if i % 2 else 'neg'}" for i, t in enumerate(rows)))
    proc = run_cli("train", "--data", str(data), "--model", "glove-50d-bag", "--epochs", "1", "--json",
                   data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["strategy"] == "finetune"  # 260 training texts in 2 classes: ≥ 100 per class


def test_the_same_config_trains_to_the_same_numbers_twice(tmp_path, tiny_image_folder):
    """Same code, same config, fresh data directories (no cache, no reuse): the same losses and accuracy, so
    a study's figures can be reproduced from its JSON."""
    def train(where: str) -> dict:
        proc = run_cli("train", "--data", str(tiny_image_folder), "--model", "mobilenet_v2", "--strategy", "scratch",
                       "--epochs", "2", "--image-size", "32", "--seed", "3", "--json", data_dir=tmp_path / where)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    first, second = train("a"), train("b")
    assert first["run_id"] != second["run_id"]
    for key in ("test_accuracy", "macro_f1", "n_train", "split_id", "epochs"):
        assert first[key] == second[key], key

    clock = ("elapsed", "second", "time", "wall", "per_s")

    def learned(history: list[dict]) -> list[dict]:  # every epoch's metrics but the clock's
        return [{k: v for k, v in row.items() if not any(t in k for t in clock)} for row in history]

    assert len(first["history"]) == 2 and learned(first["history"]) == learned(second["history"])
