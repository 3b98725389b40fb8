"""A worker training an image model imports no text libraries: transformers alone costs a worker's first run
seconds on two CPU cores (`python -X importtime -m tlcore.runs.worker RUN_ID` shows what a run imports)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.paths import REPO
from tests.support.worker import tiny_config
from tlcore.runs.paths import read_json
from tlcore.runs.store import EVERYONE, RunStore

PROBE = """
import sys
from tlcore.runs.execute import execute
from tlcore.runs.store import RunStore
status = execute(RunStore(), sys.argv[1])
print("STATUS", status, "TEXT", ",".join(m for m in ("transformers", "peft", "tokenizers") if m in sys.modules) or "-")
"""


def test_an_image_run_imports_no_text_library_and_still_records_their_versions(tmp_path, monkeypatch,
                                                                               tiny_image_folder):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    store = RunStore()
    run_id = store.create_run(tiny_config(tiny_image_folder).to_dict())
    assert store.claim(run_id, max_active=1)
    proc = subprocess.run([sys.executable, "-c", PROBE, run_id], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and "STATUS" in proc.stdout, proc.stderr[-3000:]
    _, status, _, text = proc.stdout.strip().splitlines()[-1].split()
    assert status == "succeeded", proc.stderr[-3000:]
    assert text == "-", f"an image linear probe imported {text}"
    record = store.get(run_id, owner=EVERYONE)
    assert record.status == "succeeded"
    environment = read_json(run_id, "config.json")["environment"]
    import transformers  # the versions in the run's record are the installed ones, read without importing
    assert environment["transformers"] == transformers.__version__
