"""The store's side of runs on other machines (migration 6): claiming for a Ray worker, leases and take-over,
attempts and nodes, and the local dispatcher leaving Ray runs alone. No cluster needed."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from tlcore.runs import Dispatcher
from tlcore.runs.store import EVERYONE, MIGRATIONS, RunStore


@pytest.fixture()
def store(tmp_path):
    return RunStore(tmp_path / "runs.sqlite3")


def _race(n: int, attempt) -> list[str]:
    """Run `attempt(name)` in n threads released at once; the names of those that returned True."""
    wins, barrier = [], threading.Barrier(n)

    def go(name: str) -> None:
        barrier.wait()
        if attempt(name):
            wins.append(name)
    threads = [threading.Thread(target=go, args=(f"server-{i}",)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return wins


def test_only_one_server_claims_a_queued_run_and_it_always_has_its_placement(store):
    run_id = store.create_run({"data": "x"})
    wins = _race(4, lambda me: RunStore(store.path).claim_remote(run_id, server=me, worker=f"w-{me}"))
    assert len(wins) == 1
    record, placement = store.get(run_id, owner=EVERYONE), store.placement(run_id)
    assert (record.status, record.executor) == ("starting", "ray")
    assert (placement.server, placement.worker, placement.attempt, placement.node_id) == (
        wins[0], f"w-{wins[0]}", 1, None)
    assert not store.claim(run_id)  # nor can a local dispatcher take it afterwards


def test_claim_remote_respects_the_shared_limit(store):
    first, second = store.create_run({"data": "x"}), store.create_run({"data": "x"})
    assert store.claim_remote(first, server="s", worker="w1", max_active=1)
    assert not store.claim_remote(second, server="s", worker="w2", max_active=1)
    assert store.placement(second) is None and store.get(second, owner=EVERYONE).status == "queued"


def test_attempts_record_each_node_and_how_it_ended(store):
    run_id = store.create_run({"data": "x"})
    store.claim_remote(run_id, server="s", worker="w1")
    assert store.placed(run_id, node="10.0.0.2", node_id="n2", pid=41)
    store.add_epoch(run_id, {"epoch": 1})
    store.attempt_ended(run_id, "retried")
    store.relaunched(run_id, worker="w2", attempt=2)
    assert store.placement(run_id).node_id is None
    assert store.placed(run_id, node="10.0.0.3", node_id="n3", pid=42)
    store.finish(run_id, "succeeded", result={})
    store.attempt_ended(run_id, "succeeded")
    record = store.get(run_id, owner=EVERYONE)
    assert (record.node, record.pid, record.status) == ("10.0.0.3", 42, "succeeded")
    assert store.attempts(run_id) == [{"attempt": 1, "node": "10.0.0.2", "ended": "retried"},
                                      {"attempt": 2, "node": "10.0.0.3", "ended": "succeeded"}]


def test_a_silent_servers_runs_are_taken_over_by_exactly_one_server(store):
    run_id = store.create_run({"data": "x"})
    store.claim_remote(run_id, server="dead", worker="w1")
    assert store.stale_placements(time.time() - 60) == []  # its lease is fresh
    assert not store.take_over(run_id, old_server="dead", new_server="b", stale_before=time.time() - 60)
    store.release_lease("dead")  # a clean stop: at once, not after the lease
    assert [p.run_id for p in store.stale_placements(time.time() - 60)] == [run_id]
    wins = _race(4, lambda me: RunStore(store.path).take_over(run_id, old_server="dead", new_server=me,
                                                              stale_before=time.time()))
    assert len(wins) == 1 and store.placement(run_id).server == wins[0]
    store.renew_lease(wins[0])
    assert store.stale_placements(time.time() - 60) == []


def test_the_local_dispatcher_leaves_runs_on_other_nodes_alone(store):
    """A Ray run's pid is a process on another machine: local recovery must not call it dead."""
    remote = store.create_run({"data": "x"})
    store.claim_remote(remote, server="s", worker="w")
    store.placed(remote, node="10.0.0.2", node_id="n", pid=999_999)
    local = store.create_run({"data": "x"})
    store.claim(local)
    store.mark_running(local, 999_998)
    assert Dispatcher(store, max_workers=1).recover() == [local]
    assert store.get(remote, owner=EVERYONE).status == "running"
    assert [r.id for r in store.active_runs(executor="ray")] == [remote]


def test_a_store_of_the_previous_schema_gains_the_new_columns(tmp_path):
    path = tmp_path / "runs.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for step in MIGRATIONS[:6]:  # the schema before the Ray migration (7), the python step (5) included
        if callable(step):
            step(conn)
        else:
            conn.executescript(step)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '6')")
    conn.execute("INSERT INTO runs (id, status, config, created) VALUES ('old', 'succeeded', '{}', 0)")
    conn.commit()
    conn.close()
    record = RunStore(path).get("old", owner=EVERYONE)
    assert (record.executor, record.node) == ("local", None)
