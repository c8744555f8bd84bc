"""Fixtures for the end-to-end tests: one Streamlit server and one Chromium per session."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
from browser_helpers import (
    ARTIFACTS_DIR,
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO_ROOT,
    SCREENSHOT_DIR,
)
from playwright.sync_api import Browser, Page, sync_playwright
from streamlit_harness import count_runs, free_port, healthy, streamlit_command

SERVER_START_TIMEOUT_S = 60.0
SERVER_LOG = ARTIFACTS_DIR / "streamlit-e2e.log"


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """Start `streamlit run app.py` on a free port; yield its base URL; stop it afterwards."""
    if CHROMIUM is None:
        pytest.skip("end-to-end tests need Chromium at /usr/bin/chromium or `chromium` on PATH")
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = streamlit_command("app.py", port)
    with SERVER_LOG.open("w", encoding="utf-8") as log:
        server = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while not healthy(url):
                if server.poll() is not None:
                    pytest.fail(
                        f"streamlit exited with code {server.returncode} before answering; "
                        f"see {SERVER_LOG}"
                    )
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"streamlit did not answer {url}/_stcore/health within "
                        f"{SERVER_START_TIMEOUT_S:.0f} s; see {SERVER_LOG}"
                    )
                time.sleep(0.25)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Browser]:
    """One headless Chromium (Debian's) for the whole session."""
    if CHROMIUM is None:
        pytest.skip("end-to-end tests need Chromium at /usr/bin/chromium or `chromium` on PATH")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(chromium_browser: Browser, app_url: str):
    """A factory for pages in a fresh browser context (its own Streamlit session).

    Every page counts its script runs (see browser_helpers.wait_idle). Contexts are closed after
    the test.
    """
    contexts = []

    def make(width: int = 1280, height: int = 900) -> Page:
        context = chromium_browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(180_000)
        contexts.append(context)
        page = context.new_page()
        count_runs(page)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> Page:
    """A 1280 x 900 page in a fresh context."""
    return new_page()
