"""Workspaces in the engine: ids, which data a workspace may read, share links, owner-guarded run actions,
and the per-workspace limits on queued runs and storage (real store, real files, no mocks)."""

from __future__ import annotations

import os
import stat

import pytest

from tlcore.core.config import TrainConfig
from tlcore.core.errors import UserError
from tlcore.data import save_folder_upload, save_upload
from tlcore.experiments import submit, workspaces
from tlcore.runs.store import EVERYONE, RunStore

A, B = "workspace-a-0123456789", "workspace-b-0123456789"


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    return RunStore(tmp_path / "runs.sqlite3")


def test_new_ids_are_unguessable_and_only_safe_ids_pass():
    ids = {workspaces.new_workspace() for _ in range(100)}
    assert len(ids) == 100 and all(workspaces.is_workspace_id(i) and len(i) >= 22 for i in ids)
    for bad in ["", None, "short", "../../etc/passwd", "a/b" * 10, "x" * 65, "spaces are not ok here"]:
        assert not workspaces.is_workspace_id(bad)
    with pytest.raises(ValueError):
        workspaces.uploads_dir("../escape-0123456789")


def test_account_workspace_is_stable_private_and_keyed_by_a_server_secret(store, tmp_path, monkeypatch):
    ws = workspaces.workspace_for_identity("https://id.example", "user-42")
    assert ws == workspaces.workspace_for_identity("https://id.example", "user-42")
    assert workspaces.is_workspace_id(ws)
    assert ws != workspaces.workspace_for_identity("https://id.example", "user-43")
    assert ws != workspaces.workspace_for_identity("https://other.example", "user-42")
    secret = tmp_path / "workspace-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and len(secret.read_bytes()) == 32
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path / "another-server"))  # another server, another secret
    assert workspaces.workspace_for_identity("https://id.example", "user-42") != ws


def test_a_workspace_reads_builtins_and_its_own_uploads_only(store, tmp_path):
    mine = save_upload("mine.csv", b"text,label\nhi,a\n", workspace=A)
    theirs = save_upload("theirs.csv", b"text,label\nho,b\n", workspace=B)
    folder = save_folder_upload([("x/a/1.txt", b"1")], workspace=A)
    assert mine.is_relative_to(tmp_path / "uploads" / A) and folder.is_relative_to(tmp_path / "uploads" / A)
    assert workspaces.may_read_source(A, "digits") and workspaces.may_read_source(B, "digits")
    assert workspaces.may_read_source(A, str(mine)) and workspaces.may_read_source(A, str(folder))
    assert not workspaces.may_read_source(A, str(theirs))
    assert not workspaces.may_read_source(B, str(mine))
    link = tmp_path / "uploads" / A / "link-out"
    os.symlink("/etc", link)  # a symlink inside the workspace that points outside it
    for refused in ["/etc/passwd", str(link / "passwd"), str(tmp_path / "runs.sqlite3"),
                    str(tmp_path / "uploads" / A / ".." / B), "relative/path.csv", ""]:
        assert not workspaces.may_read_source(A, refused), refused
    assert not workspaces.may_read_source("", str(mine))  # no workspace, no uploads


def test_share_links_are_read_only_tokens_for_the_owner_only(store):
    store.create_run({"strategy": "scratch"}, group_id="cmp-a", owner=A)
    token = workspaces.create_share(store, A, "comparison", "cmp-a")
    assert workspaces.is_workspace_id(token) and A not in token
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


def test_storage_limit_counts_uploads_and_trained_models(store, tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_MAX_WORKSPACE_MB", "1")
    save_upload("data.csv", b"x" * 400_000, workspace=A)
    run = store.create_run({"strategy": "scratch"}, owner=A)
    (tmp_path / "runs" / run).mkdir(parents=True)
    (tmp_path / "runs" / run / "model.safetensors").write_bytes(b"w" * 400_000)
    assert workspaces.usage_bytes(store, A) == 800_000 and workspaces.usage_bytes(store, B) == 0
    workspaces.check_room(store, A, new_bytes=200_000)
    with pytest.raises(UserError, match="Adding 0.3 MB would take it past its limit of 1.0 MB"):
        workspaces.check_room(store, A, new_bytes=300_000)
    (tmp_path / "runs" / run / "predictions.json").write_bytes(b"p" * 300_000)
    with pytest.raises(UserError, match="Delete runs you no longer need"):
        submit.submit(store, TrainConfig(data="digits", model="mobilenet_v2"), owner=A)
    workspaces.check_room(store, B, new_runs=1, new_bytes=500_000)
