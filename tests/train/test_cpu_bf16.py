"""A transformer's fine-tune on a CPU with bfloat16 instructions trains under bfloat16 autocast (measured faster,
`tlcore.train.defaults`), learns, and still leaves a float32 model that others can load as before."""

from __future__ import annotations

import pytest
import torch

from tlcore.core.config import TrainConfig
from tlcore.train import prepare, train_run
from tlcore.train.device import cpu_bf16_native

WORDS = {"pos": "good great lovely", "neg": "bad awful dull"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU's own precision")
def test_minilm_fine_tunes_in_the_cpus_precision_and_keeps_float32_weights(tmp_path):
    rows = [f"{WORDS[label]} film number {i},{label}" for i in range(48) for label in ("pos", "neg")]
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "\n".join(rows))
    prep = prepare(TrainConfig(data=str(data), model="minilm-l6", strategy="finetune", epochs=2, max_length=16,
                               seed=0))
    assert prep.resolved.amp_bf16 == cpu_bf16_native()
    out = train_run(prep, emit=lambda kind, payload: None, should_stop=lambda: False)
    assert out.summary["test_accuracy"] >= 0.9
    assert {p.dtype for p in out.model.parameters()} == {torch.float32}
