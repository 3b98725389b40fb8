"""Workspaces in the engine: ids, which data a workspace may read, share links, owner-guarded run actions,
and the per-workspace limits on queued runs and storage (real store, real files, no mocks)."""

from __future__ import annotations

import io
import stat
import zipfile

import numpy as np
import pytest

from tlcore.core.config import TrainConfig
from tlcore.core.errors import UserError
from tlcore.data import library
from tlcore.experiments import quotas, submit, uploads, workspaces
from tlcore.runs.store import EVERYONE, RunStore

A, B = "workspace-a-0123456789", "workspace-b-0123456789"


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    return RunStore(tmp_path / "runs.sqlite3")


def test_only_workspaces_this_server_created_open_and_never_an_accounts(store):
    ids = {workspaces.new_workspace(store, client=f"10.0.0.{i}") for i in range(100)}
    assert len(ids) == 100 and all(workspaces.is_anonymous_workspace(store, i) and len(i) == 22 for i in ids)
    account = workspaces.workspace_for_identity(store, "https://id.example", "user-42")
    forged = "u" + "0" * 36  # shaped like an account id
    for refused in ["", None, "short", "../../etc/passwd", "x" * 22, "a/b" * 10, account, forged, A]:
        assert not workspaces.is_anonymous_workspace(store, refused), refused  # typed, guessed or an account's


def test_new_workspaces_are_rate_limited_per_client(store, monkeypatch):
    monkeypatch.setenv("TLAB_MAX_NEW_WORKSPACES_PER_HOUR", "3")
    for _ in range(3):
        workspaces.new_workspace(store, client="203.0.113.7")
    with pytest.raises(UserError, match="Too many new workspaces .* Open your earlier link"):
        workspaces.new_workspace(store, client="203.0.113.7")
    assert workspaces.new_workspace(store, client="198.51.100.1")  # another client is not held back


def test_the_client_is_the_visitor_behind_the_proxies_not_the_proxy_and_not_what_the_visitor_claims():
    # a proxy on this machine (Streamlit reports no peer address for it): the address that proxy appended
    assert workspaces.client_from(None, "203.0.113.7") == "203.0.113.7"
    assert workspaces.client_from(None, "6.6.6.6, 203.0.113.7") == "203.0.113.7"  # the first entry is forgeable
    assert workspaces.client_from("198.51.100.1", "6.6.6.6") == "198.51.100.1"  # no proxy: the peer itself
    assert workspaces.client_from("172.18.0.5", "6.6.6.6, 203.0.113.7", hops=1) == "203.0.113.7"  # proxy container
    assert workspaces.client_from("172.18.0.5", "203.0.113.7, 10.0.0.2", hops=2) == "203.0.113.7"  # CDN + proxy
    assert workspaces.client_from(None, None) == "local"


def test_the_workspaces_one_client_opens_share_one_cap_on_queued_runs(store, monkeypatch):
    monkeypatch.setenv("TLAB_MAX_QUEUED_PER_CLIENT", "4")
    config = TrainConfig(data="digits", model="mobilenet_v2", strategy="scratch")
    mine = [workspaces.new_workspace(store, client="203.0.113.7") for _ in range(3)]
    for ws in mine[:2]:
        submit.submit_comparison(store, config, ["scratch", "linear_probe"], seeds=1, owner=ws)
    with pytest.raises(UserError, match="Your network already has 4 run"):
        submit.submit(store, config, owner=mine[2])  # a fresh workspace does not bring fresh room
    submit.submit(store, config, owner=workspaces.new_workspace(store, client="198.51.100.1"))


def test_account_workspace_is_stable_private_and_keyed_by_a_server_secret(store, tmp_path, monkeypatch):
    ws = workspaces.workspace_for_identity(store, "https://id.example", "user-42")
    assert ws == workspaces.workspace_for_identity(store, "https://id.example", "user-42")
    assert store.workspace_kind(ws) == "account"
    assert ws != workspaces.workspace_for_identity(store, "https://id.example", "user-43")
    assert ws != workspaces.workspace_for_identity(store, "https://other.example", "user-42")
    secret = tmp_path / "workspace-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and len(secret.read_bytes()) == 32
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path / "another-server"))  # another server, another secret
    assert workspaces.workspace_for_identity(store, "https://id.example", "user-42") != ws


