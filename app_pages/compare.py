"""Compare: how transfer strategies did against training from scratch, for one comparison (group of runs)."""

import streamlit as st

from components import charts, engine, state
from tlcore import analysis, workspaces
from tlcore.data import load_image
from tlcore.errors import UserError


def choose_comparison(store, workspace: str) -> str:
    """The selectbox of this workspace's comparisons; the link's `?cmp=` is preselected if it is one of them."""
    groups = {g["group_id"]: g for g in analysis.recent_comparisons(store, owner=workspace)}
    chosen = state.comparison()
    if chosen and chosen not in groups:  # older than the recent list, deleted, or another workspace's
        groups.update({g["group_id"]: g for g in analysis.group_summaries(
            analysis.comparison_records(store, chosen, owner=workspace))})
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
        format_func=lambda g: f"{groups[g]['name']} — {', '.join(map(analysis.label, groups[g]['strategies']))} "
                              f"({groups[g]['runs']} runs)")
    if group_id != chosen:
        state.set_comparison(group_id)
    return group_id


def share_panel(store, workspace: str, group_id: str) -> None:
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


st.title("Compare")
store = engine.store()
shared = state.shared()
if shared:  # opened through a share link: exactly that comparison, read-only
    group_id = shared[1]
    records = analysis.comparison_records(store, group_id)
    if not records:
        st.warning("The comparison behind this link no longer exists: its runs were deleted.")
        st.stop()
    st.caption(f"A read-only view of **{analysis.group_summaries(records)[0]['name']}**, shared with you.")
else:
    workspace = state.workspace()
    group_id = choose_comparison(store, workspace)
    share_panel(store, workspace, group_id)
    records = analysis.comparison_records(store, group_id, owner=workspace)
counts = analysis.status_counts(records)
if counts["active"]:
    left, right = st.columns([4, 1])
    left.info(f"{counts['active']} of {counts['total']} runs are still running or waiting; "
              "the charts show what has finished so far.")
    right.button("Refresh", width="stretch")
if counts["unsuccessful"]:
    st.warning(f"{counts['unsuccessful']} run(s) failed or were cancelled; they are left out (see the Runs page).")

final = analysis.final_frame(records)
st.info(f"**{analysis.verdict(final)}**", icon=":material/emoji_events:")
best = analysis.best_transfer(final)


st.subheader("Learning curves")
curves = analysis.curves_frame(store, records)
if curves.empty:
    st.caption("No epoch has finished yet.")
else:
    by_epoch, by_time = st.tabs(["By epoch", "By training time"])
    by_epoch.plotly_chart(charts.curves_figure(analysis.seed_bands(curves, "epoch"), "epoch"), key="curves_epoch")
    by_time.plotly_chart(charts.curves_figure(analysis.seed_bands(curves, "elapsed"), "elapsed"), key="curves_time")
    st.caption("Lines are the mean over seeds; the shaded band runs from the worst to the best seed.")

if not final.empty:
    st.subheader("Test accuracy")
    st.plotly_chart(charts.final_accuracy_figure(final), key="final")

if best and "scratch" in set(final["strategy"]):
    st.subheader(f"From scratch vs {analysis.label(best)}")
    left, right = (analysis.confusion_frame(records, s) for s in ("scratch", best))
    gain, diff = analysis.per_class_gain(records, best), analysis.disagreements(records, best)
    missing = {run for frame in (left, right, gain, diff) for run in frame.attrs.get("missing", [])}
    if missing:
        st.warning(f"The result files of {len(missing)} run(s) are missing (deleted runs?); they are left out here.")
    if not left.empty and not right.empty:
        title = analysis.label(best)[:1].upper() + analysis.label(best)[1:]
        st.plotly_chart(charts.confusion_figure(left, right, "From scratch", title), key="confusion")
    if not gain.empty:
        st.plotly_chart(charts.per_class_gain_figure(gain, best), key="gain")

    st.subheader("Test examples they disagree on")
    first = next((r for r in records if r.status == "succeeded" and r.result), None)
    cfg = first.config
    try:
        ds = engine.dataset(cfg["data"], cfg.get("text_column"), cfg.get("label_column"))
        if ds.fingerprint != (first.result.get("data_fingerprint") or ds.fingerprint):
            raise ValueError("changed")
    except Exception:  # the data was moved, deleted or changed since training
        ds = None
        st.warning("The dataset of this comparison can no longer be read (moved, deleted or changed), so the "
                   "examples are listed by name only.")
    kinds = [(analysis.TRANSFER_WINS, "Transfer right, scratch wrong"),
             (analysis.SCRATCH_WINS, "Scratch right, transfer wrong")]
    for tab, (kind, title) in zip(st.tabs([f"{t} ({(diff['kind'] == k).sum()})" for k, t in kinds]), kinds):
        rows = diff[diff["kind"] == kind]
        if rows.empty:
            tab.caption("None.")
        elif ds is not None and ds.modality == "image":
            shown = rows.head(24)
            cols = tab.columns(6)
            for i, row in enumerate(shown.to_dict("records")):
                try:
                    image = load_image(ds.items[row["index"]])
                except Exception:
                    cols[i % 6].caption(f"{row['name']} (unreadable)")
                    continue
                cols[i % 6].image(image, width="stretch", caption=f"true: {row['true']} · scratch: "
                                  f"{row['scratch_pred']} · transfer: {row['transfer_pred']}")
            if len(rows) > len(shown):
                tab.caption(f"Showing {len(shown)} of {len(rows)}.")
        else:
            table = rows.drop(columns="kind")
            if ds is not None:
                table.insert(2, "text", [str(ds.items[i])[:300] for i in table["index"]])
            tab.dataframe(table, hide_index=True)

if not final.empty:
    st.subheader("Cost")
    st.plotly_chart(charts.cost_figure(final), key="cost")

st.download_button("Download metrics (CSV)", analysis.metrics_csv(records), file_name=f"{group_id}-metrics.csv",
                   mime="text/csv")
