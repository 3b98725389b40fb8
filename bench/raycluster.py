"""A throw-away Ray cluster of several nodes on one machine, for the bench and the Ray tests.

Ray rewrites 127.0.0.1 to the machine's outside address, so each node gets its own loopback address
(127.0.0.2, 127.0.0.3, ...: Linux routes all of 127/8 to `lo`). Each node has its own short `--temp-dir`
(Unix socket paths must stay under 107 bytes), its own data directory (`TLAB_RAY_NODE_DIR`, as if it had its
own disk) and free ports, so two clusters on one machine never meet. Stopping is by pid, in `ray stop`'s
order: `ray stop` itself would kill every Ray process of this user, someone else's cluster included.

    with LocalCluster(root, workers=1) as cluster:   # head 127.0.0.2 + node 127.0.0.3, 1 CPU each
        RayExecutor(store, RaySettings(address=cluster.address, node_ip=cluster.head_ip))
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
RAY = str(Path(sys.executable).with_name("ray"))
OBJECT_STORE_BYTES = 80 * 1000 * 1000  # Ray's minimum is 75 MiB; larger objects spill to the temp dir
QUIET = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DISABLE_DOCKER_CPU_WARNING": "1"}


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class Node:
    ip: str
    temp_dir: Path
    data_dir: Path

    def processes(self) -> list[psutil.Process]:
        """This node's processes: those whose command line names its temp dir (gcs, raylet, dashboard, monitor)
        and all their descendants (agents and workers, titled `ray::...`)."""
        marker, me = f"{self.temp_dir}/session_", os.getpid()
        found: dict[int, psutil.Process] = {}
        for proc in psutil.process_iter(["cmdline"]):
            try:
                if proc.pid != me and any(marker in arg for arg in proc.info["cmdline"] or ()):
                    for p in [proc, *proc.children(recursive=True)]:
                        if p.status() != psutil.STATUS_ZOMBIE:
                            found[p.pid] = p
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return list(found.values())

    def raylet(self) -> psutil.Process:
        for proc in self.processes():
            if _name(proc) == "raylet":
                return proc
        raise LookupError(f"no raylet for node {self.ip}")


@dataclass
class LocalCluster:
    """`start()` a head and `workers` more nodes (each with `num_cpus`); `stop()` ends exactly their processes."""

    root: Path
    workers: int = 1
    num_cpus: int = 1
    nodes: list[Node] = field(default_factory=list)
    port: int = 0
    client_port: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def head_ip(self) -> str:
        return "127.0.0.2"

    @property
    def address(self) -> str:
        return f"{self.head_ip}:{self.port}"

    @property
    def client_address(self) -> str:
        return f"ray://{self.head_ip}:{self.client_port}"

    def __enter__(self) -> LocalCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalCluster:
        started = time.monotonic()
        self.port = free_port(self.head_ip)
        # even without the dashboard UI a headless dashboard binds a port (8265 by default): pin a free one
        # the head serves Ray Client (`ray://`) whether asked or not, on 10001 by default: a free port instead
        self.client_port = free_port(self.head_ip)
        head = ["--head", f"--port={self.port}", "--include-dashboard=false",
                f"--dashboard-port={free_port(self.head_ip)}", f"--ray-client-server-port={self.client_port}"]
        self._start_node(self.head_ip, head)
        self.timings["head_s"] = round(time.monotonic() - started, 2)
        for i in range(self.workers):
            self.add_node(f"127.0.0.{3 + i}")
        self.timings["start_s"] = round(time.monotonic() - started, 2)
        return self

    def add_node(self, ip: str) -> Node:
        """Start (or start again, after `kill_node`) a worker node at `ip`."""
        self.nodes = [n for n in self.nodes if n.ip != ip]
        return self._start_node(ip, [f"--address={self.address}"])

    def _start_node(self, ip: str, args: list[str]) -> Node:
        name = ip.replace(".", "_")
        node = Node(ip, self.root / name, self.root / f"data-{name}")
        node.temp_dir.mkdir(parents=True, exist_ok=True)
        self.nodes.append(node)  # before starting: a failed start is still stopped by stop()
        env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        env.update(QUIET, TLAB_RAY_NODE_DIR=str(node.data_dir),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
        cmd = [RAY, "start", *args, f"--node-ip-address={ip}", f"--num-cpus={self.num_cpus}",
               f"--resources={json.dumps({f'node_{name}': 1})}", f"--object-store-memory={OBJECT_STORE_BYTES}",
               f"--temp-dir={node.temp_dir}", "--disable-usage-stats", "--include-log-monitor=false",
               f"--dashboard-agent-listen-port={free_port(ip)}", "--min-worker-port=0", "--max-worker-port=0"]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"ray start failed for {ip}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
        return node

    def node(self, ip: str) -> Node:
        return next(n for n in self.nodes if n.ip == ip)

    def kill_node(self, ip: str) -> int:
        """SIGKILL one node's raylet (a machine dying, as far as the cluster can tell); returns its pid."""
        raylet = self.node(ip).raylet()
        raylet.send_signal(signal.SIGKILL)
        return raylet.pid

    def stop(self, grace_s: float = 5.0) -> None:
        """Raylets first (their agents and workers go with them), then the other head processes, the GCS last
        (it ignores SIGTERM while raylets are still registered); SIGKILL after `grace_s` in each step."""
        started = time.monotonic()
        procs = [p for node in reversed(self.nodes) for p in node.processes()] + self._client_servers()
        for step in (lambda n: n == "raylet", lambda n: n not in ("raylet", "gcs_server"), lambda n: n == "gcs_server"):
            _terminate([p for p in procs if step(_name(p))], grace_s)
        leftovers = [p.pid for node in self.nodes for p in node.processes()] + [p.pid for p in self._client_servers()]
        self.timings["stop_s"] = round(time.monotonic() - started, 2)
        shutil.rmtree(self.root, ignore_errors=True)
        if leftovers:
            raise RuntimeError(f"Ray processes survived stop(): {leftovers}")


    def _client_servers(self) -> list[psutil.Process]:
        """The head's Ray Client server: its command line names the cluster's address, not the temp dir, and it
        outlives the `ray start` that made it (its parent is init)."""
        if not self.port:
            return []
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            args = proc.info["cmdline"] or ()
            if "ray.util.client.server" in args and f"--address={self.address}" in args:
                found.append(proc)
        return found


def _name(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except psutil.NoSuchProcess:
        return ""


def _terminate(procs: list[psutil.Process], grace_s: float) -> None:
    for proc in procs:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)