def test_a_workspace_uses_builtins_and_its_own_uploads_only(store, tmp_path):
    mine = uploads.upload_file(store, A, "mine.csv", b"text,label\nhi,a\n")
    theirs = uploads.upload_file(store, B, "theirs.csv", b"text,label\nho,b\n")
    folder = uploads.upload_folder(store, A, [("x/a/1.txt", b"1")])
    assert workspaces.may_use_data(store, A, "digits") and workspaces.may_use_data(store, B, "digits")
    assert workspaces.may_use_data(store, A, mine) and workspaces.may_use_data(store, A, folder)
    assert not workspaces.may_use_data(store, A, theirs) and not workspaces.may_use_data(store, B, mine)
    for refused in ["/etc/passwd", str(tmp_path / "runs.sqlite3"), str(library.source_path(mine)),
                    "upload:" + "0" * 32, "relative/path.csv", ""]:
        assert not workspaces.may_use_data(store, A, refused), refused
    assert not workspaces.may_use_data(store, "", mine)  # no workspace, no uploads
    # the same bytes uploaded by B under another name: B sees its own name, A keeps its own
    again = uploads.upload_file(store, B, "b-copy.csv", b"text,label\nhi,a\n")
    assert again == mine and workspaces.data_label(store, B, mine) == "b-copy.csv"
    assert workspaces.data_label(store, A, mine) == "mine.csv"


def test_share_links_are_read_only_tokens_for_the_owner_only(store):
    store.create_run({"strategy": "scratch"}, group_id="cmp-a", owner=A)
    token = workspaces.create_share(store, A, "comparison", "cmp-a")
    assert len(token) == 22 and A not in token
    assert workspaces.create_share(store, A, "comparison", "cmp-a") == token  # asking again: the same link
    assert workspaces.resolve_share(store, token) == ("comparison", "cmp-a")
    with pytest.raises(UserError, match="not found in this workspace"):
        workspaces.create_share(store, B, "comparison", "cmp-a")  # B cannot share A's comparison
    with pytest.raises(UserError):
        workspaces.create_share(store, A, "comparison", "cmp-missing")
    study = store.create_study({"kind": "test"}, [], owner=A)
    study_token = workspaces.create_share(store, A, "study", study)
    assert workspaces.resolve_share(store, study_token) == ("study", study)
    assert workspaces.resolve_share(store, "no-such-token-000000") is None
    assert workspaces.resolve_share(store, "../bad") is None
    assert not workspaces.revoke_share(store, B, token)  # only the owner stops sharing
    assert workspaces.revoke_share(store, A, token) and workspaces.resolve_share(store, token) is None


def test_run_actions_with_an_owner_never_touch_another_workspaces_runs(store):
    queued = store.create_run({"strategy": "scratch"}, owner=A)
    done = store.create_run({"strategy": "scratch"}, owner=A)
    store.claim(done)
    store.finish(done, "succeeded", result={})
    assert store.get(queued, owner=B) is None and store.get(queued, owner=A).id == queued
    assert store.request_cancel(queued, owner=B) is None and store.get(queued, owner=EVERYONE).status == "queued"
    assert not store.rename(done, "mine now", owner=B) and store.get(done, owner=EVERYONE).name == ""
    assert not store.delete(done, owner=B) and store.get(done, owner=EVERYONE) is not None
    assert [r.id for r in store.list_runs(owner=B)] == []
    assert store.request_cancel(queued, owner=A) == "cancelled"
    assert store.rename(done, "kept", owner=A) and store.delete(done, owner=A)


def test_queue_limit_per_workspace_gives_a_plain_message_and_queues_nothing(store, monkeypatch):
    monkeypatch.setenv("TLAB_MAX_QUEUED_PER_WORKSPACE", "3")
    config = TrainConfig(data="digits", model="mobilenet_v2", strategy="scratch")
    first = [submit.submit(store, config, owner=A) for _ in range(2)]
    with pytest.raises(UserError) as err:  # 2 waiting + 2 more would pass 3: nothing is half-queued
        submit.submit_comparison(store, config, ["scratch", "linear_probe"], seeds=1, owner=A)
    assert "already has 2 run(s) waiting or running, and 2 more would pass its limit of 3" in str(err.value)
    assert len(store.list_runs(owner=A)) == 2
    submit.submit(store, config, owner=A)
    with pytest.raises(UserError, match="limit of 3"):
        submit.submit(store, config, owner=A)
    submit.submit(store, config, owner=B)  # other workspaces and the command line have their own room
    submit.submit(store, config, owner="")
    store.request_cancel(first[0], owner=A)  # a finished (cancelled) run frees its place
    submit.submit(store, config, owner=A)


