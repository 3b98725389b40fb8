"""Our Pillow-only eval transform gives the very pixels timm's own (`timm.data.create_transform`, which the
decoded-image cache used before) gives, for the registry's sizes and crops, every resampling filter, and images
wider, taller, square, smaller and larger than the target; and it imports neither timm nor torchvision."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.support.paths import REPO
from tlcore.data.images import INTERPOLATIONS, _timm_eval_transform, eval_transform

SHAPES = [(224, 224), (500, 375), (375, 500), (37, 91), (91, 37), (256, 256), (255, 257), (640, 427), (16, 16)]
CROPS = [(224, 0.875), (240, 0.882), (224, 0.9), (224, 0.95), (224, 1.0), (16, 0.875), (32, 1.0)]


@pytest.mark.parametrize("interpolation", sorted(INTERPOLATIONS))
def test_the_pixels_are_timms(interpolation):
    rng = np.random.default_rng(0)
    for w, h in SHAPES:
        im = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for size, crop_pct in CROPS:
            ours = np.asarray(eval_transform(im, size, crop_pct, interpolation))
            timms = np.asarray(_timm_eval_transform(size, crop_pct, interpolation)(im))
            assert ours.shape == (size, size, 3)
            assert np.array_equal(ours, timms), f"{w}x{h} → {size} at crop {crop_pct}, {interpolation}"


def test_a_crop_larger_than_the_image_is_padded_as_timm_does():
    im = Image.fromarray(np.full((50, 80, 3), 200, dtype=np.uint8))
    ours = np.asarray(eval_transform(im, 64, 1.2))
    assert np.array_equal(ours, np.asarray(_timm_eval_transform(64, 1.2, "bilinear")(im)))


def test_decoding_imports_no_torch_timm_or_torchvision():
    code = ("import sys, numpy as np; from PIL import Image; from tlcore.data.images import eval_transform; "
            "eval_transform(Image.fromarray(np.zeros((90, 60, 3), np.uint8)), 32, 0.875, 'bicubic'); "
            "print(sorted(m for m in ('torch', 'timm', 'torchvision') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
