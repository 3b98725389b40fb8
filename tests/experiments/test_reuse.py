"""A comparison with exactly the same settings on exactly the same data is shown again, not trained again."""

from __future__ import annotations

from tlcore.core.config import TrainConfig
from tlcore.experiments import submit
from tlcore.runs.store import RunStore

BASE = TrainConfig(data="digits", model="mobilenet_v2", per_class=5)
STRATEGIES = ["scratch", "linear_probe"]


def test_the_same_comparison_is_found_until_settings_data_or_a_result_differ(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    store = RunStore()
    group, run_ids, prep = submit.submit_comparison(store, BASE, STRATEGIES, 2, owner="ws-a")
    fingerprint = prep.dataset.fingerprint

    def previous(base=BASE, seeds=2, owner="ws-a", data=fingerprint):
        return submit.previous_comparison(store, base, STRATEGIES, seeds, owner=owner, fingerprint=data)

    assert previous() == group  # still queued: on its way, not queued twice
    for run_id in run_ids:
        assert store.claim(run_id) and store.finish(run_id, "succeeded", result={"data_fingerprint": fingerprint})
    assert previous() == group
    assert previous(data="another fingerprint") is None  # the file changed since
    assert previous(seeds=1) is None and previous(seeds=3) is None  # not the same comparison
    assert previous(base=BASE.with_(epochs=3)) is None and previous(owner="ws-b") is None
    other_group, other_ids, _ = submit.submit_comparison(store, BASE, STRATEGIES, 2, owner="ws-a")
    store.request_cancel(other_ids[0], owner="ws-a")
    assert previous() == group  # the complete earlier one, not the newer one with a cancelled run
