"""Hostile images inside otherwise good zips: bombs, truncated, empty, fake, unsupported, and unusual-but-fine."""

from __future__ import annotations

from dataclasses import replace

from .build import GOOD, accept, as_zip, bmp_header_bomb, good_images, png, png_header_bomb, png_text_bomb, reject

HTML = b"<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body>Access denied</body></html>"


def _with(extra: dict[str, bytes]) -> dict[str, bytes]:
    return {**good_images(GOOD), **extra}


def _odd_but_fine() -> dict[str, bytes]:
    """Formats and modes people really have: all must load without a warning."""
    return {"cats/0.png": png(1), "cats/png-named.jpg": png(2), "cats/cmyk.jpg": png(3, (16, 16), "JPEG", "CMYK"),
            "dogs/0.png": png(4), "dogs/grey16.png": png(5, (8, 8), "PNG", "I;16"),
            "dogs/palette.gif": png(6, (8, 8), "GIF", "P"), "dogs/1.webp": png(7, (8, 8), "WEBP"),
            "cats/2.bmp": png(8, (8, 8), "BMP"), "cats/3.tiff": png(9, (8, 8), "TIFF")}


CASES = [
    accept("image-bomb-png-header", as_zip("bomb.zip", _with({"cats/huge.png": png_header_bomb(60000, 60000)})),
           "too large", classes=("cats", "dogs")),
    accept("image-bomb-bmp-just-over-limit", as_zip("bomb.zip", _with({"dogs/huge.bmp": bmp_header_bomb(8000, 6000)})),
           "too large", classes=("cats", "dogs")),
    accept("image-png-text-chunk-bomb", as_zip("textbomb.zip", _with({"cats/meta.png": png_text_bomb(8)})),
           "too large", classes=("cats", "dogs")),
    reject("image-only-bombs", as_zip("bombs.zip", {"cats/a.png": png_header_bomb(60000, 60000),
                                                     "dogs/b.bmp": bmp_header_bomb(8000, 6000)}),
           "no usable images", "too large"),
    replace(accept("image-truncated-png", as_zip("cut.zip", _with({"cats/cut.png": png(80, (64, 64))[:300]})),
                   "damaged or truncated", classes=("cats", "dogs")), on_server=(True, ())),
    accept("image-truncated-jpeg", as_zip("cut.zip", _with({"dogs/cut.jpg": png(81, (64, 64), "JPEG")[:400]})),
           "damaged or truncated", classes=("cats", "dogs")),
    accept("image-zero-bytes", as_zip("zero.zip", _with({"cats/empty.jpg": b""})), "empty file",
           classes=("cats", "dogs")),
    accept("image-text-named-jpg", as_zip("fake.zip", _with({"dogs/notes.jpg": b"remember to buy milk\n"})),
           "not a readable image", classes=("cats", "dogs")),
    accept("image-html-named-png", as_zip("fake.zip", _with({"cats/download.png": HTML})), "not a readable image",
           classes=("cats", "dogs")),
    replace(reject("image-all-unreadable", as_zip("broken.zip", {"cats/a.jpg": b"", "cats/b.png": HTML,
                                                                  "dogs/c.png": png(82, (64, 64))[:300],
                                                                  "dogs/d.jpg": b"??"}),
                   "no usable images"), on_server=(False, ("at least 2",))),
    accept("image-unsupported-formats", as_zip("formats.zip", _with({
        "cats/IMG_0001.HEIC": b"\0\0\0\x18ftypheic" + b"\0" * 32, "dogs/logo.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        "dogs/layers.psd": b"8BPS" + b"\0" * 32})), "not an image type", classes=("cats", "dogs")),
    reject("image-only-unsupported", as_zip("heic.zip", {"cats/IMG_1.heic": b"\0\0\0\x18ftypheic" + b"\0" * 32,
                                                          "dogs/IMG_2.heic": b"\0\0\0\x18ftypheic" + b"\1" * 32}),
           "no usable images", "heic", "jpeg"),
    accept("image-odd-but-fine-formats", as_zip("odd.zip", _odd_but_fine()), classes=("cats", "dogs")),
]
