"""The app starts and its Home page lists the engine's datasets and models (Streamlit AppTest)."""

from streamlit.testing.v1 import AppTest


def test_home_page_lists_datasets_and_models():
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Transfer Lab"
    datasets, models = (df.value for df in at.dataframe)
    assert "tux-photos" in set(datasets["dataset"])
    assert {"mobilenet_v2", "minilm-l6"} <= set(models[models["available"]]["model"])
