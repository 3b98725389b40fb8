"""The hostile-input corpus (tests/hostile) through the real CLI and the real Data page (Streamlit AppTest).

For every case: a refused input gives one specific plain message (CLI: exit 2 and one `error:` line; page:
an `st.error`, and the previous dataset stays active); an accepted one loads with the expected classes and
warnings. Either way nothing is written outside the data directory (a sentinel folder next to it, the
working directory and the case's own files are compared before and after), nothing already in the data
directory changes, and no bomb is inflated (the data directory grows by less than the bomb's size).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.hostile import CASES, Built, Case
from tests.support.paths import APP
from tlcore.cli import main
from tlcore.data import is_upload_ref

# The data dir may grow by the stored upload plus its unpacked copy (a refused zip may be unpacked before the
# refusal, e.g. too many classes) and a little more (the run store); every bomb inflates far beyond that.
GROWTH_ALLOWANCE = 512 * 1024
BASELINE_CSV = "\n".join(["text,label"] + [f"baseline text {i},{'yes' if i % 2 else 'no'}" for i in range(12)]).encode()


def _tree(folder: Path, skip: tuple[Path, ...] = ()) -> dict[str, tuple[str, int, int]]:
    """Relative path → (kind, size, modification time) of everything under `folder` (links: their target).

    Plain os calls, not pathlib: this runs twice per case over data dirs holding thousands of files.
    """
    out: dict[str, tuple[str, int, int]] = {}
    base, skipped = str(folder), {str(p) for p in skip}
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skipped]
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            rel = full[len(base) + 1:]
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link:" + os.readlink(full), 0, 0)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", st.st_size, st.st_mtime_ns)
            else:  # a folder's own size and mtime change whenever something is added to it
                out[rel] = ("dir", 0, 0)
    return out


def _size(tree: dict[str, tuple[str, int, int]]) -> int:
    return sum(size for kind, size, _ in tree.values() if kind == "file")


@dataclass
class Arena:
    """A temp root holding a sentinel folder, the cases, a working directory and the two data directories."""

    root: Path

    @property
    def sentinel(self) -> Path:
        return self.root / "sentinel"

    def data(self, which: str) -> Path:
        return self.root / f"data-{which}"

    def build(self, case: Case, via: str) -> Built:
        folder = self.root / "cases" / via / case.id
        folder.mkdir(parents=True, exist_ok=True)
        return case.build(folder, self.sentinel)

    @contextmanager
    def guard(self, data_dir: Path, built: Built) -> Iterator[None]:
        """Assert on exit: nothing outside `data_dir` changed, nothing inside it was lost, no bomb was inflated."""
        outside_before = _tree(self.root, skip=(self.data("cli"), self.data("page")))
        inside_before = _tree(data_dir)
        yield
        assert _tree(self.root, skip=(self.data("cli"), self.data("page"))) == outside_before
        inside_after = _tree(data_dir)
        lost = {k for k, v in inside_before.items()
                if inside_after.get(k) != v and not k.endswith(("-wal", "-shm", ".db"))}
        assert not lost, f"existing files changed or vanished: {sorted(lost)[:5]}"
        assert not [k for k in inside_after if k.endswith(".partial")], "a half-extracted upload was left behind"
        input_size = sum(len(data) for _, data in built.upload.files)
        assert _size(inside_after) - _size(inside_before) <= 2 * input_size + GROWTH_ALLOWANCE


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Arena:
    a = Arena(tmp_path_factory.mktemp("hostile"))
    a.sentinel.mkdir()
    (a.sentinel / "precious.txt").write_text("must survive every upload")
    for which in ("cli", "page"):
        a.data(which).mkdir()
    (a.root / "cwd").mkdir()
    return a


def _check_message(case: Case, message: str, data_dir: Path) -> None:
    assert "Traceback" not in message and "\n" not in message.strip()
    assert str(data_dir) not in message, "the message must not expose internal paths"
    missing = [w for w in case.words if w not in message.lower()]
    assert not missing, f"{message!r} lacks {missing}"


def _check_accepted(case: Case, classes: list[str], warnings: list[str], skipped: list) -> None:
    if case.classes is not None:
        assert sorted(classes) == sorted(case.classes)
    if case.words:
        assert any(all(w in warning.lower() for w in case.words) for warning in warnings), warnings
    else:
        assert not skipped, f"nothing should be skipped, got {skipped[:3]}"


# -- the CLI ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_cli_check(case: Case, arena: Arena, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    built = arena.build(case, "cli")
    data_dir = arena.data("cli")
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TLAB_DATA_DIR", str(data_dir))  # restored after the test (--data-dir sets it too)
    monkeypatch.chdir(arena.root / "cwd")
    with arena.guard(data_dir, built):
        code = main(["--data-dir", str(data_dir), "check", "--data", str(built.cli_path), "--json"])
    out, err = capsys.readouterr()
    if case.accept:
        assert code == 0, err
        result = json.loads(out)
        _check_accepted(case, result["classes"], result["report"]["warnings"], result["report"]["skipped"])
    else:
        assert code == 2 and out == "", (code, out[:200])
        assert err.startswith("error: ") and err.count("\n") == 1, err
        _check_message(case, err, data_dir)


# -- the Data page ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(arena: Arena) -> Iterator[AppTest]:
    """One app session for the whole corpus (as a person trying file after file), starting from a good upload."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLAB_DATA_DIR", str(arena.data("page")))
        at = AppTest.from_file(APP, default_timeout=60).run()
        at.switch_page("app_pages/data.py").run()
        at.radio(key="data_mode").set_value("Upload").run()
        at.file_uploader(key="upload_file").set_value(("baseline.csv", BASELINE_CSV, "text/csv")).run()
        assert not at.exception and is_upload_ref(at.session_state["data"])
        yield at


