"""What the person has chosen (workspace, dataset, model, active comparison), kept in the session and URL.

The URL's query parameters make a page reload or a bookmarked link land on the same workspace, dataset,
model and comparison; runs themselves live in the store, so nothing is lost when the browser reconnects.
The workspace (`?ws=`, see `tlcore.experiments.workspaces`) decides which runs and uploads a page may show or change;
`?share=TOKEN` instead opens one comparison read-only, without any workspace.
"""

from __future__ import annotations

from urllib.parse import urljoin

import streamlit as st

from components import engine
from tlcore.core.errors import ModelError, UserError
from tlcore.data import Dataset, is_upload_ref
from tlcore.experiments import workspaces
from tlcore.models import get_spec

DEFAULT_IMAGE_DATA = "tux-photos"
DEFAULT_IMAGE_MODEL = "mobilenet_v2"
DEFAULT_TEXT_MODEL = "minilm-l6"
_KEYS = {"data": "data", "model": "model", "comparison": "cmp", "live_comparison": "live", "study": "study",
         "text_column": "text", "label_column": "label", "freeze_through": "freeze"}


def _get(name: str, default: str | None = None) -> str | None:
    if name in st.session_state and st.session_state[name]:
        return st.session_state[name]
    value = st.query_params.get(_KEYS[name])
    if value:
        st.session_state[name] = value
        return value
    return default


def _set(name: str, value: str | None) -> None:
    st.session_state[name] = value
    if value:
        st.query_params[_KEYS[name]] = value
    elif _KEYS[name] in st.query_params:
        del st.query_params[_KEYS[name]]


def workspace() -> str:
    """This session's workspace id: a signed-in person's own, else the link's `?ws=`, else a new one, which
    is written into the URL (the URL is then the way back to it). Pass it as `owner` to every store call."""
    signed_in = _signed_in_workspace()
    if signed_in:  # the account is the key: keep the id out of links that may be copied around
        if "ws" in st.query_params:
            del st.query_params["ws"]
        return signed_in
    ws = st.session_state.get("anonymous_workspace")
    if not ws:
        ws = st.session_state["anonymous_workspace"] = _linked_or_new_workspace()
    if st.query_params.get("ws") != ws:
        st.query_params["ws"] = ws
    return ws


def client_address() -> str:
    """Where this session comes from: the visitor's address, through the proxies in front (see
    `workspaces.client_from`); the rate limit and the per-client run cap count by it."""
    peer = st.context.ip_address
    return workspaces.client_from(peer if isinstance(peer, str) else None, st.context.headers.get("X-Forwarded-For"))


def _linked_or_new_workspace() -> str:
    """The link's workspace if this server created it as an anonymous one; otherwise a new one (rate-limited
    per client: past the limit the page says so and stops)."""
    linked = st.query_params.get("ws")
    if workspaces.is_anonymous_workspace(engine.store(), linked):
        return linked
    try:
        ws = workspaces.new_workspace(engine.store(), client=client_address())
    except UserError as exc:
        st.error(str(exc))
        st.stop()
    if linked:
        st.session_state["notice"] = "The workspace in the link is not valid, so a new, empty one was started."
    return ws


def sign_in_configured() -> bool:
    """True when the host set up `st.login` (an `[auth]` section in secrets): only then does `st.user` say
    whether someone is logged in. Never raises when sign-in is not configured."""
    return "is_logged_in" in st.user


def _signed_in_workspace() -> str | None:
    if not (sign_in_configured() and st.user.get("is_logged_in")):
        return None
    subject = st.user.get("sub") or st.user.get("email")
    if not subject:
        return None
    key = (str(st.user.get("iss") or ""), str(subject))
    cached = st.session_state.get("account_workspace")
    if not cached or cached[0] != key:
        cached = (key, workspaces.workspace_for_identity(engine.store(), *key))
        st.session_state["account_workspace"] = cached
    return cached[1]


def share_token() -> str | None:
    return st.query_params.get("share") or None


def shared() -> tuple[str, str] | None:
    """(kind, target id) when the app was opened through a read-only share link, else None."""
    token = share_token()
    if not token:
        return None
    return workspaces.resolve_share(engine.store(), token)


