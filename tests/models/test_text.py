"""Text models: MiniLM sentence similarity, GloVe word similarity, tokenizers, and LoRA."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tests.support.models import cached_model
from tlcore.core.errors import ModelError
from tlcore.models import apply_lora, create, get_spec, lora_applied, merge_lora, text_encoder_for
from tlcore.models.text import GLOVE_PAD, GLOVE_UNK, glove_words


def embed(model_id: str, texts: list[str], init: str = "pretrained") -> torch.Tensor:
    enc = text_encoder_for(get_spec(model_id))(texts)
    with torch.no_grad():
        return cached_model(model_id, init).features(enc["input_ids"], enc["attention_mask"])


def test_minilm_embeddings_capture_meaning() -> None:
    e = embed("minilm-l6", ["A man is playing a guitar.", "Someone plays the guitar.",
                            "The stock market fell sharply today."])
    similar, unrelated = F.cosine_similarity(e[0], e[1], dim=0), F.cosine_similarity(e[0], e[2], dim=0)
    assert similar > unrelated + 0.3, (similar, unrelated)


def test_minilm_padding_does_not_change_embeddings() -> None:
    """Mean pooling ignores padding: a short text embeds the same alone and next to a long one."""
    alone = embed("minilm-l6", ["Short text."])
    padded = embed("minilm-l6", ["Short text.", "A much longer sentence that forces padding of the first one."])
    torch.testing.assert_close(alone[0], padded[0], rtol=1e-4, atol=1e-4)


def test_glove_bag_word_similarity() -> None:
    e = embed("glove-50d-bag", ["king", "queen", "banana"])
    assert F.cosine_similarity(e[0], e[1], dim=0) > F.cosine_similarity(e[0], e[2], dim=0) + 0.3


def test_glove_tokenizer_ids_padding_and_unknowns() -> None:
    spec = get_spec("glove-50d-bag")
    enc = text_encoder_for(spec)
    assert glove_words("I don't know, it's the U.S. e-mail!") == ["i", "do", "n't", "know", "it", "'s", "the",
                                                                  "u.s", "e-mail"]
    out = enc(["the cat", "zzqxv the cat sat", ""])
    ids, mask = out["input_ids"], out["attention_mask"]
    assert ids.dtype == mask.dtype == torch.long and ids.shape == (3, 4)  # padded to the longest text
    assert ids[0, 2:].tolist() == [GLOVE_PAD] * 2 and mask[0].tolist() == [1, 1, 0, 0]
    assert ids[1, 0] == GLOVE_UNK and ids[0, 0] == ids[1, 1]
    assert mask[2].tolist() == [1, 0, 0, 0]  # an empty text is one unknown token, never an empty mean
    assert enc(["word " * 1000])["input_ids"].shape == (1, spec.max_length)
    with torch.no_grad():
        body = cached_model("glove-50d-bag").body
        assert body.embedding.weight[GLOVE_PAD].abs().sum() == 0
        torch.testing.assert_close(body(ids[:1], mask[:1]), body(ids[:1, :2], mask[:1, :2]))


def test_minilm_tokenizer_truncates_and_pads_dynamically() -> None:
    spec = get_spec("minilm-l6")
    enc = text_encoder_for(spec)
    out = enc(["hi", "a slightly longer text here"])
    assert out["input_ids"].dtype == torch.long and out["input_ids"].shape[1] < 12
    assert out["input_ids"][0, -1] == enc.pad_id == 0 and out["attention_mask"][0, -1] == 0
    assert enc(["word " * 1000])["input_ids"].shape == (1, spec.max_length)


def test_lora_trains_only_adapters_and_head_and_merges_back() -> None:
    spec = get_spec("minilm-l6")
    torch.manual_seed(0)
    model = apply_lora(create(spec, 4, "pretrained"), r=4, alpha=8)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert lora_applied(model)
    assert all("lora_" in n or n.startswith("head.") for n in trainable)
    assert sum("lora_" in n for n in trainable) == 6 * 2 * 2  # 6 layers × (query, value) × (A, B)
    enc = text_encoder_for(spec)(["a guitar song", "stocks fell"])
    model.eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:  # B starts at zero; make the adapters do something
                param.normal_(0.0, 0.05)
        expected = model(enc["input_ids"], enc["attention_mask"])
    state = merge_lora(model).state_dict()
    assert not lora_applied(model) and not any("lora" in k for k in state)
    plain = create(spec, 4, "scratch")
    plain.load_state_dict(state)
    with torch.no_grad():
        torch.testing.assert_close(plain.eval()(enc["input_ids"], enc["attention_mask"]), expected,
                                   rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("model_id", ["mobilenet_v2", "glove-50d-bag"])
def test_lora_refused_for_non_transformers(model_id: str) -> None:
    with pytest.raises(ModelError, match="LoRA needs a transformer model"):
        apply_lora(cached_model(model_id, "scratch"))


def test_lora_on_vision_transformer() -> None:
    """vit_small's weights are online-only, but LoRA's wiring (timm `qkv` projections) is checked on scratch."""
    model = apply_lora(create(get_spec("vit_small"), 2, "scratch"))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert sum("lora_" in n for n in trainable) == 12 * 2 and {"head.weight", "head.bias"} <= set(trainable)
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 224, 224)).shape == (1, 2)
    assert not any("lora" in k for k in merge_lora(model).state_dict())
