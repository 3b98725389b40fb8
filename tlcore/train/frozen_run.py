"""A linear probe or nearest-neighbour run of a bundled image model on a CPU, without torch, once this machine
has exported that model's pretrained body (`tlcore.train.onnx_body`): decoding, ONNX Runtime's frozen pass, the
fit, the test and the weights to save need only numpy, ONNX Runtime and scikit-learn.

Why: importing torch and torchvision takes a fresh worker 3-5 s on two cores (`python -m bench.cli_wall`), longer
than such a run's work. The run is the same one `tlcore.train.run.train_run` makes: the same feature cache file,
fit (`logistic`, `knn`), evaluation and summary, and a weight file with the same names and pretrained body; only
the frozen pass and the head's predictions run on numpy arrays instead of a PyTorch model. `export_for` says
whether a prepared run can go this way; every other run, or this one if ONNX Runtime fails on it
(`ExportUnusable`), trains through `train_run`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from tlcore.core import strategies
from tlcore.data.decoded import decode_image_array
from tlcore.train.defaults import inference_bf16
from tlcore.train.device import thread_budget
from tlcore.train.feature_cache import cached_feature_array, feature_cache_file
from tlcore.train.knn import solve_neighbours
from tlcore.train.logistic import LinearHead, probe_fit
from tlcore.train.onnx_body import PretrainedExport, find_pretrained_export, session, torch_backend_forced
from tlcore.train.prepare import Prepared
from tlcore.train.results import (
    Cancelled,
    EventSink,
    RunOutput,
    Solution,
    WeightsWriter,
    evaluate_test,
    phase,
    summarize,
)


class ExportUnusable(Exception):
    """ONNX Runtime could not run the indexed export (a damaged file, a runtime limit): train through PyTorch."""


def export_for(prep: Prepared) -> PretrainedExport | None:
    """The indexed export a prepared run can use to train without torch, or None when it must build the model."""
    r = prep.resolved
    if (not strategies.get(prep.config.strategy).frozen_features or prep.dataset.modality != "image"
            or r.device != "cpu" or inference_bf16(r) or torch_backend_forced()):
        return None
    return find_pretrained_export(prep.spec, r.image_size)


def frozen_run(prep: Prepared, export: PretrainedExport, *, emit: EventSink,
               should_stop: Callable[[], bool]) -> RunOutput:
    ds, probe = prep.dataset, strategies.get(prep.config.strategy).solver == "probe"
    body = _pretrained_body(export.body) if probe else {}  # read first: a damaged file trains through PyTorch
    x = cached_feature_array(feature_cache_file(prep), len(ds), lambda: onnx_pass(prep, export, emit, should_stop))
    if should_stop():
        raise Cancelled()
    if probe:
        head, result = probe_fit(x, ds.labels, np.asarray(prep.train_idx), np.asarray(prep.val_idx), ds.num_classes,
                                 emit)
        solution = Solution(result, lambda idx: (head.probs(x[idx]), ds.labels[idx], idx))
        trainable, weights = head.weight.size + head.bias.size, _weights_writer(body, head)
    else:
        solution, trainable, weights = solve_neighbours(x, prep, emit), 0, None
    evaluation, predictions = evaluate_test(prep, solution.predict)
    summary = dict(summarize(prep, trainable, solution.result, evaluation), **(solution.extra or {}))
    emit("done", summary)
    return RunOutput(prep, summary, solution.result.history, evaluation, predictions, None, weights=weights)


def onnx_pass(prep: Prepared, export: PretrainedExport, emit: EventSink, should_stop: Callable[[], bool]
              ) -> np.ndarray:
    """Features [N, D] of every image, in dataset order: decoded and normalised as `ImageInputs` does, in batches
    of twice the run's batch size, as the PyTorch path's frozen pass."""
    ds, spec, r = prep.dataset, prep.spec, prep.resolved
    images = decode_image_array(ds, r.image_size, crop_pct=spec.crop_pct, interpolation=spec.interpolation,
                                progress=lambda done, total: emit("phase", phase("Preparing images", done, total)))
    try:
        runtime = session(export.onnx, thread_budget())
    except Exception as exc:
        raise ExportUnusable(f"{type(exc).__name__}: {str(exc)[:300]}") from exc
    shape = (1, 3, 1, 1)
    mean = np.asarray(spec.mean, dtype=np.float32).reshape(shape) * np.float32(255)
    std = np.asarray(spec.std, dtype=np.float32).reshape(shape) * np.float32(255)
    out: np.ndarray | None = None
    batch = r.batch_size * 2
    emit("phase", phase("Computing pretrained features", 0, len(ds)))
    for start in range(0, len(ds), batch):
        if should_stop():
            raise Cancelled()
        x = images[start:start + batch].astype(np.float32)
        x -= mean  # in place: the same arithmetic as `ImageInputs`, without two temporary copies of the batch
        x /= std
        try:
            features = runtime.run(None, {"x": x})[0]
        except Exception as exc:
            raise ExportUnusable(f"{type(exc).__name__}: {str(exc)[:300]}") from exc
        if out is None:
            out = np.empty((len(ds), features.shape[1]), dtype=np.float32)
        out[start:start + len(x)] = features
        emit("phase", phase("Computing pretrained features", min(start + batch, len(ds)), len(ds)))
    return out if out is not None else np.empty((0, 0), dtype=np.float32)


def _pretrained_body(path: Path) -> dict[str, np.ndarray]:
    """The indexed pretrained body's tensors ("body.…"); ExportUnusable (the file deleted) if it cannot be read as
    such."""
    from safetensors.numpy import load_file

    try:
        state = load_file(str(path))
        if not state or not all(name.startswith("body.") for name in state):
            raise ValueError("not a model body's tensors")
    except Exception as exc:  # a damaged cache file: gone, so the PyTorch run this falls back to indexes it anew
        path.unlink(missing_ok=True)
        raise ExportUnusable(f"the pretrained body's weights: {type(exc).__name__}: {str(exc)[:300]}") from exc
    return state


def _weights_writer(body: dict[str, np.ndarray], head: LinearHead) -> WeightsWriter:
    """The run's weight file: the pretrained body's tensors as the index saved them and the fitted head, under
    the names a `TransferModel`'s state dict gives them (what `safetensors.torch.save_model` writes for it)."""
    def write(path: Path) -> None:
        from safetensors.numpy import save_file

        save_file({**body, "head.weight": head.weight, "head.bias": head.bias}, str(path))
    return write
