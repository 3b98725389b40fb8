"""Image decoding: any input (file or array) to RGB, timm's own eval transform, and a cached uint8 tensor.

Every image goes through `load_image`, so EXIF rotation, transparency and grey-scale are handled the same
way for training, evaluation and prediction.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from tlcore.core.errors import DataError
from tlcore.core.settings import Limits
from tlcore.data.dataset import Dataset, ImageRef

if TYPE_CHECKING:
    pass

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
INTERPOLATIONS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}
# The formats IMAGE_SUFFIXES name. Anything else Pillow knows is refused, whatever
# its file name: some plugins (ICO, for one) decode pixels while opening, which would bypass the header-only check.
READ_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")  # JPEG also opens MPO (a JPEG with more frames)
WHITE = (255, 255, 255)
ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is reported as skipped, never half-decoded


class ImageTooLarge(DataError):
    """The image has more pixels than `limits.max_image_pixels` (possible decompression bomb)."""


def _too_large(width: int, height: int, limit: int) -> ImageTooLarge:
    return ImageTooLarge(f"image too large ({width}×{height} pixels; the limit is {limit:,})")


def _open(source: Path | bytes, limits: Limits) -> Image.Image:
    """Open lazily and refuse oversize images before any pixel is decoded."""
    # PIL's own guard stays on (it errors at 2× this), ours gives the exact size in the message.
    Image.MAX_IMAGE_PIXELS = max(limits.max_image_pixels, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source, formats=READ_FORMATS)
        except Image.DecompressionBombError as e:
            m = re.search(r"\((\d+) pixels\)", str(e))
            size = f"{int(m.group(1)):,} pixels" if m else "too many pixels"
            raise ImageTooLarge(f"image too large ({size}; the limit is {limits.max_image_pixels:,})") from e
    w, h = im.size
    if w * h > limits.max_image_pixels:
        im.close()
        raise _too_large(w, h, limits.max_image_pixels)
    return im


def image_size(data: bytes, limits: Limits) -> tuple[tuple[int, int] | None, str | None]:
    """((width, height), None) from the header alone — no pixel is decoded —, or (None, why it is unusable).

    This is all the server does with an uploaded image: a 40-megapixel PNG of 130 KB costs microseconds here
    instead of a fifth of a second; full decoding happens in the worker that trains (`check_image_bytes`).
    """
    if not data:
        return None, "empty file (0 bytes)"
    try:
        with _open(data, limits) as im:
            return im.size, None
    except ImageTooLarge as e:
        return None, str(e)
    except UnidentifiedImageError:
        return None, "not a readable image (the content is not an image format we read)"
    except (OSError, SyntaxError, EOFError, ValueError, Image.DecompressionBombError) as e:
        return None, f"not a readable image (damaged or truncated: {e})"


def check_image_bytes(data: bytes, limits: Limits) -> str | None:
    """Why these file bytes cannot be used as an image (plain words), or None if they decode fully."""
    if not data:
        return "empty file (0 bytes)"
    try:
        with _open(data, limits) as im:
            if im.format == "JPEG":
                im.draft("RGB", (64, 64))  # DCT scaling: checks the whole stream at a fraction of the cost
            im.load()
    except ImageTooLarge as e:
        return str(e)
    except UnidentifiedImageError:
        return "not a readable image (the content is not an image format we read)"
    except ValueError as e:
        if "too large" in str(e).lower():  # e.g. a text chunk that inflates past PIL's safety limit
            return "image metadata too large to read safely (possible decompression bomb)"
        return f"not a readable image (damaged or truncated: {e})"
    except (OSError, SyntaxError, EOFError, Image.DecompressionBombError) as e:
        return f"not a readable image (damaged or truncated: {e})"
    return None


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB with transparency composited on white; high-bit-depth grey scaled, not clipped."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        scale = 257.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 and arr.max() <= 65535 else 1.0
        return Image.fromarray(np.clip(arr / scale, 0, 255).astype(np.uint8), "L").convert("RGB")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


_UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)  # what PIL raises


def _decode(source: Path | bytes, limits: Limits) -> Image.Image:
    """The first frame, fully decoded and prepared (DataError when over the pixel limit)."""
    with _open(source, limits) as im:
        im.seek(0)
        im.load()
        return to_rgb(im).copy()


def load_image_bytes(data: bytes, limits: Limits | None = None) -> Image.Image:
    """An uploaded image (e.g. on the Predict page) as upright RGB, within `max_image_pixels`."""
    try:
        return _decode(data, limits or Limits.from_env())
    except _UNREADABLE as e:
        raise DataError(f"That file is not an image we can read ({e}); try a JPEG or PNG.") from e


def to_rgb(im: Image.Image) -> Image.Image:
    """An already-open PIL image (e.g. from an upload widget) prepared exactly like `load_image` does."""
    upright = ImageOps.exif_transpose(im)
    return _to_rgb(upright if upright is not None else im)


def _array_to_rgb(arr: np.ndarray) -> Image.Image:
    a = np.asarray(arr)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        return Image.fromarray(a, "L").convert("RGB")
    if a.ndim == 3 and a.shape[2] in (3, 4):
        return _to_rgb(Image.fromarray(np.ascontiguousarray(a), "RGB" if a.shape[2] == 3 else "RGBA"))
    raise DataError(f"an image array must be H×W or H×W×3, got shape {a.shape}")


def load_image(ref: ImageRef, limits: Limits | None = None) -> Image.Image:
    """Any image reference as an upright RGB PIL image (EXIF applied, first frame, transparency on white)."""
    if isinstance(ref, np.ndarray):
        return _array_to_rgb(ref)
    try:
        return _decode(Path(ref), limits or Limits.from_env())
    except _UNREADABLE as e:
        reason = str(e).replace(str(ref), Path(ref).name)  # PIL names the file by its path on the server
        raise DataError(f"{Path(ref).name} is not a readable image ({reason}); remove it from the dataset.") from e


PREVIEW_MAX_PIXELS = 16_000_000  # a preview of a bigger image would cost the web server a full decode of it


def thumbnail(ref: ImageRef, side: int, limits: Limits | None = None) -> Image.Image | None:
    """A preview at most `side` px on its longer side, decoded as cheaply as the format allows (JPEGs at a
    reduced scale); None for an image over PREVIEW_MAX_PIXELS, unreadable or too large. The web server shows
    previews; this keeps one page view from decoding hundreds of megapixels."""
    if isinstance(ref, np.ndarray):
        im = _array_to_rgb(ref)
    else:
        try:
            with _open(Path(ref), limits or Limits.from_env()) as src:
                if src.width * src.height > PREVIEW_MAX_PIXELS:
                    return None
                src.draft("RGB", (side, side))  # JPEG: decode at 1/2, 1/4 or 1/8 scale
                src.seek(0)
                src.load()
                im = to_rgb(src).copy()
        except (DataError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
            return None
    scale = side / max(im.size)
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return im.resize(size, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)


def eval_transform(im: Image.Image, size: int, crop_pct: float = 0.875, interpolation: str = "bilinear") -> Image.Image:
    """timm's own eval transform (`timm.data.create_transform(..., is_training=False, crop_mode="center")`): the
    shorter side to floor(size / crop_pct), then a centred size×size crop; on the PIL image, before any tensor
    conversion. Done here with Pillow alone, as torchvision does it on a PIL image (the same sizes, rounding and
    resampling: `tests/data/test_eval_transform.py` compares the pixels with timm's), because importing timm and
    torchvision to decode cost a run that needs neither 3-4 s on two cores. A crop larger than the resized image
    (crop_pct > 1) is padded by timm; that rare case still goes through timm."""
    if interpolation not in INTERPOLATIONS:
        raise DataError(f"unknown interpolation {interpolation!r}; use one of {', '.join(INTERPOLATIONS)}")
    scale = math.floor(size / crop_pct)
    if scale < size:
        return _timm_eval_transform(size, crop_pct, interpolation)(im)
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = scale, int(scale * long / short)  # torchvision's `_compute_resized_output_size`
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) != (w, h):
        im = im.resize((new_w, new_h), INTERPOLATIONS[interpolation])
    top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))  # torchvision's `center_crop`
    return im.crop((left, top, left + size, top + size))


@lru_cache(maxsize=64)
def _timm_eval_transform(size: int, crop_pct: float, interpolation: str):
    from timm.data import create_transform
    from timm.data.transforms import MaybePILToTensor
    from torchvision.transforms import Compose

    full = create_transform(input_size=size, is_training=False, interpolation=interpolation, crop_pct=crop_pct,
                            crop_mode="center", use_prefetcher=True)  # no normalisation: we cache uint8 pixels
    return Compose([t for t in full.transforms if not isinstance(t, MaybePILToTensor)])


def median_side(ds: Dataset, sample: int = 64) -> int | None:
    """Median shorter side of up to `sample` images, read from headers only (cheap), or None if unknown.

    Lets defaults avoid upscaling 28 px digits to 160 px, which costs ~6× the compute for no information.
    """
    if ds.modality != "image" or len(ds) == 0:
        return None
    step = max(1, len(ds) // sample)
    sides = []
    for ref in ds.items[::step][:sample]:
        if isinstance(ref, np.ndarray):
            sides.append(min(ref.shape[:2]))
            continue
        try:
            with Image.open(ref) as im:
                sides.append(min(im.size))
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
    return int(np.median(sides)) if sides else None
