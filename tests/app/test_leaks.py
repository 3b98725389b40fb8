"""Nothing of one workspace reaches anyone else: an owner uploads and shares through the real pages; a viewer
of the share links, an anonymous visitor and a signed-in account's neighbour then look at everything they
receive — the URL, every element of the page and the sidebar (as the browser gets it), every chart and every
downloadable file — and find neither the owner's workspace id nor any server path. Guessed or forged `?ws=`
links open an empty workspace."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from tests.support.comparisons import make_comparison
from tests.support.data import coloured_zip
from tests.support.pages import WS_A, open_app
from tlcore.data import library, load_source
from tlcore.experiments import workspaces
from tlcore.runs.paths import run_dir
from tlcore.runs.store import RunStore

ADA = {"is_logged_in": True, "sub": "ada-42", "iss": "https://id.example", "name": "Ada"}


def _zip() -> bytes:
    return coloured_zip("pets", {"cat": (220, 30, 30), "dog": (30, 30, 220), "fox": (30, 220, 30)}, per_class=4)


@contextmanager
def downloads() -> Iterator[list[bytes]]:
    """Every file the pages hand to the browser while this is open: the content of each download button
    (deferred ones are produced exactly as a click would produce them)."""
    files: list[bytes] = []
    deferred: list[Callable] = []
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def recorded_add(self, path_or_data, *args, **kwargs):
        files.append(path_or_data if isinstance(path_or_data, bytes) else str(path_or_data).encode())
        return add(self, path_or_data, *args, **kwargs)

    def recorded_deferred(self, data_callable, *args, **kwargs):
        deferred.append(data_callable)
        return add_deferred(self, data_callable, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MediaFileManager, "add", recorded_add)
        mp.setattr(MediaFileManager, "add_deferred", recorded_deferred)
        yield files
    for produce in deferred:
        made = produce()
        files.append(made if isinstance(made, bytes) else str(made).encode())


def received(at: AppTest) -> str:
    """What the browser gets from this session: the URL's parameters and every element of the page and the
    sidebar, as the protocol sends it (labels, text, options, chart specs, table data, links)."""
    parts = [json.dumps(dict(at.query_params.items()))]
    for node in at._tree:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        if getattr(node, "type", "") in ("dataframe", "table"):
            parts.append(node.value.to_csv())
    return "\n".join(parts)


def assert_private(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} reached someone else: …{text[max(0, text.find(secret) - 120):][:240]}…"


@pytest.fixture()
def shared(data_dir):
    """The owner's side: an upload through the real Data page, a comparison and a study on it, a run renamed
    to nothing, and share links made with the pages' own buttons. Returns what must stay private."""
    store = RunStore()
    owner = open_app("data", ws=WS_A)
    owner.radio(key="data_mode").set_value("Upload").run()
    owner.file_uploader(key="upload_file").set_value(("pets.zip", _zip(), "application/zip")).run()
    handle = owner.session_state["data"]
    assert library.is_upload_ref(handle) and not owner.exception
    ids = make_comparison(store, data_dir, data=handle, fingerprint=load_source(handle).fingerprint,
                          running=False, group_id="cmp-pets", owner=WS_A, data_name="pets.zip")
    store.rename(ids[("scratch", 0)], "", owner=WS_A)  # its comparison's title must not fall back to a path
    run_dir(ids[("scratch", 0)]).joinpath("config.json").write_text(json.dumps({
        "data": {"name": "pets.zip", "size": 12, "fingerprint": "f00d"}, "split": {"id": "s1", "test": [0, 1]},
        "environment": {"python": "3.11"}}))
    spec = {"base": {"data": handle, "data_name": "pets.zip", "model": "mobilenet_v2"},
            "strategies": ["scratch", "linear_probe"], "per_class": ["all"], "seeds": 3}
    study = store.create_study(spec, list(ids.values()), owner=WS_A, name="mobilenet_v2 on pets.zip: data efficiency")
    compare = open_app("compare", ws=WS_A, cmp="cmp-pets")
    [share] = [b for b in compare.button if b.label == "Share read-only link"]
    share.click().run()
    comparison_link = compare.code[0].value
    study_page = open_app("study", ws=WS_A, study=study)
    [share] = [b for b in study_page.button if b.label == "Share a read-only link"]
    share.click().run()
    study_link = study_page.code[0].value
    secrets = [WS_A, str(data_dir), str(library.root()), "/uploads/", str(library.source_path(handle))]
    return {"comparison": comparison_link, "study": study_link, "handle": handle, "secrets": secrets}


