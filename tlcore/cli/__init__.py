"""`python -m tlcore` (or `tlab`): the engine from the command line.

Results go to stdout (a table, or one JSON object with --json); progress bars go to stderr. Bad input
exits with status 2 and one plain line, never a traceback.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

from tlcore.cli.output import EXIT_BAD_INPUT, one_line
from tlcore.cli.parser import build_parser
from tlcore.core.errors import UserError


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
        module, function = args.handler.split(":")
        return getattr(importlib.import_module(module), function)(args) or 0
    except UserError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, sqlite3.Error) as exc:  # the disk or the store, not the input: exit 1, still no traceback
        print(f"error: {one_line(f'{type(exc).__name__}: {exc}')}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line to report, the details in the log level DEBUG
        logging.getLogger("tlcore").debug("unexpected failure", exc_info=True)
        print(f"error: unexpected failure ({type(exc).__name__}: {one_line(str(exc))}); please report it",
              file=sys.stderr)
        return 1


def run() -> None:
    """The `tlab` console script."""
    interrupt_on_sigterm()
    code = main()
    # Leave the objects we made out of the interpreter's last garbage collection: with scikit-learn, SciPy and
    # pandas loaded it took 0.35-0.4 s of every command's exit here, after its answer was printed (measured for
    # issue 14). Exit handlers and stream flushing still run; the process's memory goes back to the system anyway.
    gc.freeze()
    sys.exit(code)
