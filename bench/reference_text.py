"""Reference text loop: Hugging Face `Trainer` fine-tuning the same MiniLM with its defaults.

As in the text-classification guide (https://huggingface.co/docs/transformers/tasks/sequence_classification):
`AutoTokenizer`, `tokenizer(text, truncation=True)`, `DataCollatorWithPadding` (dynamic padding),
`AutoModelForSequenceClassification.from_pretrained(..., num_labels=...)`, `Trainer(...).train()`; and with
`TrainingArguments`' defaults (https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments):
AdamW lr 5e-5, batch 8, 3 epochs, linear decay without warm-up, fp32, no gradient accumulation.

What we set: `save_strategy="no"` (the default writes a 90 MB checkpoint every 500 steps, which our runs do
not do either), `report_to="none"` (no experiment trackers), the seed, and the epoch budget of the case.
The model is moved to the GPU by Trainer itself when there is one.
"""

from __future__ import annotations

import tempfile

import numpy as np
import torch
from torch.utils.data import DataLoader

from bench.measure import Side, Stopwatch
from tlcore.data import Dataset
from tlcore.models import get_spec
from tlcore.models.text import hf_source

TRAINER_EPOCHS = 3  # TrainingArguments.num_train_epochs default


def run_trainer(ds: Dataset, train_idx: np.ndarray, test_idx: np.ndarray, *, model_id: str, epochs: int,
                seed: int) -> Side:
    """Fine-tune with Trainer; after each epoch the bench measures test accuracy (stopwatch paused)."""
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
        TrainingArguments,
        set_seed,
    )

    watch = Stopwatch()
    source = hf_source(get_spec(model_id))
    tokenizer = AutoTokenizer.from_pretrained(source)
    train, test = _tokenized(tokenizer, ds, train_idx), _tokenized(tokenizer, ds, test_idx)
    set_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=ds.num_classes)
    collator = DataCollatorWithPadding(tokenizer)
    side = Side("transformers Trainer (defaults)")
    callback = _test_each_epoch(TrainerCallback, side, watch, lambda m: _accuracy(m, test, collator), len(train_idx))
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as out:
        args = TrainingArguments(output_dir=out, num_train_epochs=epochs, seed=seed, save_strategy="no",
                                 report_to="none", disable_tqdm=True)
        trainer = Trainer(model=model, args=args, train_dataset=train, processing_class=tokenizer,
                          data_collator=collator, callbacks=[callback])
        trainer.train()
    side.wall_s = watch.now()
    side.final_accuracy = side.epochs[-1][2] if side.epochs else float("nan")
    side.extra = {"batch_size": args.per_device_train_batch_size, "lr": args.learning_rate,
                  "device": str(args.device)}
    return side


def _test_each_epoch(base: type, side: Side, watch: Stopwatch, accuracy, n_train: int):
    """A Trainer callback that records the start of training and, with the stopwatch paused, the test
    accuracy after each epoch."""
    class TestEachEpoch(base):
        def on_train_begin(self, args, state, control, **kwargs):
            side.train_start_s = watch.now()

        def on_epoch_end(self, args, state, control, model=None, **kwargs):
            with watch.pause():
                acc = accuracy(model)
            side.epochs.append((watch.now(), n_train, acc))
    return TestEachEpoch()


def _tokenized(tokenizer, ds: Dataset, indices: np.ndarray) -> list[dict]:
    enc = tokenizer([ds.items[i] for i in indices], truncation=True)
    return [{**{k: enc[k][row] for k in enc}, "labels": int(ds.labels[i])} for row, i in enumerate(indices)]


@torch.inference_mode()
def _accuracy(model: torch.nn.Module, rows: list[dict], collator) -> float:
    was_training = model.training
    model.eval()
    correct = 0
    device = next(model.parameters()).device
    for batch in DataLoader(rows, batch_size=64, collate_fn=collator):
        batch = {k: v.to(device) for k, v in batch.items()}
        labels = batch.pop("labels")
        correct += int((model(**batch).logits.argmax(-1) == labels).sum())
    model.train(was_training)
    return correct / max(len(rows), 1)
