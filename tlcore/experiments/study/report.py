"""One self-contained HTML file per study: charts (plotly.js embedded, so it opens offline with no network
request), the verdicts, the data summary and its hash, every config and seed, and the environment."""

from __future__ import annotations

import html
import json
import time
from typing import Any

import pandas as pd

from tlcore.core.errors import UserError
from tlcore.core.strategies import label
from tlcore.data import library
from tlcore.experiments import figures
from tlcore.experiments.comparison import distillation_note, safe_data_name
from tlcore.experiments.study.results import (
    cells_frame,
    data_multiplier,
    headline,
    paired_tests,
    per_class_frame,
    size_verdicts,
    summary_frame,
)
from tlcore.experiments.summary import has_interval
from tlcore.runs.paths import read_artifact
from tlcore.runs.store import RunStore, Scope, StudyRecord

# No network at all: plotly.js is inline, and images and fonts may only be data: URLs.
_CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; "
        "font-src data:")
_CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222}h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left}
.lead{font-size:1.15em}.muted{color:#666}pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.8em}"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><tr>{head}</tr>{body}</table>"


def _pct(v: Any) -> str:
    return "" if v is None or pd.isna(v) else f"{v:.1%}"


def _results_table(summary: pd.DataFrame, tests: list[dict[str, Any]]) -> pd.DataFrame:
    p_by_k = {t["k_label"]: t for t in tests}
    rows = []
    for r in summary.itertuples(index=False):
        test = p_by_k.get(r.k_label)
        rows.append({"strategy": r.label, "per class": r.k_label, "mean accuracy": _pct(r.accuracy),
                     "95% interval": f"{_pct(r.low)} – {_pct(r.high)}" if has_interval(r._asdict()) else "(one seed)",
                     "per seed": ", ".join(f"s{s}: {v:.1%}" for s, v in zip(r.seeds, r.values)),
                     "s per run": f"{r.wall_seconds:.1f}", "capped": "yes" if r.capped else "",
                     "p vs scratch": f"{test['p_value']:.2g}" if test and test["transfer"] == r.strategy else ""})
    return pd.DataFrame(rows)


def _data_section(run_ids: list[str]) -> tuple[str, dict[str, Any]]:
    meta = next((m for m in (read_artifact(r, "config.json") for r in run_ids) if m), None)
    if not meta:
        return "<p class='muted'>No finished run yet.</p>", {}
    d, split = meta["data"], meta["split"]
    sizes = {k: len(split.get(k, [])) for k in ("train", "val", "test")}
    return (f"<p>Dataset <b>{_e(d['name'])}</b>: {d['size']} items; data hash <code>{_e(d['fingerprint'])}</code>; "
            f"split <code>{_e(split.get('id'))}</code> (train {sizes['train']}, validation {sizes['val']}, "
            f"test {sizes['test']}: every cell is tested on these same {sizes['test']} items).</p>",
            meta.get("environment", {}))


def _shown_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The study's settings as a reader may see them: the data by its name and handle, never by a path."""
    base = dict(spec.get("base", {}))
    base["data"] = base.get("data") if library.is_upload_ref(base.get("data")) else safe_data_name(base)
    return dict(spec, base=base)


def _charts_html(summary: pd.DataFrame, cells: pd.DataFrame) -> str:
    """The study's figures as HTML, plotly.js embedded once (the report must open with no network)."""
    if summary.empty:
        return ""
    figs = [figures.accuracy_vs_data(summary, cells), figures.study_cost_figure(summary)]
    per_class = per_class_frame(cells)
    if not per_class.empty:
        figs.append(figures.per_class_figure(per_class))
    return "".join(f.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
                   for i, f in enumerate(figs))


def _cell_rows(cells: pd.DataFrame) -> pd.DataFrame:
    rows = cells[["run_id", "strategy", "k_label", "seed", "status", "test_accuracy", "epochs", "capped",
                  "wall_seconds"]].rename(columns={"k_label": "per class"})
    return rows.assign(strategy=rows["strategy"].map(label), test_accuracy=rows["test_accuracy"].map(_pct))


def render_report(store: RunStore, study: StudyRecord) -> str:
    """The report as one HTML string."""
    records = store.study_runs(study.id)
    cells = cells_frame(records)
    summary = summary_frame(cells)
    tests = paired_tests(cells, summary)
    multiplier = data_multiplier(summary)
    data_html, env = _data_section(cells[cells["status"] == "succeeded"]["run_id"].tolist())
    charts = _charts_html(summary, cells)
    spec = study.spec
    by_size = size_verdicts(summary, tests)
    verdicts = "".join(f"<li><b>{_e(v['k_label'])} per class</b>: {_e(v['verdict'].sentence)}</li>" for v in by_size)
    taught = distillation_note(records)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>{_e(study.name)}</title><style>{_CSS}</style></head><body>
<h1>{_e(study.name)}</h1>
<p class="muted">Transfer Lab data-efficiency study <code>{_e(study.id)}</code>, created
{_e(time.strftime('%Y-%m-%d %H:%M', time.localtime(study.created)))}; model <b>{_e(spec['base']['model'])}</b>;
strategies {_e(', '.join(label(s) for s in spec['strategies']))}; {spec['seeds']} seed(s).</p>
<p class="lead">{_e(headline(by_size))}</p>
<p class="lead">{_e(multiplier['text'] if multiplier else '')}</p>
<h2>Is the gap real?</h2><ul>{verdicts or '<li>Not enough finished pairs yet.</li>'}</ul>
<p class="muted">Paired test on the same test items: per item, how often (over seeds) each side is right; an exact
two-sided sign test on the items where they differ (with one seed, McNemar's exact test).</p>
<h2>Charts</h2>{charts or '<p>No finished runs yet.</p>'}{f'<p class="muted">{_e(taught)}</p>' if taught else ''}
<h2>Results</h2>{_table(_results_table(summary, tests)) if not summary.empty else ''}
<p class="muted">"Capped": the study's step budget (max_steps) allowed fewer epochs than the default.</p>
<h2>Data</h2>{data_html}
<h2>Every run</h2>{_table(_cell_rows(cells))}
<h2>Settings</h2><p>Shared by every cell (each cell sets strategy, examples per class and seed):</p>
<pre>{_e(json.dumps(_shown_spec(spec), indent=1, sort_keys=True))}</pre>
<h2>Environment</h2><pre>{_e(json.dumps(env, indent=1, sort_keys=True))}</pre>
</body></html>"""


def study_report(store: RunStore, study_id: str, *, owner: Scope) -> str:
    study = store.get_study(study_id, owner=owner)
    if study is None:
        raise UserError(f"No study {study_id} here.")
    return render_report(store, study)