def _upload(at: AppTest, built: Built) -> None:
    if built.upload.kind == "file":
        ((name, data),) = built.upload.files
        at.file_uploader(key="upload_file").set_value((name, data, "application/octet-stream"))
    else:
        files = [(n, d, "application/octet-stream") for n, d in built.upload.files]
        at.file_uploader(key="upload_folder").set_value(files)
    at.run()


def _chart_classes(at: AppTest) -> list[str]:
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return [str(x) for x in spec["data"][0]["x"]]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_data_page(case: Case, arena: Arena, page: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    built = arena.build(case, "page")
    case = case.as_served()
    data_dir = arena.data("page")
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(arena.root / "cwd")
    previous = page.session_state["data"]
    with arena.guard(data_dir, built):
        _upload(page, built)
    assert not page.exception, page.exception[0].value if page.exception else ""
    errors = [e.value for e in page.error]
    if case.accept:
        assert not errors, errors
        assert page.session_state["data"] != previous
        skipped = [e for e in page.expander if "skipped" in e.label]
        _check_accepted(case, _chart_classes(page), [w.value for w in page.warning], skipped)
    else:
        assert len(errors) == 1, errors
        assert page.session_state["data"] == previous
        assert "is still active" in errors[0]
        _check_message(case, errors[0].split("\n\nThe previous dataset")[0], data_dir)


# -- formula-looking cells are data, and are neutralised in every CSV we write ------------------------------
def test_formula_cells_are_neutralised_in_csv_exports():
    import csv
    import io
    from types import SimpleNamespace

    from tlcore.core.csvsafe import safe_cell
    from tlcore.experiments.comparison import metrics_csv

    cells = ["=1+1", "+SUM(1)", "-2+3", "@A1", "\tx", "\r=1", "-0.5", "+3", "plain", 3, -1.5, None]
    assert [safe_cell(c) for c in cells] == ["'=1+1", "'+SUM(1)", "'-2+3", "'@A1", "'\tx", "'\r=1", "-0.5", "+3",
                                             "plain", 3, -1.5, None]
    run = SimpleNamespace(id='=HYPERLINK("http://evil")', config={"strategy": "@cmd", "seed": 0}, status="succeeded",
                          result={"test_accuracy": -0.25, "macro_f1": 0.5})
    (row,) = csv.DictReader(io.StringIO(metrics_csv([run])))
    assert row["run_id"] == '\'=HYPERLINK("http://evil")' and row["strategy"] == "'@cmd"
    assert row["test_accuracy"] == "-0.25" and row["macro_f1"] == "0.5"
