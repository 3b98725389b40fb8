"""The command line's options. Each sub-command names its handler as "module:function"; `tlcore.cli.main`
imports only that module, so `runs list` or `check` never pays for importing torch and the model libraries
(the same lazy table pip uses for its commands)."""

from __future__ import annotations

import argparse
from typing import NoReturn

from tlcore import __version__
from tlcore.cli.output import CliError
from tlcore.core import strategies


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see `python -m tlcore {self.prog.split()[-1]} --help`)"
                       if " " in self.prog else f"{message} (see `python -m tlcore --help`)")


def _train_options(p: argparse.ArgumentParser, *, per_class: bool = True) -> None:
    p.add_argument("--data", required=True, help="built-in id, .zip, folder, .csv, .tsv or .jsonl")
    p.add_argument("--model", required=True, help="model id (see `models`), or timm:<name> / hf:<id>")
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
    p.add_argument("--temperature", type=float, default=4.0, help="distill: how much the teacher's answers are "
                   "softened (1-20)")
    p.add_argument("--alpha", type=float, default=0.7, help="distill: weight of the teacher's answers against the "
                   "labels (0-1)")
    p.add_argument("--text-column")
    p.add_argument("--label-column")
    p.add_argument("--freeze-through", help="finetune_top: keep the model frozen through this stage, as "
                   "`rank --layers MODEL` names it (default: the first two thirds of its weights)")
    p.add_argument("--name", default="", help="a name for the run(s)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m tlcore", description="Transfer Lab: scratch vs transfer learning.")
    parser.add_argument("--version", action="version", version=f"Transfer Lab {__version__}")
    parser.add_argument("--data-dir", help="where runs and caches live (default: $TLAB_DATA_DIR)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _data_commands(sub)
    _training_commands(sub)
    _study_command(sub)
    _runs_commands(sub)
    return parser


def _command(sub: argparse._SubParsersAction, name: str, handler: str, helptext: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=helptext)
    p.set_defaults(handler=handler)
    return p


def _json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _data_commands(sub: argparse._SubParsersAction) -> None:
    _json_option(_command(sub, "datasets", "tlcore.cli.data:datasets", "list built-in datasets"))
    p = _command(sub, "models", "tlcore.cli.models:models", "list models")
    p.add_argument("--search", help="also list timm / Hugging Face models whose name contains this")
    p.add_argument("--modality", choices=["image", "text"], default="image",
                   help="with --search: timm image models (default) or Hugging Face text encoders")
    _json_option(p)
    p = _command(sub, "rank", "tlcore.cli.rank:rank",
                 "rank the available pretrained models for a dataset, without training (LogME + k-NN)")
    p.add_argument("--data", required=True, help="built-in id, .zip, folder, .csv, .tsv or .jsonl")
    p.add_argument("--models", help="comma-separated model ids (default: every available model of the data's kind)")
    p.add_argument("--seed", type=int, help="seed of the split whose training part is scored (default 0)")
    p.add_argument("--per-class", type=int, help="score at most this many training examples per class")
    p.add_argument("--test-fraction", type=float, help="share held out for testing, never scored (default 0.2)")
    p.add_argument("--val-fraction", type=float, help="share held out for validation, never scored (default 0.15)")
    p.add_argument("--layers", metavar="MODEL",
                   help="instead: how useful each depth of MODEL is for the data, how many stages to freeze, and how "
                        "far the data is from what MODEL was pretrained on")
    p.add_argument("--text-column")
    p.add_argument("--label-column")
    _json_option(p)
    p = _command(sub, "check", "tlcore.cli.data:check",
                 "load a dataset and print its checks (classes, split, warnings, skipped files)")
    p.add_argument("--data", required=True, help="built-in id, .zip, folder, .csv, .tsv or .jsonl")
    p.add_argument("--text-column")
    p.add_argument("--label-column")
    _json_option(p)


def _training_commands(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "train", "tlcore.cli.train:train", "train one model with one strategy")
    _train_options(p)
    p.add_argument("--strategy", choices=list(strategies.IDS),
                   help="default: a linear probe, or a fine-tune for texts with 100+ training examples per class")
    p = _command(sub, "compare", "tlcore.cli.train:compare", "compare strategies on one split per seed")
    _train_options(p)
    p.add_argument("--strategies", default="scratch,linear_probe,finetune", help="comma-separated")
    p.add_argument("--seeds", type=int, default=1, help="repeat with this many seeds")


def _study_command(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "study", "tlcore.cli.study:study", "data-efficiency study: accuracy against examples per class")
    _train_options(p, per_class=False)
    p.add_argument("--strategies", default="scratch,linear_probe,knn", help="comma-separated")
    p.add_argument("--per-class", default="1,2,5,10,25,all",
                   help="comma-separated training examples per class; 'all' = every training example")
    p.add_argument("--seeds", type=int, default=3, help="repeat every size with this many seeds")
    p.add_argument("--max-steps", type=int, help="cap on optimisation steps per run (default: 150 on a CPU, "
                   "none on a GPU; 0: no cap)")
    p.add_argument("--report", help="write the self-contained HTML report to this file")


def _runs_commands(sub: argparse._SubParsersAction) -> None:
    runs = _command(sub, "runs", "tlcore.cli.runs:runs", "list, show, export or push runs")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True, parser_class=_Parser)
    p = runs_sub.add_parser("list")
    _json_option(p)
    p.add_argument("--limit", type=int, default=30)
    p = runs_sub.add_parser("show")
    p.add_argument("run_id")
    _json_option(p)
    p = runs_sub.add_parser("export")
    p.add_argument("run_id")
    p.add_argument("--format", default="safetensors", choices=["safetensors", "onnx", "huggingface", "timm"],
                   help="huggingface / timm write a folder that transformers / timm load")
    p.add_argument("--out", required=True)
    _json_option(p)
    p = runs_sub.add_parser("push", help="push a run to the Hugging Face Hub (needs a token)")
    p.add_argument("run_id")
    p.add_argument("--repo", required=True, help="Hub repo id, e.g. your-name/model-name (created private)")
    p.add_argument("--out", required=True, help="folder to build what is pushed in")
    p.add_argument("--dry-run", action="store_true", help="only build the folder that would be pushed")
    _json_option(p)
    p = _command(sub, "predict", "tlcore.cli.runs:predict", "predict with a finished run")
    p.add_argument("--run", required=True, dest="run_id")
    p.add_argument("inputs", nargs="+", help="image files, or texts")
    p.add_argument("--top", type=int, default=5)
    _json_option(p)
