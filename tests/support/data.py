"""Helpers for the data-layer tests: tiny real image files and zips built in tmp_path."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def png_bytes(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (12, 10),
              mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color if mode == "RGB" else color[0]).save(buf, "PNG")
    return buf.getvalue()


def write_image(path: Path, color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (12, 10),
                fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, fmt)
    return path


def make_class_tree(root: Path, classes: dict[str, int], *, prefix: str = "", seed: int = 0) -> Path:
    """root/<prefix>/<class>/<i>.png with distinct content per file (no accidental duplicates)."""
    rng = np.random.default_rng(seed)
    for cls, n in classes.items():
        for i in range(n):
            arr = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
            p = root / prefix / cls / f"{i}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(p)
    return root


def zip_tree(src: Path, zip_path: Path, arc_prefix: str = "") -> Path:
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(src.rglob("*")):
            if p.is_file():
                zf.write(p, arc_prefix + p.relative_to(src).as_posix())
    return zip_path


def zip_entries(zip_path: Path, entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(zip_path, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return zip_path


def coloured_zip(folder: str, colours: dict[str, tuple[int, int, int]], per_class: int) -> bytes:
    """A zip of `folder/<class>/<i>.png`: 10 px squares of the class colour, each with one white pixel in its
    own place (so no two files are duplicates)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, colour in colours.items():
            for i in range(per_class):
                img, png = Image.new("RGB", (10, 10), colour), io.BytesIO()
                img.putpixel((i, i), (255, 255, 255))
                img.save(png, format="PNG")
                zf.writestr(f"{folder}/{name}/{i}.png", png.getvalue())
    return buf.getvalue()


def square_images(root: Path, colours: dict[str, tuple[int, int, int]], per_class: int, *, side: int, square: int,
                  margin: int = 0, noise: tuple[int, int] = (90, 160), seed: int = 0) -> Path:
    """root/<class>/<i>.png: grey noise with one square of the class's colour at a random place (a learnable
    image dataset whose object is known, for training and for checking where a model looks)."""
    rng = np.random.default_rng(seed)
    for name, colour in colours.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = rng.integers(*noise, size=(side, side, 3)).astype(np.uint8)
            y, x = rng.integers(margin, side - square - margin, size=2)
            image[y:y + square, x:x + square] = colour
            Image.fromarray(image).save(root / name / f"{i}.png")
    return root


POSITIVE = ("wonderful", "great", "excellent", "lovely", "brilliant", "delightful")
NEGATIVE = ("awful", "terrible", "boring", "dreadful", "horrible", "dull")
FILLERS = ("the film we saw on {day} was {word} from start to end", "my friend said the {word} show ran late on {day}",
           "on {day} the cast gave a {word} performance in the old hall", "we thought the story was {word} overall")


def sentiment_table(path: Path, per_class: int, seed: int = 0, extra: str = "") -> Path:
    """A CSV of short reviews whose class is the one sentiment word among neutral ones (a learnable text dataset
    whose deciding word is known); `extra` is appended to every text."""
    rng = np.random.default_rng(seed)
    days = ("monday", "tuesday", "friday", "sunday")
    rows = []
    for label, words in (("pos", POSITIVE), ("neg", NEGATIVE)):
        for _ in range(per_class):
            text = FILLERS[rng.integers(len(FILLERS))].format(word=words[rng.integers(len(words))],
                                                               day=days[rng.integers(len(days))])
            rows.append((text + extra, label))
    path.write_text("text,label\n" + "".join(f'"{text}",{label}\n' for text, label in rows))
    return path
