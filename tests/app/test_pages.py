"""AppTest for the Home, Models, Train, Predict and Runs pages against a real store and real workers:
the demo button queues a comparison, a tiny comparison is driven to completion by polling, predictions
and exports work from its runs, and runs can be renamed and deleted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.hostile.build import png_header_bomb
from tests.support.pages import WS_A, upload
from tests.support.paths import APP
from tlcore.runs import RunStore
from tlcore.runs.store import EVERYONE

WS = WS_A  # the app reads uploads of its own workspace only


def app(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    return at


def test_home_demo_button_queues_a_comparison_and_opens_train(data_dir):
    at = app().run()
    assert not at.exception and at.title[0].value == "Transfer Lab"
    [demo] = [b for b in at.button if b.label == "Run the demo"]
    demo.click().run()
    assert not at.exception
    runs = RunStore().list_runs(owner=EVERYONE)
    assert sorted(r.config["strategy"] for r in runs) == ["linear_probe"] * 3 + ["scratch"] * 3
    assert {r.config["data"] for r in runs} == {"tux-photos"}
    assert at.title[0].value == "Train"
    at.switch_page("app_pages/home.py").run()  # the demo again, while it runs: no second copy is queued
    assert "Run the demo" not in [b.label for b in at.button]
    [watch] = [b for b in at.button if b.label == "Watch it train"]
    watch.click().run()
    assert not at.exception and at.title[0].value == "Train" and len(RunStore().list_runs(owner=EVERYONE)) == 6
    for r in runs:  # keep the shared CPU free for the other tests
        RunStore().request_cancel(r.id, owner=EVERYONE)


def test_models_page_shows_cards_and_selects_a_model(data_dir):
    at = app(data="digits").run()
    at.switch_page("app_pages/models.py").run()
    assert not at.exception
    titles = [m.value for m in at.markdown if m.value.startswith("### ")]
    assert any("MobileNetV2" in t and "selected" in t for t in titles)
    # the models it cannot load offline are listed once, compactly, with one reason and no advice to pick an
    # image model on a text page; only loadable models get a card
    assert not any("ResNet" in t for t in titles) and not at.warning
    [more] = [e for e in at.expander if "cannot load now" in e.label]
    listed = " ".join(m.value for m in more.markdown) + " ".join(c.value for c in more.caption)
    assert "ResNet-50" in listed and "no internet connection" in listed and "pick a bundled model" not in listed
    [use] = [b for b in at.button if b.key == "use-efficientnet_lite0"]
    use.click().run()
    assert at.query_params["model"] == ["efficientnet_lite0"] or at.session_state["model"] == "efficientnet_lite0"


@pytest.mark.slow
def test_train_runs_a_tiny_comparison_to_completion(data_dir, tiny_image_folder):
    at = app(ws=WS, data=upload(RunStore(), WS, Path(tiny_image_folder))).run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    at.multiselect[0].set_value(["scratch", "linear_probe"])
    [epochs] = [n for n in at.number_input if n.label == "Epochs"]
    epochs.set_value(2)
    at.run()
    assert any("in total" in i.value for i in at.info)  # the time estimate is shown before starting
    [start] = [b for b in at.button if b.label == "Start comparison"]
    start.click().run()
    assert not at.exception, at.exception
    store = RunStore()
    deadline = time.monotonic() + 240
    while not all(r.is_final for r in store.list_runs(owner=EVERYONE)):
        assert time.monotonic() < deadline, "comparison did not finish"
        time.sleep(1)
        at.run()  # the page polls like a browser would
    at.run()
    assert all(r.status == "succeeded" for r in store.list_runs(owner=EVERYONE))
    assert any("Comparison finished" in s.value for s in at.success)
    assert len(at.get("plotly_chart")) == 1  # the live curve of the scratch run; a solved probe has none
    # the same settings again: the finished result is offered instead of training it again
    assert {"See that result", "Run it again"} <= {b.label for b in at.button}

    # Predict with the runs just trained: upload an image, get top classes from both models side by side
    at.switch_page("app_pages/predict.py").run()
    assert not at.exception, at.exception
    image = next((Path(tiny_image_folder) / "red").glob("*.png")).read_bytes()
    at.file_uploader[0].set_value(("red.png", image, "image/png")).run()
    assert not at.exception, at.exception
    assert len(at.dataframe) == 2 and set(at.dataframe[0].value["class"]) == {"red", "green", "blue"}
    assert any(b.label == "Weights + labels + config (.zip)" for b in at.get("download_button"))
    # an image that claims 3.6 gigapixels in a few bytes is refused from its header, not decoded
    at.file_uploader[0].set_value(("huge.png", png_header_bomb(60000, 60000), "image/png")).run()
    assert not at.exception and "too large" in at.error[0].value and not at.dataframe

    # Runs: rename one, delete one with confirmation
    at.switch_page("app_pages/runs.py").run()
    assert not at.exception, at.exception
    run_id = at.selectbox[0].value
    at.text_input(key=f"name-{run_id}").set_value("my favourite").run()
    [rename] = [b for b in at.button if b.label == "Rename"]
    rename.click().run()
    assert store.get(run_id, owner=EVERYONE).name == "my favourite"
    at.checkbox(key=f"confirm-{run_id}").check().run()
    [delete] = [b for b in at.button if b.label == "Delete run"]
    delete.click().run()
    assert store.get(run_id, owner=EVERYONE) is None and len(store.list_runs(owner=EVERYONE)) == 1


def test_train_page_with_a_broken_dataset_says_what_to_do(data_dir, tmp_path):
    bad = tmp_path / "broken.csv"
    bad.write_text("text,label\nonly,a\n")
    at = app(ws=WS, data=upload(RunStore(), WS, bad)).run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception
    assert at.error and "cannot be used" in at.error[0].value


def test_predict_and_runs_pages_without_runs(data_dir):
    at = app().run()
    for page in ("app_pages/predict.py", "app_pages/runs.py"):
        at.switch_page(page).run()
        assert not at.exception and at.info


def test_models_page_search_finds_cached_library_models_and_says_why_others_are_not(data_dir, tmp_path, monkeypatch):
    from tests.support.hubcache import fill_hub_cache, use_hub_cache

    use_hub_cache(monkeypatch, fill_hub_cache(tmp_path / "hub"))
    at = app(data="digits").run()
    at.switch_page("app_pages/models.py").run()
    at.text_input(key="model-search").set_value("test_convnext").run()
    assert not at.exception, at.exception
    rows = [m.value for m in at.markdown if m.value.startswith("**timm:test_convnext")]
    assert any("test_convnext.r160_in1k**" in r and "Available: found in the local" in r for r in rows)
    assert any("test_convnext2.r160_in1k**" in r and "not in the local cache" in r for r in rows)
    [use] = [b for b in at.button if b.key == "use-timm:test_convnext.r160_in1k"]
    use.click().run()
    assert at.session_state["model"] == "timm:test_convnext.r160_in1k"
    at.text_input(key="model-search").set_value("convnxt_nano").run()
    assert not at.exception and any("convnxt_nano" in i.value for i in at.info)
