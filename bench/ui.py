"""Is the app still responsive while a run trains? Page switches in a real browser, idle vs busy.

A real `streamlit run app.py` on a free port (with the bench's data directory) is driven by Chromium through
Playwright, as in tests/test_browser.py. A page switch is one script rerun over the websocket; we time
from the click on the sidebar link to the new page's title being shown. Then a fine-tune run is queued in
the server's store, the app's own dispatcher starts its worker (which lowers its priority), and once that
worker is training the same page switches are timed again. The run is then cancelled and the idle switches
are timed once more (idle = before and after).
"""

from __future__ import annotations

import importlib.util
import statistics
import time

import psutil

from bench.appserver import CHROMIUM, CHROMIUM_ARGS, running_app
from tlcore.core import settings
from tlcore.core.config import TrainConfig
from tlcore.experiments.submit import submit
from tlcore.runs.store import EVERYONE, RunStore

PAGES = ("Models", "Runs")  # light pages: what is measured is the rerun itself, not a heavy page


def ui_unavailable() -> str | None:
    """Why the UI measurement cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (install Debian's chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed"
    return None


def measure_ui(switches: int = 10, busy_config: TrainConfig | None = None) -> dict:
    """Median and max page-switch latency (s), idle and with a worker training."""
    from playwright.sync_api import sync_playwright

    config = busy_config or TrainConfig(data="tux-photos", model="mobilenet_v2", strategy="finetune", epochs=200,
                                        patience=0)
    # The worker keeps its own default priority (TLAB_WORKER_NICE unset): that is what is being measured.
    with running_app(settings.data_dir(), {"TLAB_WORKER_NICE": ""}, log_name="bench-server.log") as (url, _), \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_role("heading", name="Transfer Lab", level=1).wait_for()
        _switch_times(page, 4)  # warm-up: first imports and caches of each page
        idle = _switch_times(page, switches)
        store = RunStore()
        run_id = submit(store, config)
        try:
            worker_nice = _wait_training(store, run_id)
            busy = _switch_times(page, switches)
        finally:
            store.request_cancel(run_id, owner=EVERYONE)
            _wait_final(store, run_id)
        idle += _switch_times(page, switches)  # idle again, so the order of the phases does not bias them
        browser.close()
    return {"idle": _stats(idle), "busy": _stats(busy), "busy_over_idle": round(
        statistics.median(busy) / statistics.median(idle), 2), "worker_nice": worker_nice,
        "busy_run": f"{config.data} {config.model} {config.strategy}"}


def _switch_times(page, n: int) -> list[float]:
    times = []
    for i in range(n):
        title = PAGES[i % len(PAGES)]
        start = time.perf_counter()
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
        page.get_by_role("heading", name=title, level=1).wait_for()
        times.append(time.perf_counter() - start)
        page.wait_for_timeout(300)
    return times


def _stats(times: list[float]) -> dict:
    return {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3), "n": len(times)}


def _wait_training(store: RunStore, run_id: str, timeout_s: float = 300) -> int | None:
    """Until the worker has sent a training step (decoding and model loading are over); its nice value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = store.get(run_id, owner=EVERYONE)
        if record is not None and record.is_final:
            raise RuntimeError(f"the busy run ended early: {record.status} {record.error}")
        if record is not None and record.status == "running" and record.progress > 0:
            try:
                return psutil.Process(record.pid).nice() if record.pid else None
            except psutil.NoSuchProcess:
                return None
        time.sleep(0.5)
    raise RuntimeError("the worker did not start training in time")


def _wait_final(store: RunStore, run_id: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = store.get(run_id, owner=EVERYONE)
        if record is None or record.is_final:
            return
        time.sleep(0.5)
