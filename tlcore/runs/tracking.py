"""Optional experiment tracking in MLflow (`TLAB_MLFLOW_URI`): every run's parameters, per-epoch metrics, final
metrics and trained model, and a parent run for each comparison and study whose runs are nested under it.

MLflow is a second audience for the run store, never a dependency of training: when the setting is absent
nothing here is imported, and any tracking failure (server down, disk full) is logged and dropped rather than
failing the run.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from tlcore.core.settings import mlflow_uri

EXPERIMENT = "Transfer Lab"
GROUP_TAG, RUN_TAG = "tlab.group_id", "tlab.run_id"
STATUS = {"succeeded": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}
log = logging.getLogger("tlcore.runs")


def _client():
    """An MlflowClient for the configured URI and the id of the Transfer Lab experiment in it."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    uri = mlflow_uri()
    if uri.startswith("file:"):  # MLflow 3 keeps file stores only on request (they are in maintenance mode)
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return client, found.experiment_id
    try:
        return client, client.create_experiment(EXPERIMENT, artifact_location=_artifact_location(uri))
    except MlflowException:  # another worker created it meanwhile
        return client, client.get_experiment_by_name(EXPERIMENT).experiment_id


def _artifact_location(uri: str) -> str | None:
    """Artifacts of a SQLite store go beside its database file (MLflow's default is relative to the current
    folder, which differs between the app, the CLI and the workers)."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).absolute().parent / "mlartifacts").as_uri()
    return None


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def open_group(group_id: str, name: str, kind: str, runs: int) -> str | None:
    """A parent run for a comparison of `runs` runs (created before they are queued); they nest under it as
    they start, finding it by its group tag."""
    if not mlflow_uri():
        return None
    try:
        client, experiment = _client()
        parent = client.create_run(experiment, run_name=name, tags={GROUP_TAG: group_id, "tlab.kind": kind,
                                                                    "tlab.runs": str(runs)})
        return parent.info.run_id
    except Exception as exc:  # tracking is optional: say so in the log, never fail the submission
        log.warning("MLflow: could not create the parent run of %s: %s", group_id, exc)
        return None


def open_study(study_id: str, name: str, run_ids: list[str]) -> str | None:
    """A parent run for a study, made once its runs are known: runs that started (or finished, when reused)
    before it exists are adopted; later ones find it by its member list. A reused run that already belongs
    to another comparison keeps that parent (MLflow has one parent per run) and is not waited for."""
    if not mlflow_uri():
        return None
    try:
        client, experiment = _client()
        parent = client.create_run(experiment, run_name=name, tags={
            GROUP_TAG: study_id, "tlab.kind": "study", "tlab.members": ",".join(run_ids)[:8000],
            "tlab.runs": str(len(run_ids))}).info.run_id
        expected = len(run_ids)
        for run_id in run_ids:
            found = client.search_runs([experiment], filter_string=f"tags.`{RUN_TAG}` = '{run_id}'", max_results=1)
            if not found:  # not started yet: it finds this parent itself
                continue
            current = found[0].data.tags.get("mlflow.parentRunId")
            if current is None:
                client.set_tag(found[0].info.run_id, "mlflow.parentRunId", parent)
            elif current != parent:  # a reused run of another comparison
                expected -= 1
        client.set_tag(parent, "tlab.runs", str(expected))
        _close_parent_when_complete(client, parent)
        return parent
    except Exception as exc:
        log.warning("MLflow: could not create the parent run of study %s: %s", study_id, exc)
        return None


class MlflowSink:
    """One run in MLflow, fed by the training loop's events like `StoreSink`; `finish` closes it."""

    def __init__(self, client: Any, run_id: str, parent_id: str | None) -> None:
        self.client, self.run_id, self.parent_id = client, run_id, parent_id

    @classmethod
    def start(cls, run_id: str, name: str, config: dict[str, Any], group_id: str | None) -> MlflowSink | None:
        """A new MLflow run for Transfer Lab run `run_id` (None when tracking is off or unavailable)."""
        if not mlflow_uri():
            return None
        try:
            from mlflow.entities import Param

            client, experiment = _client()
            parent = _parent(client, experiment, group_id, run_id)
            tags = {RUN_TAG: run_id, "tlab.model": str(config.get("model")), **(
                {"mlflow.parentRunId": parent, "tlab.group": group_id} if parent else {})}
            created = client.create_run(experiment, run_name=name or run_id, tags=tags)
            params = [Param(k, str(v)[:6000]) for k, v in sorted(config.items()) if v is not None]
            client.log_batch(created.info.run_id, params=params)
            return cls(client, created.info.run_id, parent)
        except Exception as exc:
            log.warning("MLflow: not tracking run %s: %s", run_id, exc)
            return None

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "epoch":
            skip = ("step", "total_steps", "eta_s", "epoch")
            self._metrics({k: v for k, v in data.items() if k not in skip}, step=int(data["epoch"]))

    def finish(self, status: str, result: dict[str, Any] | None, folder: Path | None) -> None:
        """Final metrics, the trained model's files, and the run's end state (then the parent's, if last)."""
        try:
            self._metrics(result or {}, step=0)
            if folder is not None and folder.is_dir():
                self.client.log_artifacts(self.run_id, str(folder), artifact_path="model")
            self.client.set_terminated(self.run_id, STATUS.get(status, "FAILED"))
            if self.parent_id:
                _close_parent_when_complete(self.client, self.parent_id)
        except Exception as exc:
            log.warning("MLflow: could not finish run %s: %s", self.run_id, exc)

    def _metrics(self, values: dict[str, Any], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, step) for k, v in _numbers(values).items()]
        try:
            if metrics:
                self.client.log_batch(self.run_id, metrics=metrics)
        except Exception as exc:
            log.warning("MLflow: could not log metrics of %s: %s", self.run_id, exc)


def _parent(client: Any, experiment: str, group_id: str | None, run_id: str) -> str | None:
    """The comparison's parent run (by its group tag), else a study's whose members include `run_id`."""
    query = (f"tags.`{GROUP_TAG}` = '{group_id}'" if group_id
             else f"tags.`tlab.kind` = 'study' and tags.`tlab.members` LIKE '%{run_id}%'")
    found = client.search_runs([experiment], filter_string=query, max_results=1)
    return found[0].info.run_id if found else None


def _close_parent_when_complete(client: Any, parent_id: str) -> None:
    """End the parent once all its runs have ended; it gets the mean test accuracy of those that succeeded."""
    parent = client.get_run(parent_id)
    expected = int(parent.data.tags.get("tlab.runs", "0"))
    children = client.search_runs([parent.info.experiment_id],
                                  filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'")
    ended = [c for c in children if c.info.status != "RUNNING"]
    if len(ended) < expected:
        return
    accuracies = [c.data.metrics["test_accuracy"] for c in ended if "test_accuracy" in c.data.metrics]
    if accuracies:
        from mlflow.entities import Metric

        mean = sum(accuracies) / len(accuracies)
        client.log_batch(parent_id, metrics=[Metric("mean_test_accuracy", mean, int(time.time() * 1000), 0)])
    client.set_terminated(parent_id, "FINISHED")
