"""Data-efficiency studies: nested subsets on one test set, the statistics against scipy/statsmodels, a real
study run by real workers (with reuse when resumed or extended), the offline HTML report and the page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.support.paths import APP
from tlcore.core.config import TrainConfig
from tlcore.core.errors import ConfigError
from tlcore.core.stats import mean_interval, paired_sign_test
from tlcore.data import load_source
from tlcore.experiments.study import StudySpec, allowed_per_class, parse_per_class
from tlcore.experiments.study.results import data_multiplier, headline, size_verdicts
from tlcore.runs.store import EVERYONE
from tlcore.train import prepare


# -- the grid ----------------------------------------------------------------------------------------------
def test_per_class_parsing_and_the_sizes_the_data_allows():
    assert parse_per_class("10, all,1,5,5") == (1, 5, 10, None)
    with pytest.raises(ConfigError, match="whole numbers"):
        parse_per_class("1,zero")
    kept, notes = allowed_per_class((1, 5, 50, None), np.array([30, 12, 8]))
    assert kept == (1, 5, None) and len(notes) == 1 and "50 per class" in notes[0]
    kept, _ = allowed_per_class((5, 100), np.array([30, 12]))
    assert kept == (5, None)  # 100 equals 'all', so 'all' is studied instead


def test_subsets_nest_and_never_touch_the_test_set():
    ds = load_source("digits")
    spec = StudySpec(TrainConfig(data="digits", model="mobilenet_v2", seed=3), ("scratch",), (1, 2, 5, 10, None), 3)
    preps = {(c.per_class, c.seed): prepare(c.config, dataset=ds) for c in spec.cells()}
    tests = {tuple(p.split.test) for p in preps.values()}
    assert len(tests) == 1, "every cell must be tested on the same held-out items"
    test = set(next(iter(tests)))
    for seed in (3, 4, 5):
        subsets = [set(preps[(k, seed)].train_idx.tolist()) for k in (1, 2, 5, 10, None)]
        for small, large in zip(subsets, subsets[1:]):
            assert small < large
        assert all(not (s & test) for s in subsets)
        assert not (set(preps[(None, seed)].val_idx.tolist()) & test)
        counts = np.bincount(ds.labels[sorted(subsets[2])], minlength=ds.num_classes)
        assert (counts == 5).all()
    # seeds draw different examples at the same size
    assert set(preps[(5, 3)].train_idx.tolist()) != set(preps[(5, 4)].train_idx.tolist())


# -- statistics against scipy / statsmodels --------------------------------------------------------------
def test_interval_matches_scipy_t_interval():
    values = [0.61, 0.72, 0.66, 0.70]
    got = mean_interval(values)
    low, high = stats.t.interval(0.95, df=3, loc=np.mean(values), scale=stats.sem(values))
    assert got.low == pytest.approx(low) and got.high == pytest.approx(high)


def test_one_seed_paired_test_is_mcnemars_exact_test():
    from statsmodels.stats.contingency_tables import mcnemar
    rng = np.random.default_rng(1)
    a = (rng.random(200) < 0.8).astype(int)
    b = np.where(rng.random(200) < 0.3, 1 - a, a)
    table = [[int(((a == 1) & (b == 1)).sum()), int(((a == 1) & (b == 0)).sum())],
             [int(((a == 0) & (b == 1)).sum()), int(((a == 0) & (b == 0)).sum())]]
    got = paired_sign_test(a[None], b[None])
    assert (got.a_better, got.b_better) == (table[0][1], table[1][0])
    assert got.p_value == pytest.approx(mcnemar(table, exact=True).pvalue)


def test_several_seeds_are_compared_per_item():
    a = np.array([[1, 1, 0, 1, 0], [1, 0, 0, 1, 1], [1, 1, 0, 1, 0]])
    b = np.array([[0, 1, 0, 0, 0], [0, 1, 1, 1, 0], [0, 0, 0, 0, 0]])
    got = paired_sign_test(a, b)
    # per item, share right: a = 1, 2/3, 0, 1, 1/3; b = 0, 2/3, 1/3, 1/3, 0 → a ahead on items 0, 3, 4; b on 2
    assert (got.a_better, got.b_better, got.ties) == (3, 1, 1)
    assert got.p_value == pytest.approx(stats.binomtest(3, 4, 0.5).pvalue)


def _summary(rows):
    return pd.DataFrame([{"strategy": s, "label": s, "k_label": k, "per_class": None if k == "all" else int(k),
                          "x": x, "accuracy": m, "low": m - 0.02, "high": m + 0.02, "n": 3} for s, k, x, m in rows])


def test_data_multiplier_interpolates_on_the_log_scale():
    summary = _summary([("scratch", "1", 1, 0.2), ("scratch", "10", 10, 0.5), ("scratch", "100", 100, 0.9),
                        ("linear_probe", "1", 1, 0.6), ("linear_probe", "10", 10, 0.7),
                        ("linear_probe", "100", 100, 0.95)])
    got = data_multiplier(summary)
    # scratch reaches 0.7 halfway (in log) between 10 and 100 per class: 10 ** 1.5
    assert got["at_k"] == "10" and got["scratch_per_class"] == pytest.approx(10 ** 1.5)
    assert got["multiplier"] == pytest.approx(10 ** 0.5)
    assert "about 32 per class" in got["text"]
    never = _summary([("scratch", "10", 10, 0.3), ("scratch", "all", 40, 0.5), ("linear_probe", "10", 10, 0.8),
                      ("linear_probe", "all", 40, 0.9)])
    assert "never gets there" in data_multiplier(never)["text"]
    assert headline(size_verdicts(never)).startswith("Transfer is ahead at every size studied.")
    assert "clearly ahead from 10 per class on" in headline(size_verdicts(never))


# -- a real study --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished_study(tmp_path_factory, tiny_image_folder):
    """One small study trained by real worker processes in its own data directory."""
    from tlcore.experiments.study import submit_study
    from tlcore.experiments.workspaces import new_workspace
    from tlcore.runs import Dispatcher, RunStore
    data_dir = tmp_path_factory.mktemp("study-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLAB_DATA_DIR", str(data_dir))
        store = RunStore()
        owner = new_workspace(store)
        spec = StudySpec(TrainConfig(data=str(tiny_image_folder), model="mobilenet_v2", epochs=2, image_size=64),
                         ("scratch", "linear_probe", "knn"), (2, None), 2)
        submitted = submit_study(store, spec, owner=owner)
        records = Dispatcher(store).wait([c.run_id for c in submitted.cells], timeout_s=600)
        yield data_dir, store, submitted, records, spec, owner


def test_study_runs_every_cell_and_reuses_finished_ones(finished_study):
    from tlcore.experiments.study import submit_study
    from tlcore.experiments.study.results import cells_frame, study_json
    from tlcore.experiments.workspaces import new_workspace
    data_dir, store, submitted, records, spec, owner = finished_study
    assert [r.status for r in records] == ["succeeded"] * 12, [r.error for r in records]
    assert {r.result["split_id"] for r in records} == {records[0].result["split_id"]}
    out = study_json(cells_frame(store.study_runs(submitted.study_id)))
    assert set(out["results"]) == {"scratch", "linear_probe", "knn"}
    cell = out["results"]["linear_probe"]["2"]
    assert set(cell["per_seed"]) == {"0", "1"} and cell["n"] == 2 and cell["low"] <= cell["mean"] <= cell["high"]
    assert out["results"]["knn"]["all"]["trainable_params"] == 0
    assert {t["k_label"] for t in out["paired_tests"]} == {"2", "all"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLAB_DATA_DIR", str(data_dir))
        assert submit_study(store, spec, owner=new_workspace(store)).new_runs == 12  # never reuse another's
        again = submit_study(store, spec, owner=owner)
        assert again.new_runs == 0 and {c.run_id for c in again.cells} == {c.run_id for c in submitted.cells}
        extended = submit_study(store, StudySpec(spec.base, spec.strategies, (1, 2, None), 2), owner=owner)
        assert extended.new_runs == 6  # only the new size is queued
        for record in store.list_runs(statuses=("queued",), owner=EVERYONE):
            store.request_cancel(record.id, owner=EVERYONE)


def test_report_opens_offline_in_chromium(finished_study, tmp_path):
    from tests.support.browser import chromium_or_skip
    from tlcore.experiments.study.report import study_report
    data_dir, store, submitted, _, _, _ = finished_study
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLAB_DATA_DIR", str(data_dir))
        html = study_report(store, submitted.study_id, owner=EVERYONE)
    path = tmp_path / "study.html"
    path.write_text(html, encoding="utf-8")
    assert "data hash" in html and submitted.prepared.dataset.fingerprint in html
    executable, args = chromium_or_skip()
    from playwright.sync_api import sync_playwright
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=args)
        page = browser.new_page()
        page.route("**/*", lambda route: (requests.append(route.request.url), route.abort())
                   if not route.request.url.startswith("file:") else route.continue_())
        page.goto(path.as_uri())
        page.wait_for_selector(".plotly-graph-div .main-svg", timeout=30_000)
        drawn = page.locator(".plotly-graph-div").count()
        browser.close()
    assert requests == [], f"the report tried to reach the network: {requests}"
    assert drawn == 3  # accuracy vs data, cost, per class


def _study_page(data_dir, **query):
    import streamlit as st
    from streamlit.testing.v1 import AppTest
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if "share" not in query:
        at.switch_page("app_pages/study.py")
        at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture()
def study_data_dir(finished_study):
    import streamlit as st
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLAB_DATA_DIR", str(finished_study[0]))
        yield finished_study
        from components import engine
        engine.executor().stop()
        st.cache_resource.clear()


def test_study_page_renders_a_finished_study(study_data_dir):
    data_dir, store, submitted, _, _, owner = study_data_dir
    at = _study_page(data_dir, ws=owner, study=submitted.study_id)
    texts = " ".join(e.value for e in at.info) + " ".join(e.value for e in at.markdown)
    assert "Transfer is" in texts and "Data multiplier" in texts
    assert len(at.get("plotly_chart")) >= 1
    assert at.get("download_button")[0].proto.label == "Download the report (HTML)"
    assert at.selectbox[0].value == submitted.study_id
    assert any(b.label == "Start study" for b in at.button)


def test_study_is_private_to_its_workspace_and_shared_read_only(study_data_dir):
    from tlcore.experiments.workspaces import create_share, new_workspace
    data_dir, store, submitted, _, _, owner = study_data_dir
    stranger = _study_page(data_dir, ws=new_workspace(store), study=submitted.study_id)
    assert any("not in this workspace" in w.value for w in stranger.warning)
    assert not stranger.get("plotly_chart") and not stranger.selectbox
    token = create_share(store, owner, "study", submitted.study_id)
    shared = _study_page(data_dir, share=token)
    assert len(shared.get("plotly_chart")) >= 1
    assert not any(b.label in ("Start study", "Share a read-only link") for b in shared.button)
