"""Library models by name (`timm:…`, `hf:…`): names are checked before anything is looked up, preprocessing comes
from timm's pretrained cfg, and availability from the local hub cache only."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.hubcache import MINILM_REPO, TIMM_TINY, fill_hub_cache, use_hub_cache
from tests.support.paths import REPO
from tlcore.core.errors import ModelError
from tlcore.models import availability, get_spec, named


@pytest.mark.parametrize("model_id", ["timm:", "hf:", "timm:../../x", "timm:*", "hf:org/name@main", "hf:a\nb",
                                      "hf:/etc/passwd", "hf:~/.ssh", "hf:..", "hf:" + "a" * 500])
def test_hostile_names_are_refused_in_one_short_line(model_id):
    with pytest.raises(ModelError) as caught:
        get_spec(model_id)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 250


def test_a_timm_spec_takes_its_preprocessing_from_the_pretrained_cfg():
    import timm

    spec = get_spec("timm:test_convnext")  # no tag: timm's default pretrained tag
    cfg = timm.models.get_pretrained_cfg(TIMM_TINY)
    assert spec.id == f"timm:{TIMM_TINY}" and spec.modality == "image" and spec.family == "timm"
    assert (spec.input_size, spec.mean, spec.std) == (cfg.input_size[-1], cfg.mean, cfg.std)
    assert (spec.interpolation, spec.crop_pct, spec.extra["hf_hub_id"]) == (cfg.interpolation, cfg.crop_pct,
                                                                          cfg.hf_hub_id)
    assert 0.1 < spec.params_m < 1


def test_availability_comes_from_the_local_cache_only(tmp_path, monkeypatch):
    use_hub_cache(monkeypatch, tmp_path / "empty")
    for model_id in (f"timm:{TIMM_TINY}", f"hf:{MINILM_REPO}"):
        avail = availability(get_spec(model_id))
        assert not avail.available and "not in the local cache" in avail.reason
    use_hub_cache(monkeypatch, fill_hub_cache(tmp_path / "hub"))
    for model_id in (f"timm:{TIMM_TINY}", f"hf:{MINILM_REPO}"):
        assert availability(get_spec(model_id)).available
    assert get_spec(f"hf:{MINILM_REPO}").params_m == pytest.approx(22.7, abs=0.1)


def test_search_lists_library_names_and_only_valid_typed_ids(tmp_path, monkeypatch):
    use_hub_cache(monkeypatch, fill_hub_cache(tmp_path / "hub"))
    assert named.search("test_convnext", "image")[0] == f"timm:{TIMM_TINY}"
    assert named.search("minilm", "text") == [f"hf:{MINILM_REPO}"]
    assert named.search("distilbert-base-uncased", "text") == ["hf:distilbert-base-uncased"]
    assert named.search("[", "text") == [] and named.search("  ", "image") == []


def test_a_hub_encoder_takes_lora_on_the_projections_peft_names_and_merges_back(tmp_path, monkeypatch):
    import torch

    from tlcore.models import apply_lora, create, merge_lora, text_encoder_for
    from tlcore.models.text import ClassifierFeatures

    use_hub_cache(monkeypatch, fill_hub_cache(tmp_path / "hub"))
    spec = get_spec(f"hf:{MINILM_REPO}")
    assert spec.supports_lora and spec.extra["lora_targets"] == ("query", "value")  # peft's table for BERT
    torch.manual_seed(0)
    model = apply_lora(create(spec, 2))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)
    batch = text_encoder_for(spec)(["a good film", "a bad one"])
    with torch.no_grad():
        before = model.eval()(batch["input_ids"], batch["attention_mask"])
        merged = merge_lora(model)
        assert isinstance(merged.body, ClassifierFeatures)
        torch.testing.assert_close(merged(batch["input_ids"], batch["attention_mask"]), before)


def test_what_a_model_reads_is_known_from_its_id_without_importing_its_library(tmp_path, monkeypatch):
    """The Predict page and a share link's "Try these models" ask it for every run they list: it must agree with
    the full spec, and (in a fresh process) import neither the libraries nor torch."""
    from tlcore.models import list_specs, modality_of

    use_hub_cache(monkeypatch, fill_hub_cache(tmp_path / "hub"))
    ids = [f"timm:{TIMM_TINY}", f"hf:{MINILM_REPO}", *(s.id for s in list_specs())]
    assert [modality_of(i) for i in ids] == [get_spec(i).modality for i in ids]
    with pytest.raises(ModelError, match="Unknown model"):
        modality_of("no-such-model")
    code = ("import sys; from tlcore.models import modality_of; "
            f"print(modality_of('timm:{TIMM_TINY}'), modality_of('hf:{MINILM_REPO}'), "
            "*[m for m in ('torch', 'timm', 'transformers', 'peft') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["image", "text"]
