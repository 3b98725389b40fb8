"""Word attributions of a real trained text run pass the deletion test: removing the 3 tokens it scores highest
lowers the probability of the model's answer far more than removing 3 random ones. Word pieces come back as the
words of the text as written, and both kinds of text model are explained through their own embedding layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.support.data import sentiment_table
from tests.support.worker import tiny_config
from tlcore.core.errors import UserError
from tlcore.data import load_source
from tlcore.experiments.predict import Predictor
from tlcore.experiments.token_attributions import (
    embedding_layer,
    one_thread,
    token_attributions,
    tokens_of,
    word_segments,
    words_used,
)
from tlcore.models import create, get_spec, text_encoder_for
from tlcore.runs import RunStore
from tlcore.runs.execute import execute
from tlcore.runs.paths import read_artifact

REMOVED = 3


@pytest.fixture(scope="module")
def minilm_probe(tmp_path_factory):
    """A linear probe (real run) on MiniLM features of short reviews whose class is their one sentiment word."""
    table = sentiment_table(tmp_path_factory.mktemp("reviews") / "reviews.csv", 16, seed=1)
    store = RunStore()
    config = tiny_config(table, model="minilm-l6", strategy="linear_probe", test_fraction=0.375, val_fraction=0.2)
    run_id = store.create_run(config.to_dict())
    assert store.claim(run_id) and execute(store, run_id) == "succeeded"
    return run_id, load_source(str(table))


def _answer_probability(predictor: Predictor, ids: torch.Tensor, target: int) -> float:
    with torch.inference_mode():
        return float(predictor.model(ids, torch.ones_like(ids)).softmax(1)[0, target])


def _without(ids: torch.Tensor, positions: np.ndarray) -> torch.Tensor:
    keep = np.setdiff1d(np.arange(ids.shape[1]), positions)
    return ids[:, keep]


def _deletion_drops(predictor: Predictor, encoder, text: str, target: int, rng) -> tuple[float, float]:
    """How much the answer's probability falls when the top-3 attributed tokens are removed, and on average
    over 5 draws when 3 random tokens are."""
    tokens = tokens_of(encoder, text)
    scores = token_attributions(predictor.model, tokens.ids, torch.ones_like(tokens.ids), tokens.keep, [target],
                                encoder.pad_id)[0].numpy()
    words = np.flatnonzero(~tokens.keep[0].numpy())  # [CLS] and [SEP] stay
    full = _answer_probability(predictor, tokens.ids, target)
    top = words[np.argsort(-scores[words])[:REMOVED]]
    random = [_without(tokens.ids, rng.choice(words, REMOVED, replace=False)) for _ in range(5)]
    return (full - _answer_probability(predictor, _without(tokens.ids, top), target),
            float(np.mean([full - _answer_probability(predictor, ids, target) for ids in random])))


def test_removing_the_top_words_hurts_the_answer_more_than_removing_random_ones(minilm_probe):
    run_id, ds = minilm_probe
    predictor, rng = Predictor(run_id), np.random.default_rng(0)
    encoder = predictor.text_encoder()
    top_drops, random_drops = [], []
    with one_thread():
        for p in read_artifact(run_id, "predictions.json"):
            drops = _deletion_drops(predictor, encoder, ds.items[p["index"]], predictor.classes.index(p["pred"]), rng)
            top_drops.append(drops[0])
            random_drops.append(drops[1])
    print(f"p(answer) drop over {len(top_drops)} texts: top-{REMOVED} tokens removed {np.mean(top_drops):.3f}, "
          f"random {REMOVED} removed {np.mean(random_drops):.3f}")
    assert len(top_drops) >= 10
    assert np.mean(top_drops) > 2 * np.mean(random_drops) and np.mean(top_drops) > 0.1


def test_the_deciding_word_is_the_one_the_probe_used(minilm_probe):
    run_id, ds = minilm_probe
    saved = {p["index"]: p for p in read_artifact(run_id, "predictions.json")}
    indices = [i for i, p in saved.items() if p["correct"]][:4]
    explained = words_used(run_id, ds, indices, [saved[i]["pred"] for i in indices])
    for index, text in zip(indices, explained):
        assert "".join(piece for piece, _ in text.segments) == ds.items[index]  # the text as written, in order
        strongest = max((s, piece) for piece, s in text.segments if s is not None)
        assert strongest == (1.0, strongest[1]) and strongest[1] in ds.items[index]
    with pytest.raises(UserError, match="no class 'maybe'"):
        words_used(run_id, ds, [indices[0]], ["maybe"])


def test_word_pieces_are_shown_as_the_words_they_come_from():
    encoder = text_encoder_for(get_spec("minilm-l6"))
    tokens = tokens_of(encoder, "Unbelievably good")
    assert encoder.tokenizer.convert_ids_to_tokens(tokens.ids[0])[:3] == ["[CLS]", "un", "##bel"]
    scores = torch.zeros(tokens.ids.shape[1])
    scores[1:3] = torch.tensor([1.0, 2.0])  # two pieces of one word add up
    scores[-2] = -1.5  # "good"
    assert word_segments(tokens, scores) == [("Unbelievably", 1.0), (" ", None), ("good", -0.5)]
    assert tokens.keep[0].tolist() == [True] + [False] * (tokens.ids.shape[1] - 2) + [True]


def test_a_long_text_is_explained_as_far_as_the_model_read_it():
    encoder = text_encoder_for(get_spec("glove-50d-bag"))
    tokens = tokens_of(encoder, "good " * (encoder.max_length + 5))
    assert tokens.truncated and tokens.ids.shape[1] == encoder.max_length
    assert word_segments(tokens, torch.ones(encoder.max_length))[-1] == (" …", None)


@pytest.mark.parametrize("model_id, table", [("minilm-l6", 30522), ("glove-50d-bag", 400_002)])
def test_each_text_model_is_explained_through_its_word_embeddings(model_id, table):
    model = create(get_spec(model_id), 2, "scratch")  # a scratch network is the same architecture
    encoder = text_encoder_for(get_spec(model_id))
    assert embedding_layer(model.body).num_embeddings == table
    tokens = tokens_of(encoder, "a brilliant film")
    scores = token_attributions(model, tokens.ids, torch.ones_like(tokens.ids), tokens.keep, [1], encoder.pad_id)
    assert scores.shape == tokens.ids.shape and scores.abs().sum() > 0
    with pytest.raises(UserError, match="embeds words"):
        embedding_layer(torch.nn.Linear(3, 3))
