"""Load test: 10 browser sessions at once against the real server, each in its own workspace.

Each session (a Playwright context in one Chromium) uploads its own tiny image zip (2 classes × 6 images,
24 px, different colours per session) and starts a comparison (linear probe vs scratch, 1 seed, 1 epoch).
While a long real run holds the only worker, every session must show its two runs' true queue positions;
then that run is cancelled, all 20 runs must finish and start taking turns between the sessions, each
session must see only its own runs and data, and the server with its workers must stay under a memory bound.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image

from tests.support.browser import chromium_or_skip, serve_app
from tlcore.core.config import TrainConfig
from tlcore.data import library
from tlcore.experiments import submit
from tlcore.runs.store import EVERYONE, RunStore
from tlcore.runs.store.runs import round_robin

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSIONS = int(os.environ.get("TLAB_LOAD_SESSIONS", "10"))
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "load"
RSS_BOUND_MB = 4_000  # server + its workers; measured peak on 2 CPU cores: see the test's printed summary
TIMEOUT_MS = 120_000
RUNS_TIMEOUT_S = 480


def tiny_zip(i: int) -> bytes:
    """2 classes × 6 PNGs of 24 px: a coloured square on noise, colours unique to session `i`."""
    rng = np.random.default_rng(i)
    colours = [(40 + 20 * i, 200 - 15 * i, 60), (60, 40 + 18 * i, 220 - 12 * i)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, colour in zip(("left", "right"), colours):
            for k in range(6):
                arr = rng.integers(90, 160, size=(24, 24, 3)).astype(np.uint8)
                y, x = rng.integers(0, 12, size=2)
                arr[y:y + 12, x:x + 12] = colour
                png = io.BytesIO()
                Image.fromarray(arr).save(png, "PNG")
                zf.writestr(f"session-{i}/{name}/{k}.png", png.getvalue())
    return buf.getvalue()


class MemoryWatch:
    """Samples the resident memory of a process and all its descendants (the workers) in a thread."""

    def __init__(self, pid: int) -> None:
        import psutil
        self.proc, self.peak_total, self.peak_server = psutil.Process(pid), 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil
        while not self._stop.wait(0.5):
            try:
                server = self.proc.memory_info().rss
                total = server + sum(self._rss(c) for c in self.proc.children(recursive=True))
            except psutil.NoSuchProcess:
                return
            self.peak_server, self.peak_total = max(self.peak_server, server), max(self.peak_total, total)

    @staticmethod
    def _rss(proc) -> int:
        import psutil
        try:
            return proc.memory_info().rss
        except psutil.NoSuchProcess:
            return 0

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@dataclass
class Session:
    i: int
    page: object
    ws: str = ""
    cmp: str = ""


def _query(url: str, key: str) -> str:
    return parse_qs(urlparse(url).query)[key][0]


async def _open(page, title: str) -> None:
    await page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    await page.get_by_role("heading", name=title, level=1).wait_for()


async def settle(page, quiet_s: float = 1.0) -> None:
    """Wait until the app has shown no running script for `quiet_s` seconds, as a person waits for the page to
    catch up before the next click. On a loaded server a click made mid-rerun can otherwise be overtaken by
    the rerun it interrupts (seen here: a removed strategy chip whose rerun never came)."""
    running = page.get_by_test_id("stStatusWidget")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < quiet_s and time.monotonic() < deadline:
        if await running.count() and await running.first.is_visible():
            quiet_since = time.monotonic()
        await asyncio.sleep(0.2)


async def _fill(page, label: str, value: str) -> None:
    box = page.get_by_role("spinbutton", name=label, exact=True)
    await box.fill(value)
    await box.press("Enter")
    await settle(page)


async def open_home(s: Session, url: str) -> None:
    await s.page.goto(url)
    await s.page.wait_for_url(re.compile(r"[?&]ws="))
    s.ws = _query(s.page.url, "ws")


async def start_comparison(s: Session) -> None:
    """Data (upload this session's zip) → Train (linear probe vs scratch, 1 epoch) → Start."""
    from playwright.async_api import expect

    page = s.page
    await _open(page, "Data")
    await page.get_by_test_id("stRadio").get_by_text("Upload", exact=True).click()
    await page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(
        files=[{"name": f"session-{s.i}.zip", "mimeType": "application/zip", "buffer": tiny_zip(s.i)}])
    await expect(page.get_by_role("heading", name=f"Active dataset: session-{s.i}.zip (uploaded)")).to_be_visible()
    await _open(page, "Train")
    await settle(page)
    await _fill(page, "Epochs", "1")
    await _fill(page, "Seeds", "1")
    strategies = page.get_by_test_id("stMultiSelect").filter(has_text="Strategies to compare")
    await strategies.get_by_role("button", name="Remove Fine-tune", exact=True).click()
    await expect(page.get_by_text(re.compile(r"^2 runs on "))).to_be_visible()
    await page.get_by_role("button", name="Start comparison").click()
    await page.wait_for_url(re.compile(r"[?&]cmp="))
    s.cmp = _query(page.url, "cmp")


async def shown_positions(s: Session, expected: set[int]) -> set[int]:
    """The queue positions the session's run cards show, once they match `expected` (or at the timeout)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        texts = await s.page.get_by_text(re.compile(r"position \d+ in the queue")).all_inner_texts()
        shown = {int(n) for t in texts for n in re.findall(r"position (\d+) in the queue", t)}
        if shown == expected or time.monotonic() > deadline:
            return shown
        await asyncio.sleep(1)


async def check_isolation(s: Session, other: Session, url: str) -> None:
    """The session's own comparison is there; another session's comparison id in its URL is 'not found'."""
    from playwright.async_api import expect

    page = s.page
    await expect(page.get_by_text("Comparison finished: 2 of 2 runs succeeded")).to_be_visible(timeout=TIMEOUT_MS)
    await page.goto(f"{url}/compare?ws={s.ws}&cmp={other.cmp}")
    await expect(page.get_by_text("was not found in this workspace")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.get_by_role("combobox", name="Comparison")).to_have_value(re.compile(rf"on session-{s.i}\.zip "))
    body = await page.locator("body").inner_text()
    assert f"session-{other.i}" not in body and other.ws not in body
    await _open(page, "Runs")
    await settle(page)
    await page.get_by_test_id("stSelectbox").filter(has_text="Open a run").click()
    await page.get_by_role("option").first.wait_for()
    options = await page.get_by_role("option").all_inner_texts()
    assert len(options) == 2 and all(f"session-{s.i}" in o for o in options), options


async def hold_the_worker(store: RunStore) -> str:
    """Queue a long real run (scratch on 1,797 digits, up to 1,000 epochs) and wait until it holds the only
    worker, so that the sessions' runs stay queued while their positions are checked."""
    blocker = submit.submit(store, TrainConfig(data="digits", model="mobilenet_v2", strategy="scratch",
                                                epochs=1000, patience=0), owner="load-test-blocker-ws")
    deadline = time.monotonic() + 120
    while store.get(blocker, owner=EVERYONE).status != "running":
        holder = store.get(blocker, owner=EVERYONE)
        assert time.monotonic() < deadline and not holder.is_final, holder
        await asyncio.sleep(0.5)
    return blocker


async def drive(url: str, sessions_out: list[Session], store: RunStore) -> dict[int, tuple[set[int], set[int]]]:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=TIMEOUT_MS)  # 10 sessions share 2 cores: pages can take a while
    executable, args = chromium_or_skip()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=args)
        sessions = []
        for i in range(SESSIONS):
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            context.set_default_timeout(TIMEOUT_MS)
            sessions.append(Session(i, await context.new_page()))
        sessions_out.extend(sessions)
        try:
            return await _drive(url, sessions, store)
        except BaseException:
            await _screenshots(sessions)
            raise
        finally:
            await browser.close()


