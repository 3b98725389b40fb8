"""The server's cost of a hostile upload stays bounded (memory in a fresh process; the figures of the README come
from `python -m bench.hostile_inputs`, which this runs on its largest input)."""

from bench.hostile_inputs import inputs, measure


def test_a_2_mb_jsonl_with_a_new_key_per_line_is_refused_in_bounded_memory(tmp_path):
    name, data = inputs()["wide JSONL (2 MB, one new key per line)"]
    (tmp_path / name).write_bytes(data)
    result = measure(tmp_path / name)
    assert result["outcome"].startswith("refused") and "different keys" in result["outcome"]
    assert result["peak_mb"] - result["baseline_mb"] < 150, result  # read naively: tens of gigabytes
