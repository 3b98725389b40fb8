"""On a CPU with bfloat16 instructions a run that trains layers trains under bfloat16 autocast (measured faster,
`tlcore.train.defaults`), learns, and still leaves a float32 model that others can load as before."""

from __future__ import annotations

import pytest
import torch

from tlcore.core.config import TrainConfig
from tlcore.train import prepare, train_run
from tlcore.train.device import cpu_bf16_native
from tlcore.train.loop import predict_probs
from tlcore.train.run_inputs import build_inputs, feature_cache_file

WORDS = {"pos": "good great lovely", "neg": "bad awful dull"}


CPU_ONLY = pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU's own precision")


def reviews(folder) -> str:
    rows = [f"{WORDS[label]} film number {i},{label}" for i in range(48) for label in ("pos", "neg")]
    data = folder / "reviews.csv"
    data.write_text("text,label\n" + "\n".join(rows))
    return str(data)


@CPU_ONLY
def test_minilm_fine_tunes_in_the_cpus_precision_and_keeps_float32_weights(tmp_path, monkeypatch):
    monkeypatch.delenv("TLAB_CPU_BF16", raising=False)
    prep = prepare(TrainConfig(data=reviews(tmp_path), model="minilm-l6", strategy="finetune", epochs=2, max_length=16,
                               seed=0))
    assert prep.resolved.amp_bf16 == cpu_bf16_native()
    out = train_run(prep, emit=lambda kind, payload: None, should_stop=lambda: False)
    assert out.summary["test_accuracy"] >= 0.9
    assert {p.dtype for p in out.model.parameters()} == {torch.float32}


@CPU_ONLY
def test_a_vit_fine_tunes_warm_start_reads_the_probes_float32_features(tiny_image_folder, monkeypatch):
    """Its frozen pass (LP-FT) stays float32 and reads the file the linear probe, k-NN and the ranking write."""
    monkeypatch.delenv("TLAB_CPU_BF16", raising=False)
    probe, tune = (prepare(TrainConfig(data=str(tiny_image_folder), model="vit_small", strategy=s))
                   for s in ("linear_probe", "finetune"))
    assert tune.resolved.amp_bf16 == cpu_bf16_native() and not probe.resolved.amp_bf16
    assert feature_cache_file(tune) == feature_cache_file(probe)


@CPU_ONLY
def test_a_cnn_fine_tunes_in_the_cpus_precision_and_saves_what_its_float32_model_predicts(tiny_image_folder,
                                                                                        monkeypatch):
    """MobileNetV2 (batch norm, channels_last) trains under the CPU's bf16 autocast; its weights and batch-norm
    statistics stay float32, and the test predictions it saves are its float32 model's own."""
    monkeypatch.delenv("TLAB_CPU_BF16", raising=False)
    prep = prepare(TrainConfig(data=str(tiny_image_folder), model="mobilenet_v2", strategy="finetune", epochs=2,
                               image_size=32, test_fraction=0.5, seed=0))
    assert prep.resolved.amp_bf16 == cpu_bf16_native()
    out = train_run(prep, emit=lambda kind, payload: None, should_stop=lambda: False)
    state = out.model.state_dict()
    assert {t.dtype for t in state.values() if t.is_floating_point()} == {torch.float32}
    assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())
    inputs = build_inputs(prep, torch.device("cpu"), lambda kind, payload: None)
    saved = sorted(out.predictions, key=lambda row: row["index"])
    probs, _, order = predict_probs(out.model.eval(), inputs, torch.as_tensor([r["index"] for r in saved]), 8, False)
    assert order.tolist() == [r["index"] for r in saved]
    assert [prep.dataset.classes[c] for c in probs.argmax(1).tolist()] == [r["pred"] for r in saved]