def share_url(token: str) -> str:
    """The full link that opens a share token (the app's root URL; relative when the browser's is unknown)."""
    return urljoin(st.context.url or "/", ".") + f"?share={token}"


def pop_notice() -> str | None:
    """A one-off message about the link (a refused dataset, an invalid workspace) for the router to show."""
    return st.session_state.pop("notice", None)


def data_source() -> str:
    """The active dataset: a built-in id, or an upload of this workspace. A path from a link that is not
    this workspace's upload (another workspace's, or any file on the server) is refused."""
    source = _get("data", DEFAULT_IMAGE_DATA)
    if source != DEFAULT_IMAGE_DATA and not workspaces.may_use_data(engine.store(), workspace(), source):
        for name in ("data", "text_column", "label_column"):
            _set(name, None)
        st.session_state["notice"] = ("The dataset in the link was not opened: uploads are private to the "
                                      "workspace that uploaded them. Upload the data again on the Data page.")
        return DEFAULT_IMAGE_DATA
    return source


def data_label(source: str | None = None) -> str:
    """The active (or given) dataset as people see it: a built-in's id or the upload's file name."""
    return workspaces.data_label(engine.store(), workspace(), source or data_source())


def run_data_label(record) -> str:
    """The dataset of a run as people see it (its owner's name for an upload; never a server path)."""
    return workspaces.data_label(engine.store(), record.owner, record.config.get("data", ""),
                                 record.config.get("data_name", ""))


def set_data_source(source: str, text_column: str | None = None, label_column: str | None = None) -> None:
    _set("data", source)
    _set("text_column", text_column)
    _set("label_column", label_column)


def columns() -> tuple[str | None, str | None]:
    return _get("text_column"), _get("label_column")


def model_id(modality: str) -> str:
    default = DEFAULT_IMAGE_MODEL if modality == "image" else DEFAULT_TEXT_MODEL
    chosen = _get("model")
    try:
        if chosen and get_spec(chosen).modality == modality:
            return chosen
    except ModelError:  # an unknown id in an old link falls back to the default
        pass
    return default


def set_model(model: str) -> None:
    _set("model", model)


def freeze_through(model: str) -> str | None:
    """The stage the Models page's layer advice suggested freezing `model` through, once someone chose to use
    it on Train (None for another model)."""
    stage, _, advised_for = (_get("freeze_through") or "").partition("@")
    return stage if stage and advised_for == model else None


def set_freeze_through(model: str, stage: str) -> None:
    _set("freeze_through", f"{stage}@{model}")


def comparison() -> str | None:
    """The comparison the Compare page shows (its picker changes it)."""
    return _get("comparison")


def set_comparison(group_id: str | None) -> None:
    _set("comparison", group_id)


def live_comparison() -> str | None:
    """The comparison this session last started, which the Train page keeps watching. Separate from the
    Compare page's choice, so that looking at an older comparison never hides the one that is running."""
    return _get("live_comparison")


def started_comparison(group_id: str) -> None:
    """A comparison was just started (or reused): Train watches it and Compare opens on it."""
    _set("live_comparison", group_id)
    _set("comparison", group_id)


def study() -> str | None:
    return _get("study")


def set_study(study_id: str | None) -> None:
    _set("study", study_id)


def keep_in_url() -> None:
    """Re-write the session's choices into the URL (st.navigation drops unknown query params on switch)."""
    workspace()
    for name, param in _KEYS.items():
        value = st.session_state.get(name)
        if value and st.query_params.get(param) != value:
            st.query_params[param] = value


def dataset(source: str, text_column: str | None = None, label_column: str | None = None) -> Dataset:
    """A dataset this workspace may use, loaded under the name it gave it (UserError when it cannot be read)."""
    name = data_label(source) if is_upload_ref(source) else None
    return engine.dataset(source, text_column, label_column, name)


def active_dataset() -> Dataset:
    """The session's chosen dataset; when it cannot be read, say why, point to the Data page and stop."""
    source = data_source()
    try:
        return dataset(source, *columns())
    except UserError as exc:
        st.error(f"The dataset '{data_label(source)}' cannot be used: {exc}")
        st.page_link("app_pages/data.py", label="Choose another dataset", icon=":material/dataset:")
        st.stop()
