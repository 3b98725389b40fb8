"""End to end in a real browser: the real Streamlit server, driven by Debian's Chromium through Playwright.

Home → Data (pick digits, 10 examples per class) → Train (scratch vs linear probe, 2 epochs, 1 seed) → wait until
both runs
succeed → Compare shows the chart → every page renders without an exception. A screenshot of each page
(1280×800) is saved to test-artifacts/screenshots/<page>.png for a person to look at.
"""

from __future__ import annotations

import re
import shutil

import pytest

from tests.support.browser import chromium_or_skip
from tests.support.paths import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = REPO / "test-artifacts" / "screenshots"
PAGES = {"home": "Home", "data": "Data", "models": "Models", "train": "Train", "compare": "Compare", "study": "Study",
         "predict": "Predict", "runs": "Runs"}
TRAINING_TIMEOUT_MS = 420_000


@pytest.fixture(scope="module")
def server(served):
    return served[0]


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    SHOTS.mkdir(parents=True)
    with sync_playwright() as p:
        executable, args = chromium_or_skip()
        browser = p.chromium.launch(executable_path=executable, args=args)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(60_000)
        pg = context.new_page()
        pg.goto(server)
        yield pg
        context.close()
        browser.close()


def _open(page, title: str) -> None:
    """Click the page's link in the sidebar navigation and wait for its title (Home's is the app's name)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name="Transfer Lab" if title == "Home" else title, level=1).wait_for()


def _settle(page) -> None:
    """Wait for the script run to finish (the sidebar fragment reruns every 2 s, so not for 'idle')."""
    page.wait_for_timeout(1_500)


def _shot(page, name: str) -> None:
    assert page.get_by_test_id("stException").count() == 0, f"the {name} page shows an exception"
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_full_flow_in_a_real_browser(page):
    from playwright.sync_api import expect

    page.get_by_role("heading", name="Transfer Lab", level=1).wait_for()
    _settle(page)
    _shot(page, "home")

    _open(page, "Data")
    page.get_by_test_id("stSelectbox").filter(has_text="Built-in dataset").click()
    page.get_by_role("option", name=re.compile(r"\(digits\)")).click()
    expect(page.get_by_role("heading", name="Active dataset: digits")).to_be_visible()
    expect(page.get_by_text("Train 1,167 · Validation 200 · Test 360")).to_be_visible()
    per_class = page.get_by_role("spinbutton", name="Examples per class (0 = all)", exact=True)
    per_class.fill("10")  # 100 training images keep the comparison short on a shared CPU
    per_class.press("Enter")
    expect(page.get_by_text("Train 100 · Validation 200 · Test 360")).to_be_visible()
    _settle(page)
    _shot(page, "data")

    _open(page, "Train")
    expect(page.get_by_text("digits", exact=False).first).to_be_visible()
    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs.fill("2")
    epochs.press("Enter")
    seeds = page.get_by_role("spinbutton", name="Seeds", exact=True)
    seeds.fill("1")
    seeds.press("Enter")
    strategies = page.get_by_test_id("stMultiSelect").filter(has_text="Strategies to compare")
    strategies.get_by_role("button", name="Remove Fine-tune", exact=True).click()
    expect(strategies.get_by_role("button", name=re.compile(r"^Remove "))).to_have_count(2)
    expect(page.get_by_text(re.compile(r"^2 runs on "))).to_be_visible()
    page.get_by_role("button", name="Start comparison").click()
    expect(page.get_by_text(re.compile(r"Comparison finished: 2 of 2 runs succeeded"))).to_be_visible(
        timeout=TRAINING_TIMEOUT_MS)
    expect(page.get_by_text("succeeded").first).to_be_visible()
    _settle(page)
    _shot(page, "train")

    _open(page, "Compare")
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
    _settle(page)
    _shot(page, "compare")

    for name, title in PAGES.items():
        if name in {"home", "data", "train", "compare"}:
            continue
        _open(page, title)
        _settle(page)
        _shot(page, name)
    _open(page, "Home")  # the active dataset survived all the page switches
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Dataset: digits")
    assert sorted(p.stem for p in SHOTS.glob("*.png")) == sorted(PAGES)


def test_reloading_a_subpage_keeps_the_app_shell(page, server):
    """Opening or reloading a sub-page URL must still run app.py (router, sidebar, layout)."""
    page.goto(f"{server}/data?data=digits")
    page.get_by_role("heading", name="Active dataset: digits").wait_for(timeout=60_000)
    page.reload()
    page.get_by_role("heading", name="Active dataset: digits").wait_for(timeout=60_000)
    page.wait_for_timeout(2_000)
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert "Dataset:" in sidebar and "Home" in sidebar, f"sidebar without the app shell: {sidebar!r}"
