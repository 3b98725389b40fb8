"""Helpers for the download tests: a real HTTP file server on 127.0.0.1, and Python processes in which chosen
installed packages are absent.

Absent, not mocked: `python_without` runs a fresh interpreter with `-S` (no automatic site-packages) and adds a
site folder made of links to every entry of this interpreter's site-packages except the hidden packages and their
dist-info, processing its .pth files as `site` would. To the code under test that environment is exactly one where
pip never installed those packages: `importlib.util.find_spec` and `importlib.metadata` do not find them, while the
loaders (torchvision, huggingface_hub) run unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import torch

from tests.support.paths import REPO
from tlcore.train.frozen_onnx import weights_digest


@dataclass
class Route:
    """A file the server answers one URL path with; the first `damaged_gets` GETs flip one byte in the middle."""

    path: Path
    headers: dict[str, str] = field(default_factory=dict)
    damaged_gets: int = 0


class _Handler(BaseHTTPRequestHandler):
    server: _FileServer

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def _answer(self, send_body: bool) -> None:
        path = urlsplit(self.path).path
        self.server.requests.append((self.command, path))
        route = self.server.routes.get(path)
        if route is None:
            self.send_error(404)
            return
        data = route.path.read_bytes()
        if send_body and route.damaged_gets > 0:
            route.damaged_gets -= 1
            data = bytearray(data)
            data[len(data) // 2] ^= 0xFF
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(bytes(data))

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass


class _FileServer(ThreadingHTTPServer):
    routes: dict[str, Route]
    requests: list[tuple[str, str]]


@contextlib.contextmanager
def file_server(routes: dict[str, Route]) -> Iterator[_FileServer]:
    """A real HTTP server on a free port of 127.0.0.1, in a thread, stopped afterwards. `.url`, `.requests`."""
    server = _FileServer(("127.0.0.1", 0), _Handler)
    server.routes, server.requests = routes, []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="test-file-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def hub_routes(repo_id: str, revision: str, files: dict[str, Path]) -> dict[str, Route]:
    """Routes as the Hugging Face hub answers `/{repo}/resolve/{revision}/{file}`: the commit and the file's
    sha256 as its ETag in the headers, which `hf_hub_download` needs to place the file in its cache."""
    return {f"/{repo_id}/resolve/{revision}/{name}": Route(path, {
        "X-Repo-Commit": revision, "ETag": f'"{hashlib.sha256(path.read_bytes()).hexdigest()}"'})
        for name, path in files.items()}


def site_without(packages: tuple[str, ...], dest: Path) -> Path:
    """A site folder of links to this interpreter's site-packages entries, less `packages` and their dist-info."""
    real = Path(sysconfig.get_paths()["purelib"])
    dest.mkdir(parents=True, exist_ok=True)
    for entry in real.iterdir():
        name = entry.name.split("-")[0].removesuffix(".py")
        if name in packages or entry.name in ("__pycache__",):
            continue
        (dest / entry.name).symlink_to(entry)
    return dest


def python_without(packages: tuple[str, ...], script: str, tmp: Path, env: dict[str, str | None],
                   timeout: float = 300) -> dict:
    """Run `script` in a fresh interpreter without `packages`; it must print one JSON object as its last line.

    `env` is applied on top of this process's environment (None removes a variable).
    """
    site_dir = site_without(packages, tmp / "site")
    boot = (f"import site, sys\nsite.addsitedir({str(site_dir)!r})\nsys.path.insert(0, {str(REPO)!r})\n")
    full_env = dict(os.environ)
    for key, value in env.items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    out = subprocess.run([sys.executable, "-S", "-c", boot + script], cwd=tmp, env=full_env, capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def state_digest(module: torch.nn.Module) -> str:
    """sha256 over a module's state dict (names and exact tensor bytes): equal iff the weights are identical.
    The same digest the frozen pass keys its ONNX exports by."""
    return weights_digest(module)
