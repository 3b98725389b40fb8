"""`tlcore.models.downloads` finds torch hub's folder and a checkpoint's name hash as torch does, without importing
torch (the web server checks weight availability with it): checked against torch's own answers."""

from __future__ import annotations

import os
import subprocess
import sys

import torch

from tests.support.paths import REPO
from tlcore.models import downloads


def test_the_hub_folder_is_torchs_own_when_torch_is_not_imported(tmp_path):
    for env in ({}, {"TORCH_HOME": str(tmp_path / "th")}, {"XDG_CACHE_HOME": str(tmp_path / "xdg")}):
        full = {k: v for k, v in os.environ.items() if k not in ("TORCH_HOME", "XDG_CACHE_HOME")} | env
        code = ("import sys; from tlcore.models import downloads; print(downloads.torch_hub_dir()); "
                "print('torch' in sys.modules)")
        mine = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=full | {"PYTHONPATH": str(REPO)},
                              capture_output=True, text=True, check=True).stdout.split()
        theirs = subprocess.run([sys.executable, "-c", "import torch; print(torch.hub.get_dir())"], env=full,
                                capture_output=True, text=True, check=True).stdout.strip()
        assert mine == [theirs, "False"], env


def test_the_name_hash_pattern_is_torchs():
    assert downloads.HASH_IN_NAME.pattern == torch.hub.HASH_REGEX.pattern
