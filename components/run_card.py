"""The live view of a comparison: one card per run with status, queue position, progress with ETA,
live curves and Cancel. It polls the run store from an `st.fragment`, so only this part reruns."""

from __future__ import annotations

import time

import plotly.graph_objects as go
import streamlit as st

from components import engine, state
from tlcore.core import strategies
from tlcore.experiments import figures
from tlcore.experiments.estimate import format_duration, time_left
from tlcore.runs import RunRecord

STATUS_ICONS = {"queued": ":material/hourglass_top:", "starting": ":material/rocket_launch:",
                "running": ":material/directions_run:", "succeeded": ":green[:material/check_circle:]",
                "failed": ":red[:material/error:]", "cancelled": ":material/stop_circle:",
                "interrupted": ":orange[:material/warning:]"}


@st.cache_data(max_entries=256, show_spinner=False)
def cached_curve_figure(run_id: str, n_epochs: int, _epochs: list[dict]) -> go.Figure:
    """Polling redraws every card each few seconds: rebuild a figure only when a new epoch arrived."""
    return figures.live_curve_figure(_epochs)


def run_title(record: RunRecord) -> str:
    cfg = record.config
    return f"{strategies.title(cfg['strategy'])} · seed {cfg['seed']}"


def _loops(record: RunRecord) -> bool:
    """Whether the run trains epoch by epoch (a linear probe or nearest neighbours is solved in one go)."""
    strategy = record.config.get("strategy", "")
    return strategy not in strategies.IDS or strategies.get(strategy).solver == "loop"


def describe_node(record: RunRecord, attempts: list[dict]) -> str:
    """Where a run trained: its node, and on a cluster each earlier attempt that a lost node cut short."""
    where = f"{record.node} (Ray cluster)" if record.executor == "ray" else f"{record.node} (local worker)"
    earlier = [f"attempt {a['attempt']} on {a['node'] or 'an unknown node'} ({a['ended'] or 'ended'})"
               for a in attempts[:-1]]
    return where + (f"; before that: {', '.join(earlier)}" if earlier else "")


def run_card(record: RunRecord) -> None:
    store = engine.store()
    with st.container(border=True):
        head, action = st.columns([3, 1], vertical_alignment="center")
        head.markdown(f"**{run_title(record)}** — {STATUS_ICONS.get(record.status, '')} {record.status}")
        if record.status in ("queued", "starting", "running") and action.button(
                "Cancel", key=f"cancel-{record.id}", help="Stop this run; finished runs are kept."):
            store.request_cancel(record.id, owner=state.workspace())
            st.rerun(scope="fragment")
        if record.status == "queued":
            st.caption(f"Waiting for a free worker: position {store.queue_position(record.id)} in the queue.")
        elif record.status in ("starting", "running"):
            eta = f" — {format_duration(record.eta_s)} left" if record.eta_s else ""
            st.progress(min(record.progress, 1.0), text=f"{record.message or 'Starting'}{eta}")
        elif record.status == "succeeded" and record.result:
            res = record.result
            trained = (f"{res['epochs']} epoch{'s' if res['epochs'] != 1 else ''}" if _loops(record)
                       else "solved directly, no epochs")
            st.caption(f"Test accuracy **{res['test_accuracy']:.1%}** · {trained} · "
                       f"{res['wall_seconds']:.0f} s · {res['trainable_params']:,} trainable parameters")
        elif record.error:
            (st.warning if record.status == "cancelled" else st.error)(record.error)
        epochs = store.epochs(record.id) if _loops(record) else []  # a probe's one "epoch" is no curve
        if epochs:
            st.plotly_chart(cached_curve_figure(record.id, len(epochs), epochs), key=f"curve-{record.id}",
                            config={"displayModeBar": False})


@st.fragment(run_every=2.0)
def comparison_cards(group_id: str) -> None:
    """Polls the store; runs keep going in their workers whatever the browser does. Only the runs of this
    session's workspace are shown: another workspace's comparison id shows as having no runs."""
    records = sorted(engine.store().list_runs(group_id=group_id, owner=state.workspace()),
                     key=lambda r: (r.config["seed"], strategies.order(r.config["strategy"])))
    if not records:
        st.info("This comparison was not found in this workspace: its runs were deleted, or the link belongs "
                "to another workspace.")
        return
    done = sum(r.is_final for r in records)
    left, complete = time_left(records, time.time())
    remaining = "" if done == len(records) or not left else (
        f" — {format_duration(left)} left in total" if complete else f" — at least {format_duration(left)} left")
    st.markdown(f"**{done} of {len(records)} runs finished**{remaining}")
    if done == len(records):
        ok = sum(r.status == "succeeded" for r in records)
        st.success(f"Comparison finished: {ok} of {len(records)} runs succeeded.")
        st.page_link("app_pages/compare.py", label="See the comparison", icon=":material/monitoring:")
    columns = st.columns(2)
    for i, record in enumerate(records):
        with columns[i % 2]:
            run_card(record)
