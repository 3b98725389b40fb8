"""The Study page (Streamlit AppTest) on a real store: one verdict source, so its headline and its per-size lines
cannot contradict each other, and every strategy has one name."""

from __future__ import annotations

from tests.support.comparisons import make_comparison
from tests.support.pages import WS_A, open_app
from tlcore.runs.store import RunStore


def _texts(at) -> str:
    return " ".join(e.value for kind in ("markdown", "info", "warning", "caption", "subheader") for e in at.get(kind))


def test_study_headline_agrees_with_its_paired_tests(data_dir):
    store = RunStore()
    ids = make_comparison(store, data_dir, running=False, group_id="cmp-s", owner=WS_A, data_name="pets.zip")
    spec = {"base": {"data": "tiny", "data_name": "pets.zip", "model": "mobilenet_v2"},
            "strategies": ["scratch", "linear_probe"], "per_class": ["all"], "seeds": 3}
    study = store.create_study(spec, list(ids.values()), owner=WS_A, name="m on pets.zip: data efficiency")
    at = open_app("study", ws=WS_A, study=study)
    assert not at.exception, at.exception
    text = _texts(at)
    # seeds' intervals are apart (55 % vs 92 %) but on the same 6 test items the paired test gives p = 0.38:
    # before, the banner called the gap clear while the table said "could be chance"
    [banner] = [i.value for i in at.info if "Transfer is" in i.value]
    assert "At all per class transfer is not clearly ahead" in banner and "clearly ahead from" not in banner
    assert "Could be chance: +37 points" in text and "p = 0.38" in text
    assert "knn" not in text and "linear_probe" not in text
