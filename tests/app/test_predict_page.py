"""The Predict page as a visitor opens it: it lists the trained models and offers their downloads without loading
any model or importing torch (that waits for an example to answer), builds the weights' zip only when it is
downloaded, and leaves out a nearest-neighbour baseline, which has no model, saying why (it used to fail on one).
Opened in a fresh process, as pytest's own has torch loaded already."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

from tests.support.pages import WS_A, upload
from tests.support.paths import APP, REPO
from tests.support.worker import tiny_config
from tlcore.runs.execute import execute
from tlcore.runs.paths import WEIGHTS, run_dir, weights_zip
from tlcore.runs.store import RunStore

PROBE = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=120)
at.query_params["ws"] = {ws!r}
at.run()
at.switch_page("app_pages/predict.py").run()
models = at.multiselect[0] if len(at.multiselect) else None  # none when the page stopped with an error
seen = {{"exception": [str(e.value) for e in at.exception], "torch": "torch" in sys.modules,
         "options": list(models.options) if models else [], "chosen": list(models.value) if models else [],
         "downloads": [(b.proto.label, b.proto.HasField("deferred_file_id"), b.proto.url)
                       for b in at.get("download_button")],
         "captions": [c.value for c in at.caption]}}
print("SEEN " + json.dumps(seen))
"""


def test_predict_opens_without_torch_and_leaves_out_the_baseline_that_has_no_model(data_dir, tiny_image_folder):
    store = RunStore()
    source = upload(store, WS_A, tiny_image_folder)
    runs = {}
    for strategy in ("linear_probe", "knn"):
        config = tiny_config(source, strategy=strategy, epochs=1)
        runs[strategy] = store.create_run(config.to_dict(), group_id="cmp-predict", owner=WS_A,
                                          name=f"tiny: {strategy} (seed 0)")
        assert store.claim(runs[strategy]) and execute(store, runs[strategy]) == "succeeded"

    env = dict(os.environ, TLAB_DATA_DIR=str(data_dir), TLAB_STANDBY_WORKER="0", PYTHONPATH=str(REPO))
    probe = PROBE.format(app=str(APP), ws=WS_A)
    proc = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("SEEN ")]
    seen = json.loads(line.removeprefix("SEEN "))
    assert seen["exception"] == []
    assert not seen["torch"], "opening Predict imported torch (it loaded a model before anyone asked)"
    assert len(seen["options"]) == 1 and seen["chosen"] == [runs["linear_probe"]]  # no baseline to choose
    assert any("nearest-neighbour baseline is not listed" in c for c in seen["captions"])
    # the zip is made when the button is clicked (deferred), not on every rerun: no file is handed over up front
    assert seen["downloads"] == [["Weights + labels + config (.zip)", True, ""]]

    # what the deferred download hands over: the run's own files, byte for byte
    with zipfile.ZipFile(io.BytesIO(weights_zip(runs["linear_probe"]))) as zf:
        folder = run_dir(runs["linear_probe"])
        assert sorted(zf.namelist()) == sorted(f"{runs['linear_probe']}/{name}"
                                               for name in (WEIGHTS, "labels.json", "config.json"))
        for name in (WEIGHTS, "labels.json", "config.json"):
            assert zf.read(f"{runs['linear_probe']}/{name}") == (folder / name).read_bytes()
