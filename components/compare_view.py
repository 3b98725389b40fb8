"""The Compare page's sections: which comparison, the verdict, curves, final accuracy, where transfer helps,
the test examples the two disagree on, the cost, and the share link."""

from __future__ import annotations

import time

import streamlit as st

from components import context_card, engine, state
from components.previews import thumbnail
from tlcore.core.errors import UserError
from tlcore.core.strategies import label, title
from tlcore.data import Dataset
from tlcore.experiments import comparison, figures, per_example, workspaces
from tlcore.runs.store import EVERYONE, RunRecord, RunStore

GALLERY_SIZE = 24
THUMBNAIL_PX = 112  # shown this wide, so they wrap several to a row even on a phone
GALLERY_SIDE = 2 * THUMBNAIL_PX  # px decoded: sharp on high-density screens
CHART_CONFIG = {"displayModeBar": False}  # the toolbar would cover chart titles on narrow screens


def choose_comparison(store: RunStore, workspace: str) -> str:
    """The selectbox of this workspace's comparisons; the link's `?cmp=` is preselected if it is one of them."""
    groups = {g["group_id"]: g for g in comparison.recent_comparisons(store, owner=workspace)}
    chosen = state.comparison()
    if chosen and chosen not in groups:  # older than the recent list, deleted, or another workspace's
        groups.update({g["group_id"]: g for g in comparison.group_summaries(
            comparison.comparison_records(store, chosen, owner=workspace))})
    if chosen and chosen not in groups:  # the same words for "deleted" and "not yours": no hint which
        st.warning("The comparison in the link was not found in this workspace: its runs were deleted, or the link "
                   "belongs to another workspace. Pick another one.")
    if not groups:
        st.info("There is no comparison yet. Start one on the Train page: pick strategies and seeds, then come back "
                "here.")
        st.page_link("app_pages/train.py", label="Go to Train", icon=":material/model_training:")
        st.stop()
    options = list(groups)
    group_id = st.selectbox(
        "Comparison", options, index=options.index(chosen) if chosen in groups else 0,
        format_func=lambda g: picker_label(groups[g]))
    if group_id != chosen:
        state.set_comparison(group_id)
    return group_id


def picker_label(group: dict) -> str:
    """"Demo — from scratch, linear probe (6 runs, 2 Dec 14:05, 2 running)": the time tells repeats apart."""
    when = time.strftime("%d %b %H:%M", time.localtime(group["created"]))
    live = f", {group['active']} running or waiting" if group["active"] else ""
    return f"{group['name']} — {', '.join(map(label, group['strategies']))} ({group['runs']} runs, {when}{live})"


def share_panel(store: RunStore, workspace: str, group_id: str) -> None:
    """A read-only link to this comparison for other people; it never reveals the workspace link."""
    link = st.session_state.get("share_link")
    if st.button("Share read-only link", icon=":material/share:"):
        try:
            link = st.session_state["share_link"] = (group_id, workspaces.create_share(store, workspace, "comparison",
                                                                                       group_id))
        except UserError as exc:
            st.error(str(exc))
    if not link or link[0] != group_id:
        return
    st.code(state.share_url(link[1]), language=None)
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.caption("Anyone with this link sees this comparison (scores, charts and test examples) and can change "
                 "nothing; it gives no access to your other runs or uploads.")
    if right.button("Stop sharing"):
        workspaces.revoke_share(store, workspace, link[1])
        del st.session_state["share_link"]
        st.rerun()


def page_records(store: RunStore) -> tuple[str, list[RunRecord]]:
    """(comparison id, its runs): the shared one for a share link, else the workspace's chosen one."""
    shared = state.shared()
    if shared:  # opened through a share link: exactly that comparison, read-only
        records = comparison.comparison_records(store, shared[1], owner=EVERYONE)
        if not records:
            st.warning("The comparison behind this link no longer exists: its runs were deleted.")
            st.stop()
        st.caption(f"A read-only view of **{comparison.group_summaries(records)[0]['name']}**, shared with you.")
        context_card.context(records)
        return shared[1], records
    workspace = state.workspace()
    group_id = choose_comparison(store, workspace)
    share_panel(store, workspace, group_id)
    records = comparison.comparison_records(store, group_id, owner=workspace)
    context_card.context(records)
    return group_id, records


def reload_records(store: RunStore, group_id: str) -> list[RunRecord]:
    """The comparison's runs as they are now (the shared view's, or this workspace's)."""
    return comparison.comparison_records(store, group_id, owner=EVERYONE if state.shared() else state.workspace())


def status_banner(records: list[RunRecord]) -> None:
    counts = comparison.status_counts(records)
    if counts["active"]:
        st.info(f"{counts['active']} of {counts['total']} runs are still running or waiting; the charts show what "
                "has finished so far and update by themselves.", icon=":material/autorenew:")
    if counts["unsuccessful"]:
        st.warning(f"{counts['unsuccessful']} run(s) failed or were cancelled; they are left out (see the Runs page).")


