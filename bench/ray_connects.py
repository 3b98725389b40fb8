"""`python -m bench.ray_connects [N]`: connect to a throw-away one-node cluster through Ray Client (`ray://`)
N times with the executor's own `connect`, and count how often the head's fork of the driver's server died at
birth and the connect was asked again (ray-project/ray#63202; see `tlcore.runs.ray.settings._init`), and how
many connects failed even so. Prints one JSON line. Each connect takes a few seconds (a new server process).
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from bench.raycluster import LocalCluster


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.retries += "did not start" in record.getMessage()


def main(argv: list[str]) -> dict[str, float]:
    import ray

    from tlcore.runs.ray import settings as ray_settings

    connects = int(argv[0]) if argv else 30
    counter = _Count()
    logging.getLogger(ray_settings.__name__).addHandler(counter)
    failed, started = [], time.monotonic()
    with LocalCluster(Path(tempfile.mkdtemp(prefix="tlr", dir="/tmp")), workers=0) as cluster:
        settings = ray_settings.RaySettings(address=cluster.client_address, namespace="bench-connects")
        for i in range(connects):
            try:
                ray_settings.connect(settings)
                assert ray.get(ray.put(i)) == i
            except Exception as exc:  # counted and reported; the loop goes on
                failed.append(f"{type(exc).__name__}: {str(exc)[:300]}")
            finally:
                ray_settings.disconnect()
    return {"connects": connects, "retried": counter.retries, "failed": len(failed), "errors": failed[:3],
            "seconds": round(time.monotonic() - started, 1)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
