"""A share link's viewer tries the shared comparison's trained models on a photo of their own: predictions from
each model, nothing stored or changed, and at most the server's per-visitor budget of predictions per hour."""

from __future__ import annotations

import io

from PIL import Image

from tests.support.pages import WS_A, open_app, upload
from tests.support.worker import tiny_config
from tlcore.experiments import workspaces
from tlcore.runs.execute import execute
from tlcore.runs.store import EVERYONE, RunStore


def _photo(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 40), colour).save(buf, "PNG")
    return buf.getvalue()


def _snapshot(store: RunStore) -> tuple:
    """What a viewer could change: runs (status, names, owners), uploads and the library's datasets."""
    return ([(r.id, r.status, r.name, r.owner) for r in store.list_runs(owner=EVERYONE)],
            store.upload_bytes(WS_A), store.datasets_in_use())


def test_a_share_link_viewer_tries_the_shared_models_and_changes_nothing(data_dir, tiny_image_folder, monkeypatch):
    monkeypatch.setenv("TLAB_MAX_SHARED_PREDICTIONS_PER_HOUR", "1")
    store = RunStore()
    source = upload(store, WS_A, tiny_image_folder)
    for strategy in ("scratch", "linear_probe", "knn"):
        config = tiny_config(source, strategy=strategy, epochs=1)
        run_id = store.create_run(config.to_dict(), group_id="cmp-try", owner=WS_A, name=f"tiny: {strategy} (seed 0)")
        assert store.claim(run_id) and execute(store, run_id) == "succeeded"
    token = workspaces.create_share(store, WS_A, "comparison", "cmp-try")
    before = _snapshot(store)

    viewer = open_app(share=token)
    assert not viewer.exception and "Try these models" in [s.value for s in viewer.subheader]
    viewer.file_uploader(key="shared_example_file").set_value(("mine.png", _photo((220, 40, 40)), "image/png")).run()
    assert not viewer.exception and not viewer.warning
    tables = viewer.dataframe
    assert len(tables) == 2  # from scratch and linear probe; nearest neighbours trains no model to try
    assert all(set(t.value["class"]) <= {"red", "green", "blue"} for t in tables)
    assert [m.value for m in viewer.markdown if m.value.startswith("**From scratch")] == ["**From scratch · seed 0**"]
    viewer.run()  # a rerun (any click on the page) shows the same answers again without using the budget
    assert len(viewer.dataframe) == 2 and not viewer.warning

    viewer.file_uploader(key="shared_example_file").set_value(("again.png", _photo((40, 60, 220)), "image/png")).run()
    assert any("tried enough examples for now" in w.value for w in viewer.warning) and not viewer.dataframe
    assert _snapshot(store) == before  # nothing queued, renamed or deleted; the photos were not stored
