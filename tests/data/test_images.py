"""Image loading (to upright RGB), skipped unreadable files, and the cached decode to a uint8 tensor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from tests.support.data import make_class_tree, write_image
from tlcore.core.settings import Limits
from tlcore.data import DataError, decode_images, load_image, load_source


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path / "data"))


def test_exif_orientation_is_applied(tmp_path):
    im = Image.new("RGB", (20, 10), (255, 0, 0))
    im.paste((0, 0, 255), (0, 0, 10, 10))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    p = tmp_path / "rot.jpg"
    im.save(p, exif=exif.tobytes(), quality=95)
    out = load_image(p)
    assert out.size == (10, 20) and out.mode == "RGB"
    top = np.asarray(out)[2, 5]
    assert top[2] > 200 and top[0] < 60  # the blue half is now on top


def test_rgba_is_composited_on_white(tmp_path):
    p = tmp_path / "cut.png"
    im = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    im.putpixel((0, 0), (255, 0, 0, 255))
    im.save(p)
    arr = np.asarray(load_image(p))
    assert arr.shape == (4, 4, 3)
    assert tuple(arr[3, 3]) == (255, 255, 255) and tuple(arr[0, 0]) == (255, 0, 0)


def test_palette_with_transparency_on_white(tmp_path):
    p = tmp_path / "pal.png"
    im = Image.new("P", (3, 3), 0)
    im.putpalette([0, 0, 0, 10, 200, 10] + [0] * 762)
    im.putpixel((1, 1), 1)
    im.save(p, transparency=0)
    arr = np.asarray(load_image(p))
    assert tuple(arr[0, 0]) == (255, 255, 255) and tuple(arr[1, 1]) == (10, 200, 10)


def test_grey_and_16_bit_become_rgb(tmp_path):
    Image.new("L", (5, 5), 77).save(tmp_path / "g.png")
    arr = np.asarray(load_image(tmp_path / "g.png"))
    assert arr.shape == (5, 5, 3) and (arr == 77).all()
    Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16)).save(tmp_path / "g16.png")
    assert (np.asarray(load_image(tmp_path / "g16.png")) == 255).all()
    Image.fromarray(np.full((4, 4), 256 * 100, dtype=np.uint16)).save(tmp_path / "g16b.png")
    assert (np.asarray(load_image(tmp_path / "g16b.png")) == 99).all()  # scaled, not clipped to 255


def test_gif_first_frame(tmp_path):
    p = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (6, 6), (255, 0, 0)), Image.new("RGB", (6, 6), (0, 0, 255))]
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=50)
    px = np.asarray(load_image(p))[3, 3]
    assert px[0] > 200 and px[2] < 50


@pytest.mark.parametrize("fmt, ext", [("TIFF", "tif"), ("WEBP", "webp"), ("BMP", "bmp"), ("JPEG", "JPG")])
def test_other_formats(tmp_path, fmt, ext):
    p = write_image(tmp_path / f"x.{ext}", (0, 200, 0), (9, 7), fmt)
    out = load_image(p)
    assert out.size == (9, 7) and out.mode == "RGB" and np.asarray(out)[3, 3][1] > 150


def test_arrays():
    grey = load_image(np.full((3, 4), 9, dtype=np.uint8))
    rgb = load_image(np.zeros((3, 4, 3), dtype=np.uint8))
    assert grey.size == rgb.size == (4, 3) and grey.mode == rgb.mode == "RGB"
    with pytest.raises(DataError):
        load_image(np.zeros((2, 2, 2, 2), dtype=np.uint8))


def test_unreadable_files_are_skipped_with_reasons(tmp_path):
    root = make_class_tree(tmp_path / "ds", {"cats": 2, "dogs": 2})
    good = (root / "cats" / "0.png").read_bytes()
    (root / "cats" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "dogs" / "zero.jpg").write_bytes(b"")
    (root / "dogs" / "text.jpg").write_bytes(b"hello, I am not a jpeg")
    (root / "dogs" / "notes.txt").write_text("hi")
    write_image(root / "dogs" / "trunc.jpg", (1, 2, 3), (64, 64), "JPEG")
    jpg = (root / "dogs" / "trunc.jpg").read_bytes()
    (root / "dogs" / "trunc.jpg").write_bytes(jpg[: len(jpg) - 200])
    ds = load_source(root, full_check=True)  # what the worker that trains does: every image decoded
    assert len(ds) == 4
    reasons = {s.name: s.reason for s in ds.skipped}
    assert reasons["dogs/zero.jpg"] == "empty file (0 bytes)"
    assert reasons["dogs/text.jpg"].startswith("not a readable image")
    assert reasons["cats/truncated.png"].startswith("not a readable image")
    assert reasons["dogs/trunc.jpg"].startswith("not a readable image")
    assert reasons["dogs/notes.txt"].startswith("not an image type we read (.txt)")
    # the web server reads headers only: files whose header is fine pass, and the worker's check skips them later
    served = load_source(root)
    assert "cats/truncated.png" in served.item_names  # its header is whole; its pixels are not
    assert {"dogs/zero.jpg", "dogs/text.jpg", "dogs/notes.txt"} <= {s.name for s in served.skipped}


def test_the_server_check_reads_headers_only_and_caps_the_pixels_of_a_dataset(tmp_path):
    root = make_class_tree(tmp_path / "ds", {"cats": 3, "dogs": 3})
    for name in ("cats/big.png", "dogs/big.png"):  # 4000 × 4000 = 16 megapixels each, a few KB on disk
        write_image(root / name, (9, 9, 9), (4000, 4000))
    with pytest.raises(DataError, match="more than 20 megapixels of images in total"):
        load_source(root, limits=Limits(max_dataset_pixels=20_000_000))
    assert len(load_source(root, limits=Limits(max_dataset_pixels=40_000_000))) == 8


def test_decompression_bomb_is_skipped(tmp_path):
    root = make_class_tree(tmp_path / "ds", {"cats": 2, "dogs": 2})
    write_image(root / "dogs" / "huge.png", (0, 0, 0), (100, 50))
    write_image(root / "dogs" / "giant.png", (0, 0, 0), (200, 100))  # > 2× the limit: PIL's own guard fires
    ds = load_source(root, limits=Limits(max_image_pixels=4000))
    reasons = {s.name: s.reason for s in ds.skipped}
    assert reasons["dogs/huge.png"] == "image too large (100×50 pixels; the limit is 4,000)"
    assert reasons["dogs/giant.png"].startswith("image too large (20,000 pixels")
    assert len(ds) == 4


def test_decode_images_shape_crop_and_cache(tmp_path):
    root = tmp_path / "ds"
    for i, cls in enumerate(["a", "a", "b", "b"]):
        im = Image.new("RGB", (40, 20), (255, 255, 255))
        im.paste((i * 60, 0, 0), (10, 0, 30, 20))  # coloured centre, white edges that the crop removes
        (root / cls).mkdir(parents=True, exist_ok=True)
        im.save(root / cls / f"{i}.png")
    ds = load_source(root)
    calls = []
    x = decode_images(ds, 16, progress=lambda d, n: calls.append((d, n)))
    assert x.shape == (4, 3, 16, 16) and x.dtype == torch.uint8
    assert calls[-1] == (4, 4)
    assert int(x[0, 1].max()) == 0  # green channel: centre crop holds only the coloured part
    cache = list((tmp_path / "data" / "cache").glob("*.safetensors"))
    assert len(cache) == 1
    mtime = cache[0].stat().st_mtime_ns
    calls.clear()
    y = decode_images(ds, 16, progress=lambda d, n: calls.append((d, n)))
    assert calls == [] and torch.equal(x, y) and cache[0].stat().st_mtime_ns == mtime
    z = decode_images(ds, 16, interpolation="bicubic", cache_dir=tmp_path / "other")
    assert z.shape == x.shape and len(list((tmp_path / "other").glob("*.safetensors"))) == 1


def test_decode_array_dataset_and_text_refused(tmp_path):
    ds = load_source("digits")
    ds.items, ds.labels = ds.items[:3], ds.labels[:3]
    ds.item_names, ds.item_hashes = ds.item_names[:3], ds.item_hashes[:3]
    ds.fingerprint = "digits-first-3"
    x = decode_images(ds, 8, crop_pct=1.0)
    assert x.shape == (3, 3, 8, 8) and torch.equal(x[:, 0], x[:, 1])
    assert torch.equal(x[0, 0], torch.from_numpy(np.array(ds.items[0])))  # 8→8 with crop_pct 1 is the identity
    with pytest.raises(DataError):
        decode_images(load_source("rotten-tomatoes"), 8)


def test_to_rgb_for_open_images():
    from tlcore.data.images import to_rgb

    im = Image.new("LA", (2, 2), (0, 0))
    assert tuple(np.asarray(to_rgb(im))[0, 0]) == (255, 255, 255)


def test_previews_decode_small_images_cheaply_and_skip_huge_ones(tmp_path):
    from tests.support.hostile.build import png_header_bomb
    from tlcore.data.images import thumbnail

    photo = tmp_path / "photo.jpg"
    Image.fromarray(np.full((600, 800, 3), 200, np.uint8)).save(photo)
    small = thumbnail(photo, 96)
    assert small is not None and max(small.size) == 96 and small.mode == "RGB"
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_bomb(6000, 6000))  # 36 megapixels claimed in a few bytes: no preview, no decode
    assert thumbnail(bomb, 96) is None
    (tmp_path / "icon.png").write_bytes(_ico_bytes())  # an icon named .png is not read at all
    assert thumbnail(tmp_path / "icon.png", 96) is None


def _ico_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buf, "ICO")
    return buf.getvalue()
