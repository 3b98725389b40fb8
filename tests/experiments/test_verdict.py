"""One verdict source: the Study's headline, its per-size lines and Compare's banner cannot contradict each other."""

import pandas as pd

from tlcore.experiments.comparison import verdict as compare_verdict
from tlcore.experiments.study.results import headline, size_verdicts
from tlcore.experiments.verdict import best_transfer, gap_verdict


def _rows(scratch: float, transfer: float, half_width: float | None, n: int = 3, k: str = "all") -> pd.DataFrame:
    width = float("nan") if half_width is None else half_width
    return pd.DataFrame([{"strategy": s, "k_label": k, "per_class": None if k == "all" else int(k),
                          "x": 10.0, "accuracy": m, "low": m - width, "high": m + width, "n": n}
                         for s, m in (("scratch", scratch), ("linear_probe", transfer))])


def _test(p: float) -> dict:
    return {"k_label": "all", "transfer": "linear_probe", "a_better": 9, "b_better": 4, "ties": 7, "p_value": p}


def test_a_gap_is_clear_only_when_the_intervals_and_the_paired_test_agree():
    apart = _rows(0.50, 0.80, 0.05)
    assert gap_verdict(apart).clear and "non-overlapping" in gap_verdict(apart).sentence
    both = gap_verdict(apart, _test(0.01))
    assert both.clear and both.short == "Clear: +30 points"
    # the case seen on the Study page: intervals apart, but on the same test items p = 0.21
    split = gap_verdict(apart, _test(0.21))
    assert not split.clear and "could still be chance (p = 0.21)" in split.sentence
    assert split.short.startswith("Could be chance")
    overlapping = gap_verdict(_rows(0.50, 0.60, 0.2), _test(0.01))
    assert not overlapping.clear and "intervals overlap" in overlapping.sentence
    one_seed = gap_verdict(_rows(0.50, 0.80, None, n=1), _test(0.01))
    assert one_seed.clear and "single seed" in one_seed.sentence


def test_fewer_than_three_seeds_are_called_out():
    two = gap_verdict(_rows(0.5, 0.8, 0.4, n=2))
    assert "With 2 seeds the intervals are very wide" in two.sentence and "(2 seeds)" in two.short


def test_the_study_headline_is_built_from_the_same_verdicts_as_its_lines_and_compare():
    summary = pd.concat([_rows(0.30, 0.70, 0.3, k="5"), _rows(0.50, 0.85, 0.05, k="all")], ignore_index=True)
    tests = [dict(_test(0.21), k_label="all")]
    verdicts = size_verdicts(summary, tests)
    assert [v["k_label"] for v in verdicts] == ["5", "all"]
    text = headline(verdicts)
    # neither size is clear (5: intervals overlap; all: the paired test says chance): the headline must not claim it
    assert "clearly ahead from" not in text and "At all per class transfer is not clearly ahead" in text
    largest = summary[summary["k_label"] == "all"]
    assert verdicts[-1]["verdict"].sentence == gap_verdict(largest, tests[0]).sentence
    assert compare_verdict(largest) == gap_verdict(largest).sentence
    assert headline(size_verdicts(pd.concat([_rows(0.3, 0.7, 0.02, k="5"), _rows(0.5, 0.9, 0.02)],
                                            ignore_index=True))).endswith("It is clearly ahead from 5 per class on.")


def test_few_seeds_reach_the_headline():
    verdicts = size_verdicts(_rows(0.5, 0.9, 0.3, n=2))
    assert "With 2 seeds per size the 95 % bands are very wide" in headline(verdicts)


def test_a_clear_gap_the_wrong_way_a_tie_and_disagreeing_checks_are_not_called_clearly_ahead():
    behind = gap_verdict(_rows(0.80, 0.50, 0.05))
    assert behind.clear and not behind.ahead and "30 points worse" in behind.sentence
    text = headline(size_verdicts(_rows(0.80, 0.50, 0.05)))
    assert text.startswith("Transfer is not ahead at all per class.") and "clearly ahead from" not in text
    tie = gap_verdict(_rows(0.700, 0.702, 0.001))
    assert not tie.clear and not tie.ahead and tie.short.startswith("Could be chance: same accuracy")
    against = gap_verdict(_rows(0.50, 0.80, 0.05), dict(_test(0.01), a_better=2, b_better=11))
    assert not against.clear and "points the other way (p = 0.01)" in against.sentence


def test_one_seed_says_there_are_no_bands_rather_than_wide_ones():
    verdicts = size_verdicts(_rows(0.5, 0.9, None, n=1))
    assert verdicts[0]["verdict"].short.endswith("(1 seed)")
    assert "With 1 seed per size there are no 95 % bands" in headline(verdicts)


def test_distillation_is_neither_transfer_nor_the_baseline():
    rows = pd.concat([_rows(0.50, 0.70, 0.05), pd.DataFrame([{"strategy": "distill", "k_label": "all",
                      "per_class": None, "x": 10.0, "accuracy": 0.90, "low": 0.85, "high": 0.95, "n": 3}])],
                     ignore_index=True)
    assert best_transfer(rows) == "linear_probe"
    verdict = gap_verdict(rows)
    assert "70%" in verdict.sentence and "50%" in verdict.sentence and "90%" not in verdict.sentence
    assert best_transfer(rows[rows["strategy"] != "linear_probe"]) is None
