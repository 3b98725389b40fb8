"""`python -m tlcore`: the engine from the command line.

Results go to stdout (a table, or one JSON object with --json); progress bars go to stderr. Bad input
exits with status 2 and one plain line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any, Callable, NoReturn

from tlcore.config import STRATEGIES, TrainConfig
from tlcore.errors import UserError

EXIT_BAD_INPUT = 2


class CliError(UserError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see `python -m tlcore {self.prog.split()[-1]} --help`)"
                       if " " in self.prog else f"{message} (see `python -m tlcore --help`)")


def _train_options(p: argparse.ArgumentParser, *, per_class: bool = True) -> None:
    p.add_argument("--data", required=True, help="built-in id, .zip, folder, .csv, .tsv or .jsonl")
    p.add_argument("--model", required=True, help="model id (see `models`)")
    p.add_argument("--epochs", type=int)
    if per_class:
        p.add_argument("--per-class", type=int, help="training examples per class (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--image-size", type=int)
    p.add_argument("--max-length", type=int, help="tokens kept per text")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="learning rate of the new last layer")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--patience", type=int, default=5, help="early-stopping patience in epochs (0: off)")
    p.add_argument("--text-column")
    p.add_argument("--label-column")
    p.add_argument("--name", default="", help="a name for the run(s)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m tlcore", description="Transfer Lab: scratch vs transfer learning.")
    parser.add_argument("--data-dir", help="where runs and caches live (default: $TLAB_DATA_DIR)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, helptext in (("datasets", "list built-in datasets"), ("models", "list models")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--json", action="store_true")
    p = sub.add_parser("check", help="load a dataset and print its checks (classes, split, warnings, skipped files)")
    p.add_argument("--data", required=True, help="built-in id, .zip, folder, .csv, .tsv or .jsonl")
    p.add_argument("--text-column")
    p.add_argument("--label-column")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p = sub.add_parser("train", help="train one model with one strategy")
    _train_options(p)
    p.add_argument("--strategy", choices=list(STRATEGIES),
                   help="default: a linear probe, or a fine-tune for texts with 100+ training examples per class")
    p = sub.add_parser("compare", help="compare strategies on one split per seed")
    _train_options(p)
    p.add_argument("--strategies", default="scratch,linear_probe,finetune", help="comma-separated")
    p.add_argument("--seeds", type=int, default=1, help="repeat with this many seeds")
    p = sub.add_parser("study", help="data-efficiency study: accuracy against examples per class")
    _train_options(p, per_class=False)
    p.add_argument("--strategies", default="scratch,linear_probe,knn", help="comma-separated")
    p.add_argument("--per-class", default="1,2,5,10,25,all",
                   help="comma-separated training examples per class; 'all' = every training example")
    p.add_argument("--seeds", type=int, default=3, help="repeat every size with this many seeds")
    p.add_argument("--max-steps", type=int, help="cap on optimisation steps per run (default: 150 on a CPU, "
                   "none on a GPU; 0: no cap)")
    p.add_argument("--report", help="write the self-contained HTML report to this file")
    runs = sub.add_parser("runs", help="list, show or export runs")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True, parser_class=_Parser)
    p = runs_sub.add_parser("list")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=30)
    p = runs_sub.add_parser("show")
    p.add_argument("run_id")
    p.add_argument("--json", action="store_true")
    p = runs_sub.add_parser("export")
    p.add_argument("run_id")
    p.add_argument("--format", default="safetensors", choices=["safetensors", "onnx"])
    p.add_argument("--out", required=True)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("predict", help="predict with a finished run")
    p.add_argument("--run", required=True, dest="run_id")
    p.add_argument("inputs", nargs="+", help="image files, or texts")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true")
    return parser


def config_from_args(args: argparse.Namespace, strategy: str) -> TrainConfig:
    per_class = getattr(args, "per_class", None)
    return TrainConfig(data=args.data, model=args.model, strategy=strategy, seed=args.seed,
                       per_class=per_class if isinstance(per_class, int) else None, epochs=args.epochs,
                       batch_size=args.batch_size, lr=args.lr, max_steps=getattr(args, "max_steps", None),
                       image_size=args.image_size, max_length=args.max_length, device=args.device,
                       label_smoothing=args.label_smoothing, patience=args.patience,
                       text_column=args.text_column, label_column=args.label_column)


def interrupt_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C so a killed CLI cancels its own runs instead of leaving them queued."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.data_dir:
            os.environ["TLAB_DATA_DIR"] = str(Path(args.data_dir).expanduser().resolve())
        from tlcore import commands
        handler: Callable[[argparse.Namespace], Any] = getattr(commands, f"cmd_{args.command}")
        return handler(args) or 0
    except UserError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, sqlite3.Error) as exc:  # the disk or the store, not the input: exit 1, still no traceback
        print(f"error: {_one_line(f'{type(exc).__name__}: {exc}')}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _one_line(text: str) -> str:
    return " ".join(text.split())


def emit(obj: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    from tlcore.jsonutil import json_safe
    print(json.dumps(json_safe(obj), indent=1) if as_json else render(obj))