async def _screenshots(sessions: list[Session]) -> None:
    """What each browser showed when the test failed, for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for s in sessions:
        try:
            await s.page.screenshot(path=str(SHOTS / f"session-{s.i}.png"), full_page=True)
        except Exception:  # a page that is gone cannot be photographed
            pass


async def _drive(url: str, sessions: list[Session], store: RunStore) -> dict[int, tuple[set[int], set[int]]]:
    await asyncio.gather(*(open_home(s, url) for s in sessions))  # the first session starts the dispatcher
    blocker = await hold_the_worker(store)
    await asyncio.gather(*(start_comparison(s) for s in sessions))

    assert store.get(blocker, owner=EVERYONE).status == "running", "the long run must still hold the worker"
    expected = {s.i: {store.queue_position(r.id) for r in store.list_runs(group_id=s.cmp, owner=EVERYONE)}
                for s in sessions}
    shown = dict(zip(expected, await asyncio.gather(*(shown_positions(s, expected[s.i]) for s in sessions))))
    assert store.get(blocker, owner=EVERYONE).status == "running", "positions were read while nothing could start"
    store.request_cancel(blocker, owner=EVERYONE)

    deadline = time.monotonic() + RUNS_TIMEOUT_S
    while not all(r.is_final for r in store.list_runs(owner=EVERYONE)):
        assert time.monotonic() < deadline, f"runs not finished after {RUNS_TIMEOUT_S} s"
        await asyncio.sleep(2)
    await asyncio.gather(*(check_isolation(s, sessions[(s.i + 1) % SESSIONS], url) for s in sessions))
    return {i: (expected[i], shown[i]) for i in expected}


@pytest.mark.timeout(900)
def test_ten_browser_sessions_share_one_server_fairly_and_privately(tmp_path):
    chromium_or_skip()
    pytest.importorskip("playwright.async_api", reason="the playwright Python package is not installed")
    data_dir = tmp_path / "load-data"
    data_dir.mkdir()
    started = time.monotonic()
    # one thread per run: the long run that holds the worker then leaves a core to the server and the browser
    with serve_app(data_dir, TLAB_MAX_WORKERS="1", TLAB_WORKER_NICE="19", TLAB_TORCH_THREADS="1") as (url, server):
        store = RunStore(data_dir / "runs.sqlite3")
        sessions: list[Session] = []
        with MemoryWatch(server.pid) as memory:
            positions = asyncio.run(drive(url, sessions, store))
    wall = time.monotonic() - started

    for i, (expected, shown) in positions.items():
        assert shown == expected, f"session {i} showed queue positions {shown}, the queue had {expected}"
    assert sorted(p for e, _ in positions.values() for p in e) == list(range(1, 2 * SESSIONS + 1))
    runs = [r for r in store.list_runs(owner=EVERYONE) if r.owner != "load-test-blocker-ws"]
    assert len(runs) == 2 * SESSIONS and all(r.status == "succeeded" for r in runs), \
        [(r.status, r.error) for r in runs if r.status != "succeeded"]
    turns = [r.id for r in round_robin(sorted(runs, key=lambda r: (r.created, r.id)), {})]
    assert [r.id for r in sorted(runs, key=lambda r: r.started)] == turns  # every session's first run, then seconds
    for s in sessions:
        mine = store.list_runs(group_id=s.cmp, owner=EVERYONE)
        assert len(mine) == 2 and {r.owner for r in mine} == {s.ws}
        assert all(library.is_upload_ref(r.config["data"]) and r.config["data_name"] == f"session-{s.i}.zip"
                   and store.upload_name(s.ws, library.upload_id(r.config["data"])) == f"session-{s.i}.zip"
                   for r in mine)
    assert len({s.ws for s in sessions}) == SESSIONS
    print(f"\nload test: {SESSIONS} sessions, {len(runs)} runs, {wall:.0f} s wall; peak RSS server "
          f"{memory.peak_server / 2**20:.0f} MB, server + workers {memory.peak_total / 2**20:.0f} MB")
    assert memory.peak_total < RSS_BOUND_MB * 2**20, f"server + workers peaked at {memory.peak_total / 2**20:.0f} MB"
