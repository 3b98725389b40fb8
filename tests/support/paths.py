"""Where the tests find the project's own files."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")  # for streamlit's AppTest.from_file, which resolves relative paths oddly
