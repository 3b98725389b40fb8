"""Image decoding: any input (file or array) to RGB, the timm eval transform, and a cached uint8 tensor.

Every image goes through `load_image`, so EXIF rotation, transparency and grey-scale are handled the same
way for training, evaluation and prediction.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import tempfile
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from tlcore.core import settings
from tlcore.core.errors import DataError
from tlcore.core.settings import Limits
from tlcore.data.dataset import Dataset, ImageRef

if TYPE_CHECKING:
    import torch

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
INTERPOLATIONS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}
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
            im = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        except Image.DecompressionBombError as e:
            m = re.search(r"\((\d+) pixels\)", str(e))
            size = f"{int(m.group(1)):,} pixels" if m else "too many pixels"
            raise ImageTooLarge(f"image too large ({size}; the limit is {limits.max_image_pixels:,})") from e
    w, h = im.size
    if w * h > limits.max_image_pixels:
        im.close()
        raise _too_large(w, h, limits.max_image_pixels)
    return im


def check_image_bytes(data: bytes, limits: Limits) -> str | None:
    """Why these file bytes cannot be used as an image (plain words), or None if they decode."""
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
    limits = limits or Limits.from_env()
    try:
        with _open(Path(ref), limits) as im:
            im.seek(0)
            im.load()
            return to_rgb(im).copy()
    except DataError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as e:
        raise DataError(f"{Path(ref).name} is not a readable image ({e}); remove it from the dataset.") from e


def eval_transform(im: Image.Image, size: int, crop_pct: float = 0.875, interpolation: str = "bilinear") -> Image.Image:
    """timm's eval transform: shorter side to floor(size / crop_pct), then a centred size×size crop."""
    resample = INTERPOLATIONS.get(interpolation)
    if resample is None:
        raise DataError(f"unknown interpolation {interpolation!r}; use one of {', '.join(INTERPOLATIONS)}")
    scale = max(size, math.floor(size / crop_pct))
    w, h = im.size
    if w <= h:
        new_w, new_h = scale, max(1, int(scale * h / w))
    else:
        new_w, new_h = max(1, int(scale * w / h)), scale
    if (new_w, new_h) != (w, h):
        im = im.resize((new_w, new_h), resample)
    left = int(round((new_w - size) / 2.0))
    top = int(round((new_h - size) / 2.0))
    return im.crop((left, top, left + size, top + size))


def _cache_path(ds: Dataset, size: int, crop_pct: float, interpolation: str, cache_dir: Path) -> Path:
    key = hashlib.sha256(f"{ds.fingerprint}|{size}|{crop_pct!r}|{interpolation}".encode()).hexdigest()[:24]
    return cache_dir / f"images-{ds.fingerprint}-{key}.safetensors"


def decode_images(
    ds: Dataset,
    size: int,
    *,
    crop_pct: float = 0.875,
    interpolation: str = "bilinear",
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """All images of `ds` as a uint8 tensor [N, 3, size, size], cached on disk per (data, preprocessing)."""
    from safetensors.torch import load_file, save_file  # torch is imported only when decoding

    if ds.modality != "image":
        raise DataError(f"{ds.name} is a {ds.modality} dataset; images cannot be decoded from it")
    if interpolation not in INTERPOLATIONS:
        raise DataError(f"unknown interpolation {interpolation!r}; use one of {', '.join(INTERPOLATIONS)}")
    cache_dir = Path(cache_dir) if cache_dir is not None else settings.data_dir() / "cache"
    path = _cache_path(ds, size, crop_pct, interpolation, cache_dir)
    if path.exists():
        try:
            cached = load_file(str(path))["images"]
            if cached.shape == (len(ds), 3, size, size):
                return cached
        except Exception:  # a damaged cache file is rebuilt, never trusted
            pass
    out = _decode_all(ds, size, crop_pct, interpolation, progress)
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".images-", suffix=".tmp", dir=cache_dir)
    os.close(fd)
    try:
        save_file({"images": out}, tmp, metadata={"fingerprint": ds.fingerprint, "size": str(size),
                                                  "crop_pct": repr(crop_pct), "interpolation": interpolation})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _decode_all(ds: Dataset, size: int, crop_pct: float, interpolation: str,
                progress: Callable[[int, int], None] | None) -> torch.Tensor:
    import torch

    out = torch.empty((len(ds), 3, size, size), dtype=torch.uint8)
    limits = Limits.from_env()

    def one(i: int) -> int:
        im = eval_transform(load_image(ds.items[i], limits), size, crop_pct, interpolation)
        out[i] = torch.from_numpy(np.asarray(im, dtype=np.uint8).copy()).permute(2, 0, 1)
        return i

    n = len(ds)
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done, _ in enumerate(pool.map(one, range(n)), start=1):
            if progress is not None and (done == n or done % 64 == 0):
                progress(done, n)
    return out


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
