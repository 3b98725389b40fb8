"""`python -m bench.bare_probe SPEC.json`: the least work a cold image linear probe can do, in one fresh process.

A lower bound under issue 14's 5 s cold command-line target for any design of the engine built on today's parts
(Pillow, this ONNX Runtime export, scikit-learn's solver; on this machine, on the day measured): one process (no
command and worker, no run store), no torch, and only the unavoidable work, done as the engine does it: decode each
image (transparency on white) and crop it to the model's size (Pillow, two threads), the frozen pass on ONNX Runtime
(the engine's own export of the body, its batch and thread count), standardise, fit the logistic regression on the
engine's training split, and the test accuracy. Left out, so that the bound stays under what the product must do:
listing and checking the data, the split (SPEC brings the engine's), the run's records, files and evaluation. SPEC
(see `bench.cli_wall.bare_probe_spec`) holds `onnx`, `files`, `labels`, `train`, `test`, `size`, `crop_pct`,
`batch`, `threads`, and `solver`: "scikit-learn" (what the engine fits) or "numpy" (plain gradient descent,
importing neither scikit-learn nor SciPy).

Prints one JSON line: when each step ended (seconds since this module started; the interpreter's own start and
exit, and the CPU time, are the caller's to measure), the test accuracy, and whether torch or scikit-learn was
imported.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()

import numpy as np  # noqa: E402  (after the clock: these imports are part of what is timed)
import onnxruntime as ort  # noqa: E402
from PIL import Image  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255  # ImageNet's, as the engine normalises uint8 pixels
STD = np.array([0.229, 0.224, 0.225], np.float32) * 255
WHITE = (255, 255, 255, 255)


def decode(path: str, size: int, crop_pct: float) -> np.ndarray:
    """timm's eval transform, as the engine caches it: shorter side to size / crop_pct, then the centred crop."""
    image = Image.open(path)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, WHITE), rgba)
    image = image.convert("RGB")
    short = int(size / crop_pct)
    w, h = image.size
    image = image.resize((max(short, round(w * short / min(w, h))), max(short, round(h * short / min(w, h)))),
                         Image.BILINEAR)
    w, h = image.size
    left, top = (w - size) // 2, (h - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)


def ort_session(onnx: str, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as the engine: no CPU spent spinning
    return ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])


def ort_features(session: ort.InferenceSession, images: np.ndarray, batch: int) -> np.ndarray:
    name = session.get_inputs()[0].name
    out = [session.run(None, {name: ((images[i:i + batch].astype(np.float32) - MEAN) / STD)
                              .transpose(0, 3, 1, 2).copy()})[0].reshape(len(images[i:i + batch]), -1)
           for i in range(0, len(images), batch)]
    return np.concatenate(out)


def features(onnx: str, images: np.ndarray, batch: int, threads: int) -> np.ndarray:
    return ort_features(ort_session(onnx, threads), images, batch)


def fit_predict(solver: str, x: np.ndarray, y: np.ndarray, x_test: np.ndarray, n_classes: int) -> np.ndarray:
    if solver == "scikit-learn":
        from sklearn.linear_model import LogisticRegression
        return LogisticRegression(max_iter=2000).fit(x, y).predict(x_test)
    w = np.zeros((x.shape[1], n_classes))  # softmax regression, full-batch gradient descent
    onehot = np.eye(w.shape[1])[y]
    for _ in range(300):
        logits = x @ w
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        w -= 0.1 * (x.T @ (p - onehot) / len(x) + 1e-3 * w)
    return (x_test @ w).argmax(1)


def main(spec_path: str) -> dict:
    spec = json.loads(Path(spec_path).read_text())
    marks = {"imports": time.perf_counter() - STARTED}
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(2) as pool:
        images = np.stack(list(pool.map(lambda p: decode(p, spec["size"], spec["crop_pct"]), spec["files"])))
    marks["decoded"] = time.perf_counter() - STARTED
    x = features(spec["onnx"], images, spec["batch"], spec["threads"])
    marks["features"] = time.perf_counter() - STARTED
    labels, train, test = (np.asarray(spec[k]) for k in ("labels", "train", "test"))
    mean, scale = x[train].mean(0), x[train].std(0) + 1e-6
    predicted = fit_predict(spec["solver"], (x[train] - mean) / scale, labels[train], (x[test] - mean) / scale,
                            int(labels.max()) + 1)
    marks["fitted"] = time.perf_counter() - STARTED
    return {"marks_s": marks, "n": len(labels), "feature_dim": int(x.shape[1]),
            "test_accuracy": float((predicted == labels[test]).mean()),
            "torch_imported": "torch" in sys.modules, "sklearn_imported": "sklearn" in sys.modules}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
