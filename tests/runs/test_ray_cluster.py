"""The Ray executor on a real two-node cluster (tests/support/ray.py), through the app's own submit path.

One server (`env.server`) is shared by the module so its workers stay warm between tests. In order: a second
server that crashes mid-run has its runs taken over (and no run ever starts twice); a comparison and a study
fan out over both nodes with exactly the local executor's numbers; cancel reaches the other node; a node
killed mid-run (last: it leaves the cluster one node short), after which the app's pages still render.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.support.pages import register, upload
from tests.support.paths import APP, REPO
from tests.support.ray import HEAD, NODE_B, env_for, settings_for, wait_until_no_actors
from tests.support.worker import pump_until, tiny_config
from tlcore.experiments.study import StudySpec, submit_study
from tlcore.experiments.submit import submit, submit_comparison
from tlcore.runs import Dispatcher
from tlcore.runs.paths import run_dir
from tlcore.runs.store import EVERYONE, RunStore

pytestmark = [pytest.mark.slow, pytest.mark.ray]
WS = "rayNodeKillWorkspace_0"  # shaped like the tokens the server hands out: the app opens it from a link
RAY_WS, LOCAL_WS = ("ray-comparing", "ray-studying"), ("local-comparing", "local-studying")


@pytest.fixture(scope="module")
def env(ray_cluster, tmp_path_factory):
    from tlcore.runs.ray.executor import RayExecutor

    data_dir = tmp_path_factory.mktemp("ray-server")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLAB_DATA_DIR", str(data_dir))
        mp.delenv("TLAB_EXECUTOR", raising=False)
        store = RunStore()
        server = RayExecutor(store, settings_for(ray_cluster))
        yield SimpleNamespace(cluster=ray_cluster, store=store, server=server, data_dir=data_dir)
        server.terminate_all()
        server.pool.clear()
        left = wait_until_no_actors()
        server.stop()
    assert left == [], f"workers left on the cluster: {left}"


def _get(env, run_id: str):
    return env.store.get(run_id, owner=EVERYONE)


SECOND_SERVER = """
import os, time
from tlcore.runs.executor import make_executor
from tlcore.runs.store import RunStore
store, deadline = RunStore(), time.monotonic() + 300
ex = make_executor(store)  # TLAB_EXECUTOR=ray and TLAB_RAY_* from the environment: a ray:// address
def running_here():
    return [r for r in store.active_runs(executor="ray") if r.step > 0 and store.placement(r.id).server == ex.server]
while not running_here() and time.monotonic() < deadline:
    ex.pump()
    time.sleep(0.2)
print("RUNNING", flush=True)
until = time.monotonic() + 1.0
while time.monotonic() < until:  # both servers pump the one queue now
    ex.pump()
    time.sleep(0.2)
