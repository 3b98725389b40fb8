"""AppTest of the Models page's "Which model suits my data?": a cold ranking runs as a background job that the
page polls, its best model is preselected for Train, and ranking again is computed from the cached features."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.pages import WS_A, open_app, upload
from tlcore.runs import RunStore


def _wait_for_result(at, timeout_s: float = 240.0):
    deadline = time.monotonic() + timeout_s
    while not at.success:
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        assert time.monotonic() < deadline, "the ranking did not finish in time"
        time.sleep(1.0)
        at.run()
    return at


def test_models_page_ranks_in_the_background_and_preselects_the_best_model(data_dir, tiny_image_folder):
    at = open_app("models", ws=WS_A, data=upload(RunStore(), WS_A, Path(tiny_image_folder)))
    assert not at.exception and "Which model suits my data?" in [h.value for h in at.subheader]
    [rank] = [b for b in at.button if b.key == "rank-models"]
    assert rank.label == "Rank the models for my data"
    rank.click().run()
    assert any("Ranking the models" in i.value for i in at.info)  # cold: a job, the page polls it
    _wait_for_result(at)
    headline = at.success[0].value
    assert "Best start" in headline
    table = at.dataframe[0].value
    assert list(table.columns[:3]) == ["Model", "Verdict", "Score (LogME)"] and len(table) == 3
    best = table["Model"].iloc[0]
    assert table["Verdict"].iloc[0] == "best" and best in headline
    selected = [m.value for m in at.markdown if m.value.startswith("### ") and "selected" in m.value]
    assert selected == [f"### {best} :material/check_circle: selected"]  # preselected for Train
    [again] = [b for b in at.button if b.key == "rank-models"]
    assert again.label == "Rank again"
    again.click().run()  # warm: every model's features are cached, so it is computed in the page
    assert not at.exception and at.success and "Ranking the models" not in [i.value for i in at.info]
    assert any("3 of 3 from cached features" in c.value for c in at.caption)


def test_models_page_shows_which_layers_transfer_for_the_chosen_model(data_dir, tiny_image_folder):
    at = open_app("models", ws=WS_A, data=upload(RunStore(), WS_A, Path(tiny_image_folder)), model="mobilenet_v2")
    assert any(e.label == "Which layers of MobileNetV2 transfer?" for e in at.expander)
    [show] = [b for b in at.button if b.key == "layers-run"]
    show.click().run()
    deadline = time.monotonic() + 240
    while not at.get("plotly_chart"):
        assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
        assert time.monotonic() < deadline, "the per-layer analysis did not finish in time"
        time.sleep(1.0)
        at.run()
    advice = [m.value for m in at.markdown if m.value.startswith("**") and "frozen" in m.value]
    assert advice, "the freeze suggestion is shown above the curve"
    assert any("pretrained on" in p.proto.text for p in at.get("progress"))  # the gauge
    assert any("training examples in" in c.value for c in at.caption)


def test_one_analysis_at_a_time_per_server(data_dir, tiny_image_folder):
    from components import background

    busy = ["rank", "--data", "tux-photos"]  # cold: tens of seconds, longer than this test needs
    background.start(busy)
    try:
        at = open_app("models", ws=WS_A, data=upload(RunStore(), WS_A, Path(tiny_image_folder)))
        [rank] = [b for b in at.button if b.key == "rank-models"]
        assert rank.disabled and any("Another analysis is running" in c.value for c in at.caption)
        assert background.state(busy).status == "running"
    finally:
        process = background._running(str(data_dir))[background.job_key(busy)]
        process.terminate()
        process.wait(timeout=30)
    ended = background.state(busy)  # ended without a result: said, not hidden
    assert ended.status == "failed" and ended.message.startswith("it stopped before the end (")
