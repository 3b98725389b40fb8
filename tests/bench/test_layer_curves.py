"""`python -m bench.layer_curves`: the README's per-depth table and picture, end to end on a tiny folder."""

from __future__ import annotations

from PIL import Image

from bench.layer_curves import main


def test_layer_curves_prints_one_table_per_dataset_and_draws_them(tiny_image_folder, tmp_path, capsys):
    png = tmp_path / "curves.png"
    assert main(["--data", str(tiny_image_folder), "--model", "mobilenet_v2", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| features.")]
    assert len(rows) == 6 and rows[-1].startswith("| features.18 | 1280 |")
    assert "Recommendation: " in out and "distance from the pretraining data" in out
    with Image.open(png) as picture:
        assert picture.size[0] > 600 and picture.size[1] > 200