print("LAUNCHED", *sorted({run_id for _, run_id, what in ex.events if what.startswith("attempt 1 ")}), flush=True)
os._exit(9)  # a crash: no stop(), its lease is not released, its driver and the objects it owned are gone
"""


def test_a_crashed_servers_runs_are_taken_over_and_no_run_starts_twice(env, tiny_image_folder):
    """The other server reaches the cluster through Ray Client (`ray://`), as a server on no node would."""
    base = tiny_config(tiny_image_folder, strategy="scratch", epochs=12, patience=0)
    _, run_ids, _ = submit_comparison(env.store, base, ["scratch"], seeds=3)
    other = subprocess.Popen([sys.executable, "-c", SECOND_SERVER], cwd=REPO, text=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={**os.environ, **env_for(env.cluster, env.data_dir),
                                                          "TLAB_RAY_ADDRESS": env.cluster.client_address,
                                                          "TLAB_RAY_IDLE_KEEP_S": "0", "PYTHONPATH": str(REPO)})
    try:
        assert other.stdout.readline().strip() == "RUNNING", other.stderr.read()[-3000:]
        crashed = time.time()  # within a second of it
        records = env.server.wait(run_ids, poll_s=0.2, timeout_s=300)
        out, err = other.communicate(timeout=60)
    finally:
        other.kill()
    assert other.returncode == 9, err[-3000:]
    assert [r.status for r in records] == ["succeeded"] * 3, [r.error for r in records]
    theirs = set(next(ln for ln in out.splitlines() if ln.startswith("LAUNCHED")).split()[1:])
    ours = {r for _, r, what in env.server.events if what.startswith("attempt 1 ") and r in run_ids}
    assert theirs and not theirs & ours and theirs | ours == set(run_ids)  # each run started by one server
    taken = {r: t for t, r, what in env.server.events if what.startswith("took over")}
    assert set(taken) == theirs
    assert max(taken.values()) - crashed < 20  # its lease (5 s) ran out, then the next round took them
    for r in records:
        assert env.store.attempts(r.id) == [{"attempt": 1, "node": r.node, "ended": "succeeded"}]  # never twice
        assert len(env.store.epochs(r.id)) == r.result["epochs"] == 12  # epochs from before and after the crash
        assert (run_dir(r.id) / "model.safetensors").is_file()


def _comparison_and_study(store: RunStore, folder, owners: tuple[str, str]) -> list[str]:
    """A 3-seed comparison in one workspace and a 4-run study in another, each on the folder uploaded into its
    workspace as the Data page does (an `upload:` handle), queued through the app's submit path."""
    comparing, studying = owners
    base = tiny_config(upload(store, comparing, folder), epochs=2)
    _, run_ids, _ = submit_comparison(store, base, ["linear_probe"], seeds=3, owner=comparing)
    study = submit_study(store, StudySpec(base.with_(data=upload(store, studying, folder)), ("scratch", "linear_probe"),
                                          per_class=(2, None), seeds=1), owner=studying)
    assert study.new_runs == 4
    return run_ids + [cell.run_id for cell in study.cells]


