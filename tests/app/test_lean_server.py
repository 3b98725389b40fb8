"""The Streamlit server renders Home, queues a comparison and shows the Data, Models, Runs, Compare and Study pages
without torch, torchvision, timm or transformers: on a shared 2-core CPU importing them takes about 7 s, and the
server never trains (its workers do). scikit-learn does come in (~1.5 s, once per server): Home prices the demo on
its split, which is scikit-learn's stratified split. Checked in a fresh process, as pytest's own has torch loaded
already."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.paths import APP, REPO

TRAINING = ("torch", "torchvision", "timm", "transformers")
# Home as a visitor sees it, then its demo button: the comparison is checked and queued, and Train shows its runs;
# then the data form, the model list, the run list, the demo's Compare page (its "try the models" and "why
# transfer won" parts load models only when asked) and the Study form. The executor is stopped first so that no
# worker starts training the queued runs.
PROBE = """
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=120).run()
assert not at.exception and at.title[0].value == "Transfer Lab", at.exception
print("HOME", ",".join(m for m in {training!r} if m in sys.modules) or "-")
from components import engine
engine.executor().stop()
[demo] = [b for b in at.button if b.label == "Run the demo"]
demo.click().run()
assert not at.exception and at.title[0].value == "Train", at.exception
assert len(engine.store().queued()) == 6
for page in ("data", "models", "runs", "compare", "study"):
    at.switch_page(f"app_pages/{{page}}.py").run()
    assert not at.exception, (page, at.exception)
print("QUEUED", ",".join(m for m in {training!r} if m in sys.modules) or "-")
"""


def test_home_queueing_the_demo_and_the_lists_import_no_training_library(tmp_path):
    env = dict(os.environ, TLAB_DATA_DIR=str(tmp_path), TLAB_STANDBY_WORKER="0", TLAB_OFFLINE="1",
               PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", PROBE.format(app=str(APP), training=TRAINING)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if line.startswith(("HOME ", "QUEUED ")))
    assert said["HOME"] == "-", f"the server imported {said['HOME']} to render Home"
    assert said["QUEUED"] == "-", (f"the server imported {said['QUEUED']} to queue the demo, list data, models and "
                                   "runs, or show the comparison")
