"""Exports that load outside Transfer Lab: a Hugging Face folder for text runs, a timm checkpoint for image
runs, and ONNX files that carry their labels and preprocessing.

- `huggingface`: `save_pretrained` of the model and its tokenizer; `config.json` has `id2label`, and a model
  card README gives the dataset hash, strategy, seeds and test accuracy with its interval. Loads with
  `AutoModelForSequenceClassification.from_pretrained(folder)`. Only runs of `hf:` models qualify: the
  curated text models average token states (sentence-transformers pooling), which no built-in transformers
  classifier computes, so their export would not give the same predictions.
- `timm`: `timm.models.save_for_hf` of the full classifier, with the run's preprocessing as its pretrained cfg
  and the class names as `label_names`. Loads with `timm.create_model(arch, pretrained=True, num_classes=n,
  pretrained_cfg_overlay=dict(cfg["pretrained_cfg"], file=folder/"model.safetensors"))`, `cfg` being its
  config.json; `timm.data.resolve_model_data_config(model)` then gives the run's preprocessing.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Protocol

from scipy.stats import binomtest
from torch import nn

from tlcore.core.errors import UserError
from tlcore.models import ModelSpec, TextEncoder, TransferModel
from tlcore.runs.paths import read_json


class Predictor(Protocol):
    """What an export reads from a loaded run (`tlcore.experiments.predict.Predictor`)."""

    run_id: str
    model: TransferModel
    meta: dict[str, Any]
    classes: list[str]
    spec: ModelSpec
    modality: str

    def text_encoder(self) -> TextEncoder: ...


def export_huggingface(predictor: Predictor, out: Path) -> Path:
    """The run as a transformers folder (weights, config with id2label, tokenizer, model card)."""
    from tlcore.models.text import ClassifierFeatures

    body = predictor.model.body
    if not isinstance(body, ClassifierFeatures):
        raise UserError(f"{predictor.spec.id} averages token states, which transformers' classifiers cannot "
                        "reproduce; export it as ONNX or safetensors, or train with an hf:<id> model to get a "
                        "Hugging Face folder.")
    model = copy.deepcopy(body.model)
    model.set_submodule(body.classifier_path, copy.deepcopy(predictor.model.head))
    model.config.id2label = dict(enumerate(predictor.classes))
    model.config.label2id = {name: i for i, name in enumerate(predictor.classes)}
    model.num_labels = len(predictor.classes)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer = copy.copy(predictor.text_encoder().tokenizer)
    tokenizer.model_max_length = predictor.meta["model"]["max_length"]  # truncation as in training
    tokenizer.save_pretrained(out)
    (out / "README.md").write_text(model_card(predictor, "transformers"))
    return out


def export_timm(predictor: Predictor, out: Path) -> Path:
    """The run as a timm checkpoint folder (model.safetensors + config.json with its pretrained cfg)."""
    from timm.models import save_for_hf

    if predictor.spec.family != "timm":
        raise UserError(f"{predictor.spec.id} is a torchvision model, not a timm one; export it as ONNX or "
                        "safetensors, or train a timm model (e.g. efficientnet_lite0 or timm:<name>).")
    model = copy.deepcopy(predictor.model.body)
    model.reset_classifier(len(predictor.classes))
    classifier = model.get_classifier()
    if not isinstance(classifier, nn.Linear):
        raise UserError(f"{predictor.spec.id} has no plain linear classifier to put the trained head into.")
    classifier.load_state_dict(predictor.model.head.state_dict())
    m = predictor.meta["model"]
    data_config = {"input_size": (3, m["input_size"], m["input_size"]), "mean": tuple(m["mean"]),
                   "std": tuple(m["std"]), "interpolation": m["interpolation"], "crop_pct": m["crop_pct"],
                   "crop_mode": "center"}
    out.mkdir(parents=True, exist_ok=True)
    save_for_hf(model.eval(), str(out), model_config={"label_names": list(predictor.classes)},
                safe_serialization=True, data_config=data_config)
    (out / "README.md").write_text(model_card(predictor, "timm"))
    return out


def accuracy_interval(accuracy: float, n_test: int) -> tuple[float, float]:
    """95% Wilson interval of a test accuracy measured on `n_test` items."""
    hits = round(accuracy * n_test)
    ci = binomtest(hits, n_test).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def model_card(predictor: Predictor, library: str) -> str:
    """A Hugging Face model card: what was trained on what, and how well it did (with its uncertainty)."""
    meta: dict[str, Any] = predictor.meta
    config, summary = meta["config"], meta.get("summary", {})
    acc, n_test = summary.get("test_accuracy"), int(summary.get("n_test") or 0)
    low, high = accuracy_interval(acc, n_test) if acc is not None and n_test else (None, None)
    accuracy = (f"{acc:.3f} (95% interval {low:.3f}–{high:.3f}, {n_test} test items)" if low is not None
                else "not measured")
    front = {"library_name": library, "tags": ["transfer-lab", config["strategy"]],
             "base_model": _hub_id(predictor.spec)}
    lines = ["---", *(f"{k}: {json.dumps(v)}" for k, v in front.items() if v), "---", "",
             f"# {predictor.spec.title}, fine-tuned with Transfer Lab", "",
             f"- base model: `{predictor.spec.id}`", f"- strategy: `{config['strategy']}`",
             f"- seed: {config['seed']} (split seed {_split_seed(config)})",
             f"- dataset: {meta['data']['name']} ({meta['data']['size']} items, sha256 "
             f"`{meta['data']['fingerprint']}`)",
             f"- classes: {', '.join(read_json(predictor.run_id, 'labels.json'))}",
             f"- test accuracy: {accuracy}", f"- Transfer Lab run: `{predictor.run_id}`", ""]
    return "\n".join(lines)


def _split_seed(config: dict[str, Any]) -> int:
    return config["seed"] if config.get("split_seed") is None else config["split_seed"]


def _hub_id(spec: ModelSpec) -> str | None:
    """The Hugging Face hub repo the base weights come from, for the card's `base_model`, when there is one."""
    if spec.family == "timm":
        return spec.extra.get("hf_hub_id")
    return spec.arch if spec.family == "hf" else None
