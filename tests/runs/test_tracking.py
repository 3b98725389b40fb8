"""MLflow tracking against a real local MLflow store (SQLite): a 3-seed comparison run by real workers shows up
in `mlflow.search_runs` as one parent run with its runs nested under it, each with its parameters, per-epoch
and final metrics and the trained model's files."""

from __future__ import annotations

import pytest

from tests.support.worker import tiny_config
from tlcore.experiments import submit
from tlcore.runs import Dispatcher, RunStore

pytestmark = pytest.mark.slow


def test_a_three_seed_comparison_is_a_parent_run_with_its_runs_in_mlflow(tmp_path, monkeypatch, tiny_image_folder):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TLAB_MLFLOW_URI", uri)
    store = RunStore()
    group, run_ids, _ = submit.submit_comparison(store, tiny_config(tiny_image_folder, epochs=2), ["linear_probe"],
                                                 seeds=3)
    records = Dispatcher(store, max_workers=1).wait(run_ids, poll_s=0.2, timeout_s=300)
    assert [r.status for r in records] == ["succeeded"] * 3, [r.error for r in records]

    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["Transfer Lab"])
    parent = runs[runs["tags.tlab.group_id"] == group]
    assert len(parent) == 1 and parent.iloc[0]["status"] == "FINISHED"
    children = runs[runs["tags.mlflow.parentRunId"] == parent.iloc[0]["run_id"]]
    assert sorted(children["tags.tlab.run_id"]) == sorted(run_ids)
    assert sorted(children["params.seed"]) == ["0", "1", "2"] and set(children["params.strategy"]) == {"linear_probe"}
    assert set(children["status"]) == {"FINISHED"}
    accuracies = {r.id: r.result["test_accuracy"] for r in records}
    assert {row["tags.tlab.run_id"]: row["metrics.test_accuracy"] for _, row in children.iterrows()} == accuracies
    assert parent.iloc[0]["metrics.mean_test_accuracy"] == pytest.approx(sum(accuracies.values()) / 3)

    client = mlflow.MlflowClient(uri)
    child = children.iloc[0]["run_id"]
    history = client.get_metric_history(child, "val_acc")
    assert [m.step for m in history] == list(range(1, len(history) + 1)) and history
    files = {f.path for f in client.list_artifacts(child, "model")}
    assert {"model/model.safetensors", "model/labels.json", "model/config.json"} <= files


def test_a_study_is_a_parent_run_of_its_cells(tmp_path, monkeypatch, tiny_image_folder):
    import mlflow

    from tlcore.experiments.study import StudySpec, submit_study

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TLAB_MLFLOW_URI", uri)
    store = RunStore()
    spec = StudySpec(tiny_config(tiny_image_folder), ("linear_probe",), (2, None), 1)
    submitted = submit_study(store, spec)
    run_ids = [c.run_id for c in submitted.cells]
    records = Dispatcher(store, max_workers=1).wait(run_ids, poll_s=0.2, timeout_s=300)
    assert [r.status for r in records] == ["succeeded"] * 2, [r.error for r in records]

    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["Transfer Lab"])
    parent = runs[runs["tags.tlab.group_id"] == submitted.study_id]
    assert len(parent) == 1 and parent.iloc[0]["tags.tlab.kind"] == "study"
    children = runs[runs["tags.mlflow.parentRunId"] == parent.iloc[0]["run_id"]]
    assert sorted(children["tags.tlab.run_id"]) == sorted(run_ids)
    assert parent.iloc[0]["status"] == "FINISHED" and set(children["status"]) == {"FINISHED"}