def test_storage_limit_counts_uploads_unpacked_and_trained_models(store, tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_MAX_WORKSPACE_MB", "1")
    uploads.upload_file(store, A, "data.csv", b"x" * 400_000)
    run = store.create_run({"strategy": "scratch"}, owner=A)
    (tmp_path / "runs" / run).mkdir(parents=True)
    (tmp_path / "runs" / run / "model.safetensors").write_bytes(b"w" * 400_000)
    assert quotas.usage_bytes(store, A) == 800_000 and quotas.usage_bytes(store, B) == 0
    quotas.check_room(store, A, new_bytes=200_000)
    with pytest.raises(UserError, match="Adding 0.3 MB would take it past its limit of 1.0 MB"):
        quotas.check_room(store, A, new_bytes=300_000)
    (tmp_path / "runs" / run / "predictions.json").write_bytes(b"p" * 300_000)
    with pytest.raises(UserError, match="Delete runs you no longer need"):
        submit.submit(store, TrainConfig(data="digits", model="mobilenet_v2"), owner=A)
    quotas.check_room(store, B, new_runs=1, new_bytes=500_000)


def test_a_zip_is_charged_at_its_unpacked_size_and_a_refused_one_leaves_nothing(store, tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_MAX_WORKSPACE_MB", "1")
    buf, rng = io.BytesIO(), np.random.default_rng(0)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:  # 1.2 MB of files that pack to about 0.35 MB
        for cls in ("a", "b"):
            for i in range(3):
                zf.writestr(f"{cls}/{i}.txt", rng.choice(list(b"acgt"), 200_000).astype(np.uint8).tobytes())
    assert len(buf.getvalue()) < 500_000
    with pytest.raises(UserError, match="would take it past its limit of 1.0 MB"):
        uploads.upload_file(store, A, "small.zip", buf.getvalue())
    assert quotas.usage_bytes(store, A) == 0 and not any((tmp_path / "datasets").iterdir())
    assert not (tmp_path / "uploads").exists()


def test_server_wide_limits_hold_for_everyone_with_plain_messages(store, monkeypatch):
    monkeypatch.setenv("TLAB_MAX_QUEUED_TOTAL", "2")
    config = TrainConfig(data="digits", model="mobilenet_v2", strategy="scratch")
    submit.submit(store, config, owner=A)
    submit.submit(store, config, owner=B)
    for owner in (workspaces.new_workspace(store), ""):  # a fresh workspace gets no new room, nor does the CLI
        with pytest.raises(UserError, match="waiting or running for everyone.*limit of 2"):
            submit.submit(store, config, owner=owner)
    monkeypatch.setenv("TLAB_MAX_DISK_MB", "1")
    with pytest.raises(UserError, match="storage for uploads and trained models is full"):
        uploads.upload_file(store, A, "big.csv", b"text,label\n" + b"hi,a\n" * 300_000)


def test_runs_from_the_app_get_the_servers_time_budget_and_name_their_data_not_its_place(store, monkeypatch):
    monkeypatch.setenv("TLAB_APP_RUN_SECONDS", "600")
    ref = uploads.upload_file(store, A, "reviews.csv", b"text,label\n" + b"good,pos\nbad,neg\n" * 10)
    config = TrainConfig(data=ref, model="glove-50d-bag", strategy="scratch", max_seconds=9000)
    record = store.get(submit.submit(store, config, owner=A), owner=A)
    assert record.config["max_seconds"] == 600 and record.config["data_name"] == "reviews.csv"
    assert record.name == "glove-50d-bag on reviews.csv: from scratch (seed 0)"
    cli = store.get(submit.submit(store, config.with_(max_seconds=None), owner=""), owner=EVERYONE)
    assert cli.config["max_seconds"] is None  # the command line is the host's own
