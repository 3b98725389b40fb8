"""Which words a trained text model used: integrated-gradients attributions (captum) of each token to the class
margin z_c − logsumexp_{j≠c} z_j, summed into the words of the text as it was written.

Integrated gradients run along the word-embedding layer of each run's own body (the transformer's input
embeddings, or the GloVe bag's word vectors), from a baseline where every word is [PAD] and special tokens
([CLS], [SEP]) stay, in 16 steps. A cheaper gradient × input map was tried and fails the deletion test (removing
its top words hurts the prediction no more than removing random ones); 16 steps rank the tokens as 50 do. One
short text takes about half a second on one core; the pass runs on one thread, which on a busy machine is
several times faster in wall time than a pass whose threads wait on each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from tlcore.core.errors import UserError
from tlcore.data import Dataset
from tlcore.experiments.attention_maps import class_margin, run_to_explain
from tlcore.models.text import GloveTextEncoder, HFTextEncoder, TextEncoder, glove_word_spans

STEPS = 16
INTERNAL_BATCH = 16
Segment = tuple[str, float | None]  # a piece of the text and its word's score (None: between words)


@dataclass(frozen=True)
class Tokens:
    """One text as a model reads it: its token ids, which of them the baseline keeps, and the words."""

    ids: torch.Tensor          # [1, L]
    keep: torch.Tensor         # [1, L] bool: special tokens, the same in the baseline
    word_of: list[int | None]  # the word index of each token (None: a special token)
    spans: list[tuple[int, int]]  # each word's (start, end) in `shown`
    shown: str                 # the text the spans point into
    truncated: bool            # the model read only the start of the text


@dataclass(frozen=True)
class ExplainedText:
    segments: list[Segment]  # the text in order; each word's share of the evidence in [-1, 1] (+: for the class)
    target: str              # the class whose margin is explained
    truncated: bool


def embedding_layer(body: nn.Module) -> nn.Embedding:
    """The layer that turns token ids into vectors: a transformers model's input embeddings, else the body's
    largest embedding table (the GloVe bag's word vectors)."""
    for module in body.modules():
        get = getattr(module, "get_input_embeddings", None)
        if callable(get) and isinstance(get(), nn.Embedding):
            return get()
    tables = [m for m in body.modules() if isinstance(m, nn.Embedding)]
    if not tables:
        raise UserError(f"Word attributions need a model that embeds words; {type(body).__name__} does not.")
    return max(tables, key=lambda m: m.num_embeddings)


def tokens_of(encoder: TextEncoder, text: str) -> Tokens:
    """`text` tokenised exactly as the run's encoder does it, with the words each token belongs to."""
    if isinstance(encoder, GloveTextEncoder):
        return _glove_tokens(encoder, text)
    if isinstance(encoder, HFTextEncoder) and encoder.tokenizer.is_fast:
        return _transformer_tokens(encoder, text)
    raise UserError("Word attributions need a GloVe model or a transformers model with a fast tokenizer.")


def _glove_tokens(encoder: GloveTextEncoder, text: str) -> Tokens:
    spans = glove_word_spans(text)
    kept = spans[: encoder.max_length]
    ids = encoder.ids(text) or [encoder.unk_id]  # an empty text is one unknown token, as in training
    shown = text if len(text.lower()) == len(text) else text.lower()  # spans point into the lower-cased text
    return Tokens(torch.tensor([ids]), torch.zeros(1, len(ids), dtype=torch.bool), list(range(len(kept))) or [None],
                  kept, shown, len(spans) > encoder.max_length)


def _transformer_tokens(encoder: HFTextEncoder, text: str) -> Tokens:
    """Word pieces ("un", "##bel", …) belong to the word the fast tokenizer says they come from."""
    tokenizer = encoder.tokenizer
    enc = tokenizer(text, truncation=True, max_length=encoder.max_length, return_offsets_mapping=True)
    special = set(tokenizer.all_special_ids) - {tokenizer.pad_token_id, tokenizer.unk_token_id}
    spans: dict[int, tuple[int, int]] = {}  # the tokenizer's word number → (start, end) in the text
    for word, (start, end) in zip(enc.word_ids(), enc["offset_mapping"]):
        if word is not None:
            spans[word] = (spans.get(word, (start, end))[0], end)
    number = {word: k for k, word in enumerate(spans)}
    return Tokens(torch.tensor([enc["input_ids"]]), torch.tensor([[i in special for i in enc["input_ids"]]]),
                  [None if w is None else number[w] for w in enc.word_ids()], list(spans.values()), text,
                  len(tokenizer(text)["input_ids"]) > encoder.max_length)


def token_attributions(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, keep: torch.Tensor,
                       targets: list[int], pad_id: int) -> torch.Tensor:
    """[B, L] attribution of every token to the margin of `targets` (integrated gradients over the word
    embeddings, from a baseline of [PAD] everywhere except the kept special tokens)."""
    from captum.attr import LayerIntegratedGradients

    model.eval()
    baseline = torch.where(keep, ids, torch.full_like(ids, pad_id))
    explainer = LayerIntegratedGradients(lambda i, m: class_margin(model(i, m)), embedding_layer(model.body))
    scores = explainer.attribute(ids, baselines=baseline, target=list(targets), additional_forward_args=(mask,),
                                 n_steps=STEPS, internal_batch_size=INTERNAL_BATCH)
    return scores.sum(-1).detach()


def word_segments(tokens: Tokens, token_scores: torch.Tensor) -> list[Segment]:
    """The text cut into its words (each with the sum of its tokens' scores, divided by the largest in size)
    and what lies between them; a text the model read only the start of ends in '…'."""
    words = [0.0] * len(tokens.spans)
    for word, score in zip(tokens.word_of, token_scores.tolist()):
        if word is not None:
            words[word] += score
    largest = max((abs(w) for w in words), default=0.0) or 1.0
    segments: list[Segment] = []
    at = 0
    for (start, end), score in zip(tokens.spans, words):
        if start > at:
            segments.append((tokens.shown[at:start], None))
        segments.append((tokens.shown[start:end], score / largest))
        at = end
    tail = tokens.shown[at:]
    if tail:
        segments.append((" …" if tokens.truncated else tail, None))
    return segments


@contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one thread for a small interactive pass (see the module's docstring), then as before."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def words_used(run_id: str, ds: Dataset, indices: list[int], classes: list[str]) -> list[ExplainedText]:
    """For the dataset texts `indices`: each word's evidence for the class named in `classes` (one per text,
    e.g. the run's own answer), from the run's trained model."""
    if not indices:
        return []
    predictor = run_to_explain(run_id, "text", classes, "Word attributions")
    encoder = predictor.text_encoder()
    explained = []
    with one_thread():
        for index, target in zip(indices, classes):
            tokens = tokens_of(encoder, str(ds.items[index]))
            scores = token_attributions(predictor.model, tokens.ids, torch.ones_like(tokens.ids), tokens.keep,
                                        [predictor.classes.index(target)], encoder.pad_id)
            explained.append(ExplainedText(word_segments(tokens, scores[0]), target, tokens.truncated))
    return explained