def curves_section(store: RunStore, records: list[RunRecord]) -> None:
    st.subheader("Learning curves")
    curves = comparison.curves_frame(store, records)
    if curves.empty:
        st.caption("No epoch has finished yet.")
        return
    by_epoch, by_time = st.tabs(["By epoch", "By training time"])
    by_epoch.plotly_chart(figures.curves_figure(comparison.seed_bands(curves, "epoch"), "epoch"), key="curves_epoch",
                          config=CHART_CONFIG)
    by_time.plotly_chart(figures.curves_figure(comparison.seed_bands(curves, "elapsed"), "elapsed"),
                         key="curves_time", config=CHART_CONFIG)
    st.caption("Lines are the mean over seeds; the shaded band runs from the worst to the best seed.")


def scratch_vs_transfer(records: list[RunRecord], best: str) -> Dataset | None:
    """Confusion matrices, per-class gain, and the test examples the two disagree on; returns the comparison's
    dataset (None when it can no longer be read)."""
    st.subheader(f"From scratch vs {label(best)}")
    left, right = (per_example.confusion_frame(records, s) for s in ("scratch", best))
    gain, diff = per_example.per_class_gain(records, best), per_example.disagreements(records, best)
    missing = {run for frame in (left, right, gain, diff) for run in frame.attrs.get("missing", [])}
    if missing:
        st.warning(f"The result files of {len(missing)} run(s) are missing (deleted runs?); they are left out here.")
    if not left.empty and not right.empty:  # two figures in columns: on a phone they stack, never overlap
        for column, (matrix, name, key) in zip(st.columns(2), ((left, "From scratch", "confusion_scratch"),
                                                                (right, title(best), "confusion_transfer"))):
            column.plotly_chart(figures.confusion_figure(matrix, name), key=key, config=CHART_CONFIG)
        st.caption("Rows: the true class; columns: what the model said. Counts over all seeds; the darker a cell, "
                   "the larger its share of the true class.")
    if not gain.empty:
        st.plotly_chart(figures.per_class_gain_figure(gain, best), key="gain", config=CHART_CONFIG)
    st.subheader("Test examples they disagree on")
    ds = comparison_dataset(records)
    disagreement_gallery(diff, ds)
    return ds


def comparison_dataset(records: list[RunRecord]) -> Dataset | None:
    """The comparison's dataset as it was trained on, or None (with a warning) when it is gone or changed."""
    first = next((r for r in records if r.status == "succeeded" and r.result), None)
    cfg = first.config
    try:
        ds = engine.dataset(cfg["data"], cfg.get("text_column"), cfg.get("label_column"), cfg.get("data_name") or None)
    except (UserError, OSError):
        ds = None
    if ds is None or ds.fingerprint != (first.result.get("data_fingerprint") or ds.fingerprint):
        st.warning("The dataset of this comparison can no longer be read (moved, deleted or changed), so the "
                   "examples are listed by name only.")
        return None
    return ds


def disagreement_gallery(diff, ds: Dataset | None) -> None:
    kinds = [(per_example.TRANSFER_WINS, "Transfer right, scratch wrong"),
             (per_example.SCRATCH_WINS, "Scratch right, transfer wrong")]
    for tab, (kind, _) in zip(st.tabs([f"{t} ({(diff['kind'] == k).sum()})" for k, t in kinds]), kinds):
        rows = diff[diff["kind"] == kind]
        if rows.empty:
            tab.caption("None.")
        elif ds is not None and ds.modality == "image":
            _image_gallery(tab, rows, ds)
        else:
            table = rows.drop(columns="kind")
            if ds is not None:
                table.insert(2, "text", [str(ds.items[i])[:300] for i in table["index"]])
            tab.dataframe(table, hide_index=True)


def _image_gallery(tab, rows, ds: Dataset) -> None:
    """Small thumbnails that wrap to the screen's width (one list of images, not a grid of columns, which
    a phone would stack into one very long column of blown-up images)."""
    shown = rows.head(GALLERY_SIZE)
    images, captions, unreadable = [], [], []
    for row in shown.to_dict("records"):
        image = thumbnail(ds.items[row["index"]], GALLERY_SIDE)
        if image is None:
            unreadable.append(str(row["name"]))
            continue
        images.append(image)
        captions.append(f"true: {row['true']} · scratch: {row['scratch_pred']} · transfer: {row['transfer_pred']}")
    if images:
        tab.image(images, caption=captions, width=THUMBNAIL_PX)
    if unreadable:
        tab.caption(f"Unreadable or too large to preview: {', '.join(unreadable)}")
    if len(rows) > len(shown):
        tab.caption(f"Showing {len(shown)} of {len(rows)}.")
