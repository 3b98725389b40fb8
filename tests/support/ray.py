"""The Ray tests' cluster and executors: one real two-node cluster on loopback for the whole session (head
127.0.0.2 + node 127.0.0.3, one CPU each), started and stopped by pid (see bench/raycluster.py)."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.raycluster import LocalCluster

HEAD, NODE_B = "127.0.0.2", "127.0.0.3"
NAMESPACE = "tlab-test"


def cluster_or_skip() -> Iterator[LocalCluster]:
    """A started two-node cluster; the test is skipped (with the reason) only where Ray cannot start."""
    try:
        import ray
    except ImportError as exc:
        pytest.skip(f"ray is not installed ({exc})")
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="tlr", dir="/tmp")), workers=1)  # short socket paths
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        cluster.stop()
        pytest.skip(f"a local Ray cluster cannot start here: {exc}")
    try:
        yield cluster
    finally:
        import ray
        if ray.is_initialized():
            ray.shutdown()
        cluster.stop()


def settings_for(cluster: LocalCluster, **changes):
    """Settings for an executor of the test cluster: quick drains, short leases, workers kept warm."""
    from tlcore.runs.ray.settings import RaySettings
    values = dict(address=cluster.address, node_ip=HEAD, namespace=NAMESPACE, drain_every_s=0.3,
                  recover_every_s=1.0, lease_s=5.0, idle_keep_s=600.0, orphan_ttl_s=300.0)
    return RaySettings(**dict(values, **changes))


def env_for(cluster: LocalCluster, data_dir: Path) -> dict[str, str]:
    """The environment that makes `make_executor` choose this cluster (for another server process)."""
    return {"TLAB_EXECUTOR": "ray", "TLAB_RAY_ADDRESS": cluster.address, "TLAB_RAY_NODE_IP": HEAD,
            "TLAB_RAY_NAMESPACE": NAMESPACE, "TLAB_RAY_DRAIN_EVERY_S": "0.3", "TLAB_DATA_DIR": str(data_dir)}


def our_actors() -> list[dict]:
    import ray
    return [a for a in ray.util.list_named_actors(all_namespaces=True) if a["namespace"] == NAMESPACE]


def wait_until_no_actors(timeout_s: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while (left := our_actors()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left
