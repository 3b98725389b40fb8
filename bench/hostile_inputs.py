"""`python -m bench.hostile_inputs`: what the web server pays to take a hostile upload, measured.

Each input goes through what the Data page does with an upload (store it in the dataset library, unpacking a
zip; read it as the server does — image headers only —; check it can be compared), in a fresh process, so the
peak memory is that of the check alone plus the interpreter. Prints one line per input (or --json).

    python -m bench.hostile_inputs            # the 2 MB wide JSONL, the deep JSONL, 7,000 40-megapixel PNGs
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.hostile.bombs import deep_jsonl, wide_jsonl
from tests.support.hostile.build import png_header_bomb, zip_bytes

SIDE_40_MP = 6324  # 6324² = 39.99 megapixels: just under the one-image limit, so only the total can refuse them


def inputs() -> dict[str, tuple[str, bytes]]:
    pngs = {f"{'cats' if i % 2 else 'dogs'}/{i}.png": png_header_bomb(SIDE_40_MP, SIDE_40_MP) for i in range(7000)}
    return {"wide JSONL (2 MB, one new key per line)": ("wide.jsonl", wide_jsonl(2_000_000)),
            "deep JSONL (a value nested 900 deep)": ("deep.jsonl", deep_jsonl(900)),
            "zip of 7,000 PNGs of 40 megapixels": ("pixels.zip", zip_bytes(pngs))}


def check_as_the_server_does(path: Path) -> dict:
    """In this process: upload, load, check; the outcome and what it cost."""
    import sklearn.model_selection  # noqa: F401  (a running server has it loaded already: not part of the check)

    from tlcore.core.errors import UserError
    from tlcore.data import library, load_source, make_split
    from tlcore.data.report import refuse_unusable

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    try:
        stored = library.store_file(path.name, path.read_bytes())
        ds = load_source(stored.ref, name=path.name)
        refuse_unusable(ds, make_split(ds))
        outcome = f"accepted ({len(ds)} items, {len(ds.skipped)} left out)"
    except UserError as exc:
        outcome = f"refused: {exc}"
    return {"seconds": round(time.perf_counter() - started, 3), "outcome": outcome, "baseline_mb": round(before),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def measure(path: Path) -> dict:
    """`check_as_the_server_does` in a fresh interpreter (its own data directory)."""
    env = dict(os.environ, TLAB_DATA_DIR=str(path.parent / "data"), TLAB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-m", "bench.hostile_inputs", "--one", str(path)], env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile_inputs", description=__doc__.splitlines()[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(check_as_the_server_does(Path(args.one))))
        return 0
    results = {}
    with tempfile.TemporaryDirectory(prefix="tlab-hostile-") as tmp:
        for label, (name, data) in inputs().items():
            folder = Path(tmp) / name.split(".")[0]
            folder.mkdir()
            (folder / name).write_bytes(data)
            results[label] = dict(measure(folder / name), upload_bytes=len(data))
    for label, r in results.items():
        if not args.json:
            print(f"{label:42s} {r['upload_bytes'] / 1e6:5.2f} MB upload  {r['seconds']:6.2f} s  peak "
                  f"{r['peak_mb']:4d} MB (interpreter {r['baseline_mb']} MB)  {r['outcome'][:90]}")
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
