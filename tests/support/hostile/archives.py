"""Hostile archives and folders: zip slip, symlinks, bombs, nesting, broken or odd zips, odd names, odd classes."""

from __future__ import annotations

import io
import tarfile
import zipfile

from .build import (
    GOOD,
    accept,
    as_file,
    as_folder,
    as_folder_upload,
    as_zip,
    escape_to,
    good_images,
    patch_headers,
    png,
    reject,
    symlink,
    zip_bytes,
)

MB = 1024 * 1024


def _tar_gz_with_slip() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in {**good_images(GOOD), "../../evil.png": png(7)}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _with(extra: dict[str, bytes]) -> dict[str, bytes]:
    return {**good_images(GOOD), **extra}


def _control_names() -> list[tuple[str, bytes]]:
    return [*good_images(GOOD).items(), ("cats/bell\x07.png", png(50)), ("dogs/new\nline.png", png(51)),
            ("dogs/esc\x1b[31mred.png", png(52))]


def _duplicate_entry() -> list[tuple[str, bytes]]:
    return [*good_images(GOOD).items(), ("cats/0.png", png(60))]


CASES = [
    # zip slip: nothing may land in the sentinel folder, and the whole upload is refused
    reject("zip-slip-dotdot", as_zip("slip.zip", lambda s: _with({escape_to(s, "evil.png"): png(9)})),
           "outside the archive"),
    reject("zip-slip-dotdot-inside-class", as_zip("slip.zip", _with({"cats/../../evil.png": png(9)})),
           "outside the archive"),
    reject("zip-slip-backslash", as_zip("slip.zip", _with({"..\\..\\evil.png": png(9)})), "outside the archive"),
    reject("zip-absolute-path", as_zip("abs.zip", lambda s: _with({str(s / "evil.png"): png(9)})), "absolute path"),
    reject("zip-drive-letter", as_zip("drive.zip", _with({"C:\\Windows\\evil.png": png(9)})), "drive letter"),
    reject("zip-symlink-entry", as_zip("link.zip", [*good_images(GOOD).items(),
                                                    (symlink("cats/passwd.png", "/etc/passwd"), b"/etc/passwd")]),
           "symbolic link"),
    reject("zip-symlink-then-write-through", as_zip("link.zip", lambda s: [
        *good_images(GOOD).items(), (symlink("cats/out", str(s)), str(s).encode()), ("cats/out/evil.png", png(9))]),
           "symbolic link"),
    reject("folder-upload-dotdot", as_folder_upload(lambda s: [*(("set/" + k, v) for k, v in good_images(GOOD).items()),
                                                               ("set/../../evil.png", png(9))]),
           "outside"),
    reject("folder-upload-absolute", as_folder_upload(lambda s: [*(("set/" + k, v) for k, v in good_images(GOOD).items()),
                                                                 (str(s / "evil.png"), png(9))]),
           "absolute path"),
    reject("tar-gz-with-slip", as_file("data.tar.gz", _tar_gz_with_slip()), "only .zip", "re-pack"),
    # zip bombs: refused before (or while) inflating, never fully inflated
    reject("zip-bomb-one-entry", as_zip("bomb.zip", _with({"dogs/zeros.png": b"\0" * (3 * MB)})), "zip bomb"),
    reject("zip-bomb-spread-over-entries",
           as_zip("bomb.zip", _with({f"dogs/z{i}.png": b"\0" * (MB - 4096) for i in range(30)})), "zip bomb"),
    reject("zip-bomb-lying-header", as_zip("lie.zip", {"cats/a.png": b"\0" * (3 * MB), "dogs/b.png": png(1)},
                                           patch=lambda b: patch_headers(b, size=2000)),
           "not a readable zip"),
    reject("zip-total-size-over-limit", as_zip("big.zip", {f"{c}/{i}.png": png(i, (200, 200), "BMP")
                                                           for c in ("cats", "dogs") for i in range(3)},
                                               zipfile.ZIP_STORED),
           "unpack", "limit", TLAB_MAX_UNCOMPRESSED_BYTES="500000"),
    reject("zip-too-many-files", as_zip("many.zip", good_images({"cats": 30, "dogs": 30})), "60 files",
           "limit is 50", TLAB_MAX_FILES="50"),
    reject("zip-nested-only", as_zip("outer.zip", {"inner.zip": zip_bytes(good_images(GOOD)),
                                                   "more.tar.gz": _tar_gz_with_slip()}),
           "archives inside", "unpack"),
    accept("zip-nested-bomb-with-images", as_zip("nested.zip", _with({
        "cats/bomb.zip": zip_bytes({"zeros.png": b"\0" * (3 * MB)}), "dogs/x.tar.gz": _tar_gz_with_slip()})),
           "archive inside", classes=("cats", "dogs")),
    # broken, empty or unreadable zips
    reject("zip-empty", as_zip("empty.zip", {}), "empty"),
    reject("zip-only-folders", as_zip("dirs.zip", {"cats/": b"", "dogs/": b""}), "empty"),
    reject("zip-zero-bytes", as_file("zero.zip", b""), "empty"),
    reject("zip-not-a-zip", as_file("fake.zip", b"this is not a zip file at all\n" * 10), "not a readable zip"),
    reject("zip-truncated", as_file("cut.zip", zip_bytes(good_images(GOOD))[:900]), "not a readable zip"),
    reject("zip-encrypted", as_zip("secret.zip", good_images(GOOD), patch=lambda b: patch_headers(b, flags=1)),
           "password"),
    reject("zip-unknown-compression", as_zip("odd.zip", good_images(GOOD), patch=lambda b: patch_headers(b, method=99)),
           "compression"),
    reject("zip-file-and-folder-same-name", as_zip("clash.zip", {"cats": b"x", **good_images(GOOD)}),
           "both as a file and as a folder"),
    reject("unsupported-rar", as_file("photos.rar", b"Rar!\x1a\x07\x00" + b"\0" * 64), "only .zip"),
    # odd names: kept when harmless, skipped with a reason when not
    accept("zip-duplicate-entry", as_zip("dup.zip", _duplicate_entry()), "duplicate path", classes=("cats", "dogs")),
    accept("zip-very-long-name", as_zip("long.zip", _with({"cats/" + "a" * 300 + ".png": png(70)})), "too long",
           classes=("cats", "dogs")),
    accept("zip-control-characters", as_zip("ctl.zip", _control_names()), "control characters",
           classes=("cats", "dogs")),
    accept("zip-unicode-names", as_zip("unicode.zip", {"猫/été 🐱.png": png(1), "猫/2.png": png(2), "собака/1.png": png(3),
                                                       "собака/ü.png": png(4), "café/1.png": png(5), "café/2.png": png(6)}),
           classes=("café", "собака", "猫")),
    accept("zip-os-junk", as_zip("mac.zip", _with({"__MACOSX/cats/._0.png": b"\0\5\26\7", ".DS_Store": b"\0\0\0\1Bud1",
                                                   "cats/Thumbs.db": b"\xd0\xcf\x11\xe0"})),
           classes=("cats", "dogs")),
    accept("folder-unicode-names", as_folder({"猫/été 🐱.png": png(1), "猫/2.png": png(2), "собака/1.png": png(3),
                                              "собака/ü.png": png(4)}), classes=("собака", "猫")),
    accept("folder-with-links", as_folder(good_images(GOOD), links={"cats/secret.png": "precious.txt",
                                                                    "birds": "."}),
           "skipped", classes=("cats", "dogs")),
    # class structure
    reject("zip-flat-images", as_zip("flat.zip", {f"{i}.png": png(i) for i in range(6)}), "one folder per class"),
    reject("zip-one-class", as_zip("one.zip", good_images({"cats": 4})), "only one class"),
    accept("zip-class-with-one-item", as_zip("tiny.zip", good_images({**GOOD, "birds": 1})), "birds", "only 1",
           classes=("cats", "dogs")),
    reject("zip-thousands-of-classes", as_zip("classes.zip", good_images({f"c{i:04d}": 2 for i in range(1500)})),
           "1,500 classes", "limit"),
    accept("zip-duplicates-across-classes", as_zip("dups.zip", _with({"dogs/copy.png": good_images(GOOD)["cats/0.png"]})),
           "different labels", classes=("cats", "dogs")),
]