def test_a_comparison_and_a_study_fan_out_over_both_nodes_and_match_the_local_executor(env, tiny_image_folder):
    ray_ids = _comparison_and_study(env.store, tiny_image_folder, RAY_WS)
    on_ray = env.server.wait(ray_ids, poll_s=0.2, timeout_s=300)
    assert [r.status for r in on_ray] == ["succeeded"] * len(ray_ids), [r.error for r in on_ray]
    assert {r.node for r in on_ray} == {HEAD, NODE_B} and {r.executor for r in on_ray} == {"ray"}
    assert all(r.config["data"].startswith("upload:") and r.config["max_seconds"] for r in on_ray)
    fetched = [o for r, o in env.server.outcomes.items() if r in ray_ids and o.data_fetched]
    assert len(fetched) <= 2  # the one upload went to each node at most once, whatever the runs
    assert all((run_dir(r) / "predictions.json").is_file() for r in ray_ids)
    started = list(dict.fromkeys(r for _, r, what in env.server.events if what.startswith("attempt 1 ")
                                 and r in ray_ids))  # in the order claimed (a run moved to a warm worker: once)
    owner = {r.id: r.owner for r in on_ray}
    assert [owner[r] for r in started] == [RAY_WS[i] for i in (0, 1, 0, 1, 0, 1, 1)]  # the queue takes turns

    local_ids = _comparison_and_study(env.store, tiny_image_folder, LOCAL_WS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLAB_TORCH_THREADS", "1")  # as the nodes (one CPU each): float sums depend on the thread count
        local = Dispatcher(env.store, max_workers=1).wait(local_ids, poll_s=0.2, timeout_s=300)
    assert [r.status for r in local] == ["succeeded"] * len(local_ids), [r.error for r in local]
    assert {r.executor for r in local} == {"local"}
    for r, loc in zip(on_ray, local):
        assert r.config == loc.config
        for key in ("test_accuracy", "macro_f1", "n_train", "split_id", "data_fingerprint"):
            assert r.result[key] == loc.result[key], (key, r.config)


def test_cancel_reaches_a_run_on_the_other_node(env, tiny_image_folder):
    long = tiny_config(tiny_image_folder, strategy="scratch", epochs=1000, patience=0)
    run_ids = [submit(env.store, long.with_(seed=s)) for s in (40, 41)]
    pump_until(lambda: all(_get(env, r).step > 0 for r in run_ids), env.server)
    by_node = {_get(env, r).node: r for r in run_ids}
    assert set(by_node) == {HEAD, NODE_B}
    asked = time.monotonic()
    assert env.server.cancel(by_node[NODE_B], owner=EVERYONE) == "running"
    (done,) = env.server.wait([by_node[NODE_B]], poll_s=0.1, timeout_s=60)
    assert time.monotonic() - asked < 10
    env.store.request_cancel(by_node[HEAD], owner=EVERYONE)  # as the pages do: only the store's flag
    (other,) = env.server.wait([by_node[HEAD]], poll_s=0.1, timeout_s=60)
    for r in (done, other):
        assert (r.status, r.error) == ("cancelled", "Cancelled by the user.") and r.step < r.total_steps
        assert not run_dir(r.id).exists()


def test_a_run_no_node_can_take_fails_at_once_with_the_reason(env, tiny_image_folder):
    run_id = submit(env.store, tiny_config(tiny_image_folder, device="cuda"))
    (done,) = env.server.wait([run_id], poll_s=0.1, timeout_s=30)
    assert (done.status, done.error) == ("failed", "No node of the Ray cluster has 1 GPU and 1 CPU; add such a node, "
                                         "or train on the CPU.")


def test_a_node_killed_mid_run_leaves_that_run_retried_and_the_rest_finished(env, tiny_image_folder):
    base = tiny_config(tiny_image_folder, strategy="scratch", epochs=25, patience=0)
    register(env.store, WS)  # a workspace this server created, so that the pages open it afterwards
    group, run_ids, _ = submit_comparison(env.store, base, ["scratch", "linear_probe"], seeds=2, owner=WS)

    def scratch_on_b() -> list[str]:
        return [r for r in run_ids if (rec := _get(env, r)).node == NODE_B and rec.status == "running"
                and rec.step > 0 and rec.config["strategy"] == "scratch"]
    pump_until(lambda: scratch_on_b(), env.server)
    (doomed,) = scratch_on_b()
    killed = time.monotonic()
    env.cluster.kill_node(NODE_B)
    pump_until(lambda: env.store.attempts(doomed)[0]["ended"] is not None, env.server, timeout_s=60)
    decided = time.monotonic() - killed
    print(f"the killed node's run was {env.store.attempts(doomed)[0]['ended']} {decided:.1f} s after the kill")
    assert decided < 60
    records = {r.id: r for r in env.server.wait(run_ids, poll_s=0.2, timeout_s=240)}
    attempts = env.store.attempts(doomed)
    if records[doomed].status == "succeeded":  # tried again on the node that is left
        assert attempts == [{"attempt": 1, "node": NODE_B, "ended": "retried"},
                            {"attempt": 2, "node": HEAD, "ended": "succeeded"}]
    else:
        assert records[doomed].status == "failed" and "node" in records[doomed].error, records[doomed].error
    assert all(records[r].status == "succeeded" for r in run_ids if r != doomed), [r.error for r in records.values()]
    _pages_still_render(env, group, doomed)


def _pages_still_render(env, group: str, doomed: str) -> None:
    """The Compare and Runs pages, served by an app whose own executor is the Ray one."""
    from components import engine

    with pytest.MonkeyPatch.context() as mp:
        for key, value in env_for(env.cluster, env.data_dir).items():
            mp.setenv(key, value)
        st.cache_resource.clear()
        try:
            at = AppTest.from_file(APP, default_timeout=60)
            at.query_params["ws"] = WS
            at.session_state["comparison"] = group
            at.run()
            at.switch_page("app_pages/compare.py")
            at.run()
            assert not at.exception and at.get("plotly_chart")
            at.switch_page("app_pages/runs.py")
            at.run()
            assert not at.exception
            assert set(at.dataframe[0].value["node"]) <= {HEAD, NODE_B}
            next(s for s in at.selectbox if s.label == "Open a run").set_value(doomed).run()
            ran_on = " ".join(c.value for c in at.caption if "Ran on" in c.value)
            assert "(Ray cluster)" in ran_on and (env.store.attempts(doomed)[0]["ended"] != "retried"
                                                 or f"attempt 1 on {NODE_B} (retried)" in ran_on), ran_on
        finally:
            engine.executor().stop()
            st.cache_resource.clear()

