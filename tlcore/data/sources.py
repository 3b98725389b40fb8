"""`load_source`: one entry point for built-in ids, zip uploads, folders of class folders and text tables."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tlcore.core.errors import DataError
from tlcore.core.settings import Limits
from tlcore.data import builtin, library
from tlcore.data.archive import MANIFEST, is_ignored_name, read_manifest
from tlcore.data.dataset import Dataset, SkippedItem, content_hash, drop_tiny_classes
from tlcore.data.images import IMAGE_SUFFIXES, check_image_bytes, image_size
from tlcore.data.tables import TABLE_SUFFIXES, load_table, read_text_bytes

SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                 "test": "test", "testing": "test"}
TEXT_FILE_SUFFIXES = {".txt"}
OTHER_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".gz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".tar.zst")
SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")
LINK_REASON = "a link to another place (links are not followed; copy the real file in)"


def _unsupported(name: str) -> DataError:
    lower = name.lower()
    if lower.endswith(OTHER_ARCHIVES):
        return DataError(f"{name} is not a zip archive; only .zip archives are read. Re-pack the class folders "
                         "as a .zip (e.g. right-click › Compress, or `zip -r data.zip cats dogs`).")
    if lower.endswith(SPREADSHEETS):
        return DataError(f"{name} is a spreadsheet; Excel and similar files are not read directly. Save it as CSV "
                         "(in Excel: File › Save As › CSV UTF-8 (Comma delimited)) and use the .csv file.")
    if lower.endswith(tuple(IMAGE_SUFFIXES)):
        return DataError(f"{name} is a single image; a dataset needs several images per class. Put them in one "
                         "folder per class (cats/1.jpg, dogs/2.jpg…) and use the folder or a .zip of it.")
    return DataError(f"{name} is not a .zip, folder, .csv, .tsv or .jsonl file; give one of those or a built-in "
                     "id such as tux-photos (see `python -m tlcore datasets`)")


def load_source(src: str | Path, *, text_column: str | None = None, label_column: str | None = None,
                limits: Limits | None = None, name: str | None = None, full_check: bool = False) -> Dataset:
    """Load a dataset from a built-in id, an upload handle (`upload:<id>`), a .zip, a folder, or a
    .csv/.tsv/.jsonl file. `name` is what people call it (an upload's file name); `full_check` decodes every
    image (a worker does; a web server reads only the headers, see `image_size`)."""
    limits = limits or Limits.from_env()
    if isinstance(src, str) and src in builtin.BUILTIN_IDS and not Path(src).exists():
        return builtin.load_builtin(src)
    path = library.source_path(src) if library.is_upload_ref(src) else Path(src).expanduser()
    if not path.exists():
        if isinstance(src, str) and "/" not in src and "." not in src and ":" not in src:
            ids = ", ".join(builtin.BUILTIN_IDS)
            raise DataError(f"{src!r} is neither a file nor a built-in dataset; built-in ids are: {ids}")
        raise DataError(f"{name or path.name} does not exist; check the path.")
    if path.is_file() and path.suffix.lower() == ".zip":
        name, path = name or path.stem, library.extracted_folder(path, limits)
    if path.is_dir():
        return load_folder(path, limits, name=name, full_check=full_check,
                           extra_skipped=read_manifest(path) if (path / MANIFEST).exists() else None)
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{name or path.name} is empty (0 bytes); check that it was saved or copied completely.")
    if path.suffix.lower() in TABLE_SUFFIXES:
        return load_table(path, text_column=text_column, label_column=label_column, limits=limits, name=name)
    raise _unsupported(name or path.name)


def _visible_children(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not is_ignored_name(p.name))


def _unwrap(root: Path) -> Path:
    """Descend through single wrapping folders (zip of `myset/cats/...`) until the class level."""
    for _ in range(8):
        children = _visible_children(root)
        if len(children) != 1 or not children[0].is_dir() or children[0].name.lower() in SPLIT_ALIASES:
            return root
        if not any(c.is_dir() for c in _visible_children(children[0])):
            return root  # the single folder is a class folder, not a wrapper
        root = children[0]
    return root


def _walk_files(folder: Path, root: Path, skipped: list[SkippedItem]) -> list[Path]:
    """Visible regular files under `folder`, sorted, skipping hidden/OS folders; links are skipped with a reason."""
    out: list[Path] = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).parts
        if any(is_ignored_name(part) for part in rel):
            continue
        if p.is_symlink():
            skipped.append(SkippedItem(p.relative_to(root).as_posix(), LINK_REASON))
        elif p.is_file():
            out.append(p)
    return out


def _collect(root: Path) -> tuple[list[tuple[Path, str, str | None]], list[SkippedItem]]:
    """(file, class name, given split or None) for every candidate file, plus files outside class folders."""
    entries: list[tuple[Path, str, str | None]] = []
    skipped: list[SkippedItem] = []
    children = _visible_children(root)
    split_dirs = {c: SPLIT_ALIASES[c.name.lower()] for c in children if c.is_dir() and c.name.lower() in SPLIT_ALIASES}
    groups: list[tuple[Path, str | None]] = [(d, s) for d, s in split_dirs.items()] if split_dirs else [(root, None)]
    for c in children:
        if c in split_dirs:
            continue
        rel = c.relative_to(root).as_posix()
        if c.is_file():
            skipped.append(SkippedItem(rel, "not inside a class folder"))
        elif split_dirs and c.is_dir():
            skipped.append(SkippedItem(rel + "/", "folder next to train/val/test folders (not used)"))
    for base, split in groups:
        for class_dir in _visible_children(base):
            if class_dir.is_symlink():
                skipped.append(SkippedItem(class_dir.relative_to(root).as_posix(), LINK_REASON))
            elif split is not None and class_dir.is_file():
                skipped.append(SkippedItem(class_dir.relative_to(root).as_posix(), "not inside a class folder"))
            elif class_dir.is_dir():
                entries.extend((f, class_dir.name, split) for f in _walk_files(class_dir, root, skipped))
    return entries, skipped


def load_folder(folder: Path, limits: Limits | None = None, *, name: str | None = None,
                extra_skipped: list[SkippedItem] | None = None, full_check: bool = False) -> Dataset:
    """A Dataset from a folder of class folders (optionally inside train/val/test folders)."""
    limits = limits or Limits.from_env()
    root = _unwrap(Path(folder).resolve())
    entries, skipped = _collect(root)
    skipped = list(extra_skipped or []) + skipped
    if len(entries) > limits.max_files:
        raise DataError(f"The folder holds {len(entries):,} files; the limit is {limits.max_files:,}.")
    n_classes = len({cls for _, cls, _ in entries})
    if n_classes > limits.max_classes:
        raise DataError(f"{name or Path(folder).name} has {n_classes:,} classes (folders); the limit is "
                        f"{limits.max_classes:,}. Put the files in one folder per class, not one folder per file.")
    suffixes = [f.suffix.lower() for f, _, _ in entries]
    n_images = sum(s in IMAGE_SUFFIXES for s in suffixes)
    n_texts = sum(s in TEXT_FILE_SUFFIXES for s in suffixes)
    ds_name = name or Path(folder).name
    if n_images == 0 and n_texts > 0:
        return _text_folder(ds_name, root, entries, skipped, limits)
    return _image_folder(ds_name, root, entries, skipped, limits, full_check)


def _check_file(path: Path, limits: Limits, full_check: bool) -> tuple[str, int, str | None]:
    """(content hash, pixels, reason it is unusable or None): the header only, unless `full_check`."""
    try:
        data = path.read_bytes()
    except OSError as e:
        return "", 0, f"could not be read ({e.strerror or e})"
    size, reason = image_size(data, limits)
    if reason is None and full_check:
        reason = check_image_bytes(data, limits)
    return content_hash(data), (size[0] * size[1] if size else 0), reason


def _image_folder(name: str, root: Path, entries: list[tuple[Path, str, str | None]],
                  skipped: list[SkippedItem], limits: Limits, full_check: bool) -> Dataset:
    candidates = []
    for f, cls, split in entries:
        rel = f.relative_to(root).as_posix()
        if f.suffix.lower() in IMAGE_SUFFIXES:
            candidates.append((f, cls, split, rel))
        else:
            kind = f.suffix.lower() or "no extension"
            skipped.append(SkippedItem(rel, f"not an image type we read ({kind}); convert it to JPEG or PNG"))
    rows = _checked_images(name, candidates, skipped, limits, full_check)
    if not rows:
        raise DataError(f"{name} contains no usable images. Put images (jpg, png, webp, bmp, gif, tiff) in one "
                        "folder per class, e.g. cats/1.jpg and dogs/2.jpg." + _skip_hint(skipped))
    return _make_dataset(name, "image", rows, skipped)


def _checked_images(name: str, candidates: list[tuple], skipped: list[SkippedItem], limits: Limits,
                    full_check: bool) -> list[tuple]:
    """The usable images (the rest go to `skipped`); refused as soon as all of them together hold more pixels
    than `max_dataset_pixels`, before the rest are even read."""
    rows, pixels = [], 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        for (f, cls, split, rel), (digest, n, reason) in zip(
                candidates, pool.map(lambda c: _check_file(c[0], limits, full_check), candidates)):
            pixels += n
            if pixels > limits.max_dataset_pixels:
                pool.shutdown(cancel_futures=True)
                raise DataError(f"{name} holds more than {limits.max_dataset_pixels / 1e6:,.0f} megapixels of images "
                                f"in total (the limit; after {len(rows):,} images); upload fewer or smaller images.")
            if reason:
                skipped.append(SkippedItem(rel, reason))
            else:
                rows.append((f, cls, split, rel, digest))
    return rows


def _text_folder(name: str, root: Path, entries: list[tuple[Path, str, str | None]],
                 skipped: list[SkippedItem], limits: Limits) -> Dataset:
    rows = []
    for f, cls, split in entries:
        rel = f.relative_to(root).as_posix()
        if f.suffix.lower() not in TEXT_FILE_SUFFIXES:
            skipped.append(SkippedItem(rel, f"not a text file (.txt) ({f.suffix.lower() or 'no extension'})"))
            continue
        text = read_text_bytes(f.read_bytes()).strip()[: limits.max_text_chars]
        if not text:
            skipped.append(SkippedItem(rel, "empty text"))
            continue
        rows.append((text, cls, split, rel, content_hash(text.encode("utf-8"))))
    if not rows:
        raise DataError(f"{name} contains no usable text files; put .txt files in one folder per class.")
    return _make_dataset(name, "text", rows, skipped)


def _make_dataset(name: str, modality: str, rows: list[tuple], skipped: list[SkippedItem]) -> Dataset:
    keep, tiny_skipped, notes = drop_tiny_classes([r[1] for r in rows], [r[3] for r in rows])
    rows = [r for r, k in zip(rows, keep) if k]
    skipped = skipped + tiny_skipped
    classes = sorted({r[1] for r in rows})
    if not classes:
        raise DataError(f"{name}: no class has at least 2 examples ({notes[0]}). Put several files in each "
                        "class folder.")
    if len(classes) < 2:
        raise DataError(f"{name} has only one class ({classes[0]!r}); a classifier needs at least 2 classes: "
                        "put each class in its own folder."
                        + (f" ({notes[0][0].upper()}{notes[0][1:]}.)" if notes else ""))
    index = {c: i for i, c in enumerate(classes)}
    given = [r[2] for r in rows]
    return Dataset(name=name, modality=modality,  # type: ignore[arg-type]
                   items=[r[0] for r in rows], labels=[index[r[1]] for r in rows], classes=classes,
                   item_names=[r[3] for r in rows], item_hashes=[r[4] for r in rows],
                   given_split=given if any(s is not None for s in given) else None, skipped=skipped, notes=notes)


def _skip_hint(skipped: list[SkippedItem]) -> str:
    if not skipped:
        return ""
    first = skipped[0]
    return f" {len(skipped)} file(s) were skipped, e.g. {first.name}: {first.reason}."
