"""The Predict page as a visitor opens it: it lists the finished models and offers their downloads without loading
any model or importing torch (that waits for an example to answer), it builds the weights' zip only when it is
downloaded, and a nearest-neighbour baseline among the models is explained, not an error. Opened in a fresh
process, as pytest's own has torch loaded already."""

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
seen = {{"opened": {{"exception": [str(e.value) for e in at.exception], "torch": "torch" in sys.modules,
                    "chosen": list(at.multiselect[0].value)}}}}
for run_id in {run_ids!r}:
    for model in [s for s in at.selectbox if s.label == "Model"]:  # none when the page stopped with an error
        model.set_value(run_id).run()
    seen[run_id] = {{"exception": [str(e.value) for e in at.exception], "torch": "torch" in sys.modules,
                    "downloads": [b.label for b in at.get("download_button")],
                    "captions": [c.value for c in at.caption]}}
print("SEEN " + json.dumps(seen))
"""


def test_predict_opens_without_torch_and_explains_the_baseline_that_has_no_model(data_dir, tiny_image_folder):
    store = RunStore()
    source = upload(store, WS_A, tiny_image_folder)
    runs = {}
    for strategy in ("linear_probe", "knn"):
        config = tiny_config(source, strategy=strategy, epochs=1)
        runs[strategy] = store.create_run(config.to_dict(), group_id="cmp-predict", owner=WS_A,
                                          name=f"tiny: {strategy} (seed 0)")
        assert store.claim(runs[strategy]) and execute(store, runs[strategy]) == "succeeded"

    env = dict(os.environ, TLAB_DATA_DIR=str(data_dir), TLAB_STANDBY_WORKER="0", PYTHONPATH=str(REPO))
    probe = PROBE.format(app=str(APP), ws=WS_A, run_ids=[runs["linear_probe"], runs["knn"]])
    proc = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("SEEN ")]
    seen = json.loads(line.removeprefix("SEEN "))
    opened, trained, baseline = seen["opened"], seen[runs["linear_probe"]], seen[runs["knn"]]
    assert opened["exception"] == [] and set(opened["chosen"]) == set(runs.values())
    assert not opened["torch"], "opening Predict imported torch (it loaded a model before anyone asked)"
    assert trained["exception"] == [] and trained["downloads"] == ["Weights + labels + config (.zip)"]
    assert baseline["exception"] == [] and baseline["downloads"] == []
    assert any("no trained model to download" in c for c in baseline["captions"])
    assert not trained["torch"] and not baseline["torch"]

    # what the deferred download hands over: the run's own files, byte for byte
    with zipfile.ZipFile(io.BytesIO(weights_zip(runs["linear_probe"]))) as zf:
        folder = run_dir(runs["linear_probe"])
        assert sorted(zf.namelist()) == sorted(f"{runs['linear_probe']}/{name}"
                                               for name in (WEIGHTS, "labels.json", "config.json"))
        for name in (WEIGHTS, "labels.json", "config.json"):
            assert zf.read(f"{runs['linear_probe']}/{name}") == (folder / name).read_bytes()
