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


def test_the_layer_advice_is_carried_to_train(data_dir, tiny_image_folder):
    """"Use this on the Train page" chooses "Fine-tune the last layers" there, frozen up to the advised stage."""
    from components import background
    from tlcore.experiments.layers import DepthScore, LayerReport, freeze_advice
    source = upload(RunStore(), WS_A, Path(tiny_image_folder))
    names = ["features.1", "features.4", "features.8", "features.11", "features.15", "features.18"]
    curve = [DepthScore(name, 32, 0.3 - abs(i - 2) * 0.1, 0.01, 0.9 - abs(i - 2) * 0.1, 0.01)
             for i, name in enumerate(names)]  # best at features.8, clearly: partial freezing is advised
    report = LayerReport(source, "mobilenet_v2", "MobileNetV2", 24, curve, 2, 3, freeze_advice(curve, 2), None, 1.0)
    background.save(["rank", "--data", source, "--layers", "mobilenet_v2"], report.to_dict())  # as the job would
    at = open_app("models", ws=WS_A, data=source, model="efficientnet_lite0")
    assert not [b for b in at.button if b.key == "use-freeze"]  # the advice shown is for the chosen model only
    at = open_app("models", ws=WS_A, data=source, model="mobilenet_v2")
    assert any("keep the first 3 of the 6 stages read here frozen (up to features.8)" in m.value for m in at.markdown)
    [use] = [b for b in at.button if b.key == "use-freeze"]
    use.click().run()
    assert not at.exception, at.exception
    assert at.multiselect[0].value == ["scratch", "linear_probe", "finetune_top"]
    [picker] = [s for s in at.selectbox if s.label == "Fine-tune the last layers: keep frozen up to"]
    assert picker.value == "features.8" and picker.options[0] == "the first two thirds of the network"
    at.multiselect[0].set_value(["scratch", "finetune"]).run()  # not chosen: no setting to show
    assert not [s for s in at.selectbox if "keep frozen up to" in s.label]