def _token(link: str) -> str:
    return link.rsplit("?share=", 1)[1]


def test_a_viewer_of_the_share_links_receives_nothing_of_the_owners_workspace(shared):
    for link in (shared["comparison"], shared["study"]):
        assert_private(link, shared["secrets"])
        with downloads() as files:
            viewer = open_app(share=_token(link))
            for button in viewer.button:  # e.g. Refresh: whatever a viewer may press
                button.click().run()
        assert not viewer.exception and viewer.get("plotly_chart")
        assert_private(received(viewer), shared["secrets"])
        assert files, "the shared view offers its downloads (metrics, report)"
        for content in files:
            assert_private(content.decode("utf-8", errors="replace"), shared["secrets"])
        assert "pets.zip" in received(viewer) or any(b"pets.zip" in f for f in files)  # named by its name
        assert "Device:" not in received(viewer) and "Queue:" not in received(viewer)  # nothing about the server
    viewer = open_app(share=_token(shared["comparison"]))
    card = " ".join(m.value for m in viewer.markdown)  # the header card: what it is about, in names people gave
    assert "**Dataset:** pets.zip" in card and "**Repeats:** 3 seeds" in card and "**Model:**" in card


def test_a_guessed_or_forged_workspace_link_opens_an_empty_workspace(shared, data_dir):
    account = workspaces.workspace_for_identity(RunStore(), ADA["iss"], ADA["sub"])
    guesses = [library.upload_id(shared["handle"]), account, "u" + "0" * 36, WS_A[:-1] + "x", "../../etc/passwd"]
    for guess in guesses:
        visitor = open_app("runs", ws=guess)
        given = visitor.query_params["ws"]
        given = given[0] if isinstance(given, list) else given
        assert given != guess and workspaces.is_anonymous_workspace(RunStore(), given)  # a new, empty one
        assert "No runs yet" in " ".join(i.value for i in visitor.info)
        assert_private(received(visitor), shared["secrets"] + [account])
    visitor = open_app(data=shared["handle"])  # someone else's upload, by its handle
    assert "was not opened" in " ".join(w.value for w in visitor.warning)
    visitor.switch_page("app_pages/data.py").run()
    assert visitor.session_state["data"] != shared["handle"] and "pets" not in visitor.subheader[0].value
    assert_private(received(visitor), shared["secrets"])


def test_a_signed_in_accounts_workspace_never_appears_in_its_links_or_anyone_elses_page(data_dir):
    ada = open_app("data", user=ADA)
    account = workspaces.workspace_for_identity(RunStore(), ADA["iss"], ADA["sub"])
    ada.radio(key="data_mode").set_value("Upload").run()
    ada.file_uploader(key="upload_file").set_value(("pets.zip", _zip(), "application/zip")).run()
    [demo_link] = [v for k, v in ada.query_params.items() if k == "data"]
    assert library.is_upload_ref(demo_link[0] if isinstance(demo_link, list) else demo_link)
    assert_private(received(ada), [account, str(data_dir)])  # not even in Ada's own URL, which she may paste
    neighbour = open_app("runs", ws=account, data=ada.session_state["data"])
    assert_private(received(neighbour), [account])
    assert "No runs yet" in " ".join(i.value for i in neighbour.info)
