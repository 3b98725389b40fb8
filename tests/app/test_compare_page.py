"""The Compare page (Streamlit AppTest) on a real store with a finished comparison, and with no runs at all."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from tests.support.comparisons import add_finished_run, make_comparison
from tests.support.pages import WS_A, open_app, upload
from tests.support.paths import APP
from tlcore.data import load_source
from tlcore.runs.store import RunStore

WS = WS_A  # the workspace the page is opened in (its runs are the only ones it shows)


def _compare_page(comparison: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ws"] = WS
    if comparison:
        at.session_state["comparison"] = comparison
    at.run()
    at.switch_page("app_pages/compare.py")
    return at.run()


def _texts(at: AppTest) -> str:
    return " ".join(e.value for kind in ("markdown", "info", "warning", "caption") for e in at.get(kind))


def test_compare_page_shows_a_comparison(data_dir, tiny_image_folder):
    store = RunStore(data_dir / "runs.sqlite3")
    source = upload(store, WS, tiny_image_folder)
    ids = make_comparison(store, data_dir, data=source, fingerprint=load_source(source).fingerprint, running=False,
                          owner=WS)
    open_app(ws=WS)  # the server is up (its dispatcher recovered what it found) before the next run is claimed
    # a run just claimed by a worker that is starting: active, so the page says the comparison is unfinished
    starting = store.create_run({"strategy": "finetune", "seed": 1, "model": "m", "data": source}, group_id="cmp-test",
                                owner=WS)
    store.claim(starting)

    at = _compare_page("cmp-test")
    assert not at.exception
    texts = _texts(at)
    assert "Transfer (linear probe) reached 92% test accuracy vs 55% from scratch" in texts
    assert "non-overlapping 95% intervals" in texts
    assert "1 of 8 runs are still running or waiting" in texts
    assert not at.warning  # nothing missing, nothing failed
    # curves by epoch and by time, final accuracy, two confusion matrices, per-class gain, cost
    assert len(at.get("plotly_chart")) == 7
    assert at.selectbox[0].value == "cmp-test"
    # what the comparison is about, before any chart
    assert "**Repeats:** 3 seeds" in texts and "**Examples:** 36 (30 to train on" not in texts  # no n_val: unknown
    assert "What the words mean" in [e.proto.label for e in at.get("expander")]
    # the gallery: thumbnails of the 5 "transfer wins" examples with plain captions; the reverse in the other tab
    images = at.get("image")
    captions = [img.caption for element in images for img in element.proto.imgs]
    assert len(captions) == 6 and "true: cat · scratch: dog · transfer: cat" in captions
    (download,) = at.get("download_button")
    assert download.proto.label == "Download metrics (CSV)"

    # delete one run's files: a plain warning, no exception
    import shutil
    shutil.rmtree(data_dir / "runs" / ids[("scratch", 0)])
    at.run()
    assert not at.exception
    assert [w.value for w in at.warning if "missing" in w.value] == [
        "The result files of 1 run(s) are missing (deleted runs?); they are left out here."]


def test_compare_page_when_data_and_link_are_gone(data_dir):
    """A link to a deleted comparison and a dataset that was moved: plain warnings, the rest still shows."""
    store = RunStore(data_dir / "runs.sqlite3")
    make_comparison(store, data_dir, data="upload:" + "0" * 32, running=False, owner=WS)  # its data is gone
    at = _compare_page("cmp-deleted")
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "was not found in this workspace" in warnings and "can no longer be read" in warnings
    assert at.selectbox[0].value == "cmp-test"
    assert len(at.get("plotly_chart")) == 7
    wins = at.dataframe[0].value  # without the data, the examples are listed by name
    assert list(wins["name"]) == ["item1.png", "item3.png", "item2.png", "item3.png", "item0.png"]


def test_compare_page_without_runs_points_to_train(data_dir):
    at = _compare_page()
    assert not at.exception
    assert "no comparison yet" in at.info[0].value
    assert not at.get("plotly_chart")
    assert "train" in [link.proto.page for link in at.get("page_link")]


def test_looking_at_an_older_comparison_keeps_trains_running_one(data_dir):
    """Choosing another comparison on Compare changes what Compare shows, never what Train is watching."""
    store = RunStore(data_dir / "runs.sqlite3")
    make_comparison(store, data_dir, running=False, owner=WS, group_id="cmp-old")
    make_comparison(store, data_dir, running=False, owner=WS, group_id="cmp-live")
    open_app(ws=WS)  # the dispatcher has recovered what it found before a run is claimed
    store.claim(store.create_run({"strategy": "finetune", "seed": 1, "model": "m", "data": "tiny"},
                                 group_id="cmp-live", owner=WS))
    at = _compare_page("cmp-live")
    at.session_state["live_comparison"] = "cmp-live"
    at.selectbox[0].select("cmp-old").run()
    assert at.session_state["comparison"] == "cmp-old" and at.session_state["live_comparison"] == "cmp-live"
    options = at.selectbox[0].options
    assert len(options) == len(set(options)) == 2 and "running or waiting" in options[0]  # told apart
    at.switch_page("app_pages/train.py").run()
    assert "7 of 8 runs finished" in _texts(at)  # the running one, not the finished one that Compare shows


def test_compare_page_shows_how_each_trained_model_sees_the_test_items(data_dir, tiny_image_folder):
    from tests.support.worker import tiny_config
    from tlcore.runs.execute import execute
    store = RunStore(data_dir / "runs.sqlite3")
    source = upload(store, WS, tiny_image_folder)
    for strategy, size in (("scratch", 32), ("linear_probe", 48)):  # as on a CPU: scratch sees smaller images
        config = tiny_config(source, strategy=strategy, epochs=2, test_fraction=0.5, image_size=size)
        run_id = store.create_run(config.to_dict(), group_id="cmp-real", owner=WS, name=f"tiny: {strategy} (seed 0)")
        assert store.claim(run_id) and execute(store, run_id) == "succeeded"
    at = _compare_page("cmp-real")
    charts = len(at.get("plotly_chart"))
    [show] = [b for b in at.button if b.label == "Show how each model sees the test items"]
    [look] = [b for b in at.button if b.label == "Show where each model looked"]
    show.click().run()
    assert not at.exception and not at.warning
    assert len(at.get("plotly_chart")) == charts + 2  # one map per model, side by side
    assert "a test example finds its own class" in _texts(at)
    images = len(at.get("image"))
    look.click().run()
    assert not at.exception and not at.warning
    painted = [img for element in at.get("image")[images:] for img in element.proto.imgs]
    assert len(painted) == 4  # 4 test items, each a pair: from scratch left, transfer right, at one height
    assert "left, from scratch:" in painted[0].caption and "right, linear probe:" in painted[0].caption
    at.switch_page("app_pages/compare.py").run()  # both stay once asked for, without another click
    assert len(at.get("plotly_chart")) == charts + 2 and len(at.get("image")) == images + 1


def test_compare_page_shows_which_words_each_text_model_used(data_dir, tmp_path):
    """A text comparison explains words instead of painting images; what the data says is shown, never run."""
    from tests.support.data import sentiment_table
    from tests.support.worker import tiny_config
    from tlcore.runs.execute import execute
    store = RunStore(data_dir / "runs.sqlite3")
    source = upload(store, WS, sentiment_table(tmp_path / "reviews.csv", 8, extra=" <script>alert(1)</script>"))
    for strategy in ("scratch", "linear_probe"):
        config = tiny_config(source, model="glove-50d-bag", strategy=strategy, epochs=2, test_fraction=0.5)
        run_id = store.create_run(config.to_dict(), group_id="cmp-text", owner=WS, name=f"reviews: {strategy} (seed 0)")
        assert store.claim(run_id) and execute(store, run_id) == "succeeded"
    at = _compare_page("cmp-text")
    assert "Show where each model looked" not in [b.label for b in at.button]
    [words] = [b for b in at.button if b.label == "Show which words each model used"]
    words.click().run()
    assert not at.exception and not at.warning
    shown = [h.value for h in at.get("html")]
    assert len(shown) == 8  # 4 test texts, each by both models side by side
    assert [h.startswith('<div style="line-height: 1.8"><b>From scratch</b> said') for h in shown] == [True, False] * 4
    assert all("<b>Linear probe</b> said" in h for h in shown[1::2])
    words_only = [re.sub(r"<span [^>]*>|</span>", "", h) for h in shown]  # the text without its colours
    assert all("background: rgba(" in h and "<script" not in h for h in shown)
    assert all("&lt;script&gt;alert(1)&lt;/script&gt;" in h for h in words_only)
    at.switch_page("app_pages/compare.py").run()  # it stays once asked for, without another click
    assert len(at.get("html")) == 8
    from tlcore.experiments import workspaces
    viewer = open_app(share=workspaces.create_share(store, WS, "comparison", "cmp-text"))  # read-only: the same view
    viewer.switch_page("app_pages/compare.py").run()
    [words] = [b for b in viewer.button if b.label == "Show which words each model used"]
    words.click().run()
    assert not viewer.exception and [h.value for h in viewer.get("html")] == shown


def test_what_the_data_says_is_escaped_in_the_words_view():
    from components.why_view import words_html
    from tlcore.experiments.token_attributions import ExplainedText
    text = ExplainedText([("<img src=x onerror=alert(1)>", 0.5), (" & ", None), ("ok", -1.0)], "<i>c</i>", False)
    shown = words_html("From <b>scratch</b>", text, right=False)
    assert "<img" not in shown and "<i>" not in shown and "<b>scratch" not in shown
    assert "&lt;img src=x onerror=alert(1)&gt;</span> &amp; <span" in shown and "(wrong)" in shown


def test_distillation_shows_as_its_own_strategy_and_says_what_it_learned_from(data_dir):
    """A distillation run beating every transfer run is still not 'transfer': the verdict stays linear probe vs
    scratch, and the page says what the student was taught by and which extra items it saw."""
    store = RunStore(data_dir / "runs.sqlite3")
    make_comparison(store, data_dir, running=False, owner=WS, group_id="cmp-distill")
    for seed in range(3):
        add_finished_run(store, data_dir, "distill", seed, ([0.9, 0.97], [2.0, 4.0], 0.97, [1, 1, 1, 1, 1, 1]),
                         result={"teacher_test_accuracy": 0.9, "unlabelled_items": 58}, owner=WS,
                         group_id="cmp-distill")
    at = _compare_page("cmp-distill")
    assert not at.exception
    texts = _texts(at)
    assert "Transfer (linear probe) reached 92% test accuracy vs 55% from scratch" in texts
    assert "taught by a linear probe on the pretrained features that reached 90% test accuracy" in texts
    assert "58 training examples whose labels it never saw" in texts and "from scratch did not get" in texts
    final = next(c for c in at.get("plotly_chart") if "Test accuracy (mean over seeds" in c.proto.spec)
    assert '"distillation"' in final.proto.spec and "#e377c2" in final.proto.spec  # its own bar, its own colour
