"""The Data page (Streamlit AppTest): built-ins, uploads (zip, table, folder) and bad uploads."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.support.paths import APP
from tlcore.data import is_upload_ref


def _png(colour: tuple[int, int, int], i: int) -> bytes:
    buf = io.BytesIO()
    im = Image.new("RGB", (10, 10), colour)
    im.putpixel((i, i), (255, 255, 255))  # distinct files, so no duplicate warnings
    im.save(buf, format="PNG")
    return buf.getvalue()


CLASSES = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220)}


def _zip(classes: dict[str, tuple[int, int, int]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, colour in classes.items():
            for i in range(3):
                zf.writestr(f"tiny/{name}/{i}.png", _png(colour, i))
    return buf.getvalue()


@pytest.fixture
def at(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    app = AppTest.from_file(APP, default_timeout=60).run()
    app.switch_page("app_pages/data.py").run()
    assert not app.exception
    return app


def _upload_mode(at: AppTest) -> AppTest:
    at.radio(key="data_mode").set_value("Upload").run()
    assert not at.exception
    return at


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_builtin_default_shows_report_split_and_preview(at):
    assert "digits" not in at.query_params.get("data", [])  # the default, tux-photos, is active
    subheaders = [s.value for s in at.subheader]
    assert subheaders[0].startswith("Active dataset: tux-photos")
    assert {"Split", "Checks", "Preview"} <= set(subheaders)
    assert "Train 108 · Validation 25 · Test 34" in _markdown(at)
    assert not at.error
    assert at.session_state["split_settings"] == {"test_fraction": 0.2, "val_fraction": 0.15, "per_class": None,
                                                  "seed": 0}


def test_choosing_digits_and_split_settings(at):
    at.selectbox(key="builtin_choice").set_value("digits").run()
    assert not at.exception and not at.error
    assert at.session_state["data"] == "digits"
    assert at.subheader[0].value == "Active dataset: digits"
    assert "Train 1,167 · Validation 200 · Test 360" in _markdown(at)
    at.number_input(key="split_k").set_value(10).run()
    at.number_input(key="split_seed").set_value(3).run()
    assert "Train 100 · Validation 200 · Test 360" in _markdown(at)
    assert at.session_state["split_settings"] == {"test_fraction": 0.2, "val_fraction": 0.15, "per_class": 10,
                                                  "seed": 3}


def test_a_fraction_out_of_range_is_set_to_the_nearest_allowed_value_and_the_page_says_so(at):
    at.number_input(key="split_test").set_value(0.6).run()
    assert not at.exception
    assert any("Test fraction must be between 0.05 and 0.5; 0.6 was changed to 0.5" in w.value for w in at.warning)
    assert at.number_input(key="split_test").value == 0.5  # the field shows what the split uses
    assert at.session_state["split_settings"]["test_fraction"] == 0.5
    assert "Test 84" in _markdown(at)  # half of tux-photos' 168 images, not the default 34
    at.number_input(key="split_val").set_value(0.15).run()  # the next change does not repeat the notice
    assert not any("must be between" in w.value for w in at.warning)


def test_zip_upload_becomes_the_active_dataset(at):
    _upload_mode(at).file_uploader(key="upload_file").set_value(("tiny.zip", _zip(CLASSES), "application/zip")).run()
    assert not at.exception and not at.error
    assert is_upload_ref(at.session_state["data"])  # the URL carries a content id, never a server path
    assert at.subheader[0].value == "Active dataset: tiny.zip (uploaded)"
    assert any("9 images in 3 classes" in c.value for c in at.caption)
    assert any(m.value.startswith("**blue**") for m in at.markdown)  # image grid per class


def test_folder_upload_becomes_the_active_dataset(at):
    files = [(f"myset/{name}/{i}.png", _png(colour, i), "image/png") for name, colour in CLASSES.items()
             for i in range(3)]
    _upload_mode(at).file_uploader(key="upload_folder").set_value(files).run()
    assert not at.exception and not at.error
    assert is_upload_ref(at.session_state["data"])
    assert at.subheader[0].value == "Active dataset: myset (uploaded)"
    assert any("9 images in 3 classes" in c.value for c in at.caption)


def test_csv_upload_with_column_choice(at):
    rows = ["id,review,stars,sentiment"] + [f"{i},review number {i} was {'good' if i % 2 else 'bad'},{i % 5},"
                                            f"{'pos' if i % 2 else 'neg'}" for i in range(30)]
    _upload_mode(at).file_uploader(key="upload_file").set_value(("reviews.csv", "\n".join(rows).encode(), "text/csv"))
    at.run()
    assert not at.exception and not at.error
    assert is_upload_ref(at.session_state["data"]) and "reviews.csv (uploaded)" in at.subheader[0].value
    assert at.selectbox(key="text_column_choice").value == "review"
    assert at.selectbox(key="label_column_choice").value == "sentiment"
    assert at.dataframe[-1].value.shape[0] == 20  # text preview
    at.selectbox(key="label_column_choice").set_value("stars").run()
    assert not at.exception and not at.error
    assert at.session_state["label_column"] == "stars"
    assert "30 texts in 5 classes" in "\n".join(c.value for c in at.caption)


@pytest.mark.parametrize("name,data,expected", [
    ("oneclass.zip", _zip({"red": (200, 0, 0)}), "only one class"),
    ("fake.zip", b"this is not a zip file at all", "zip"),
], ids=["one-class", "not-a-zip"])
def test_bad_upload_shows_plain_error_and_keeps_previous_dataset(at, name, data, expected):
    at.selectbox(key="builtin_choice").set_value("digits").run()
    _upload_mode(at).file_uploader(key="upload_file").set_value((name, data, "application/zip")).run()
    assert not at.exception
    assert at.error, "a bad upload must be explained"
    message = at.error[0].value
    assert expected in message.lower() and "Traceback" not in message
    assert "previous dataset, digits, is still active" in message
    assert at.session_state["data"] == "digits"
    assert at.subheader[0].value == "Active dataset: digits"


def test_previews_are_small_jpegs_kept_encoded_across_reruns(tmp_path):
    """The grid's thumbnails are cached as JPEG bytes (st.image serves those as they are): a file's second
    preview is the first one's bytes, even once the file is gone; an in-memory image is encoded each time."""
    import numpy as np

    from components.previews import PREVIEW_SIDE, thumbnail

    photo = tmp_path / "photo.png"
    Image.fromarray(np.full((300, 400, 3), 90, np.uint8)).save(photo)
    first = thumbnail(photo)
    assert first is not None and first[:2] == b"\xff\xd8"  # a JPEG
    with Image.open(io.BytesIO(first)) as im:
        assert max(im.size) == PREVIEW_SIDE and im.mode == "RGB"
    photo.unlink()
    assert thumbnail(photo) == first  # a rerun: nothing read, decoded or encoded again
    digit = thumbnail(np.eye(8, dtype=np.uint8) * 255)
    assert digit is not None and digit[:2] == b"\xff\xd8"
