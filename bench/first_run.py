"""`python -m bench.first_run`: how long after the click the first run of a fresh server begins training, with a
worker started at the click (as before) and with the app's standby worker (TLAB_STANDBY_WORKER), side by side.

Each side gets a fresh data directory and a dispatcher pumping in a thread, as the app's server has. The
standby side first waits until its worker says it is ready (the server has been up for a while: that is the
case the standby is for). Then one run is queued — the demo's linear probe of MobileNetV2 on tux-photos —
and the clock runs from queueing until the store says the run is training, and until it is finished.

    python -m bench.first_run            # a table
    python -m bench.first_run --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("TLAB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def first_run(standby: bool, timeout_s: float = 900) -> dict[str, Any]:
    from tlcore.core.config import TrainConfig
    from tlcore.runs import Dispatcher, RunStore
    from tlcore.runs.paths import log_path
    from tlcore.runs.store import EVERYONE

    os.environ["TLAB_DATA_DIR"] = tempfile.mkdtemp(prefix="tlab-first-run-")
    store = RunStore()
    dispatcher = Dispatcher(store, max_workers=1, standby=standby).start(interval_s=0.2)
    try:
        deadline = time.monotonic() + timeout_s
        while standby and "ready after" not in (log_path("standby").read_text() if log_path("standby").exists()
                                                else ""):
            if time.monotonic() > deadline:
                raise TimeoutError("the standby worker did not get ready")
            time.sleep(0.2)
        config = TrainConfig(data="tux-photos", model="mobilenet_v2", strategy="linear_probe")
        clicked = time.monotonic()
        run_id = store.create_run(config.to_dict(), name="first run")
        training = None
        while (record := store.get(run_id, owner=EVERYONE)) and not record.is_final:
            if training is None and record.status == "running":
                training = time.monotonic() - clicked
            if time.monotonic() > deadline:
                raise TimeoutError("the run did not finish")
            time.sleep(0.05)
        finished = time.monotonic() - clicked
        return {"standby": standby, "status": record.status, "training_after_s": round(training or finished, 2),
                "finished_after_s": round(finished, 2)}
    finally:
        dispatcher.stop()  # no more pumping, so no new standby worker after this
        dispatcher.terminate_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_run", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [first_run(standby=False), first_run(standby=True)]
    ratio = rows[0]["training_after_s"] / max(rows[1]["training_after_s"], 1e-3)
    if args.json:
        print(json.dumps({"cases": rows, "training_starts_sooner_x": round(ratio, 1)}))
    else:
        for r in rows:
            print(" | ".join(f"{k}={v}" for k, v in r.items()))
        print(f"with the standby worker, training begins {ratio:.1f}x sooner after the click")
    return 0 if all(r["status"] == "succeeded" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
