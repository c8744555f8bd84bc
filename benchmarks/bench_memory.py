"""Memory: resident set size (psutil) of the Streamlit server process and its children, with one
browser session that visits every page in lessons/catalog.py PAGES through the sidebar links
(one session throughout), including the pretrained-transformer page, which loads a model.

Figure: the largest RSS seen after any page; the detail has the RSS at start and after each page.
Budget: <= 600 MB. Prints, never asserts.

    python benchmarks/bench_memory.py [--json PATH]
"""

from __future__ import annotations

import argparse
import re
from typing import Any

import common

from lessons.catalog import PAGES

BUDGET_MB = 600.0
SETTLE_MS = 1_000


def url_path(script: str) -> str:
    """The URL path Streamlit serves a page script at: app.py -> /, pages/2_Name.py -> /Name."""
    if script == "app.py":
        return "/"
    stem = script.rsplit("/", 1)[-1].removesuffix(".py")
    return "/" + re.sub(r"^\d+_", "", stem)


def visit(page: Any, base_url: str, path: str) -> bool:
    """Go to `path` through the sidebar link (same session); True if a link was used."""
    runs = common.script_runs(page)
    clicked = bool(page.evaluate(common.CLICK_SIDEBAR_LINK_SCRIPT, path))
    if clicked:
        common.wait_idle(page, since=runs, timeout=common.OPEN_TIMEOUT_MS)
    else:
        page.goto(base_url + path)
        common.wait_idle(page, since=0, timeout=common.OPEN_TIMEOUT_MS)
    common.wait_rendered(page, timeout=common.OPEN_TIMEOUT_MS)
    page.wait_for_timeout(SETTLE_MS)
    return clicked


def visit_every_page(page: Any, server: Any, steps: list[tuple[str, float]]) -> list[str]:
    """Open the app, then every page of the catalogue through the sidebar, appending the
    server's RSS after each to `steps`; notes on pages that had to be opened by URL."""
    pid = server.process.pid
    notes = []
    page.goto(server.url + "/")
    common.wait_idle(page, since=0, timeout=common.OPEN_TIMEOUT_MS)
    common.wait_rendered(page, timeout=common.OPEN_TIMEOUT_MS)
    steps.append(("first page", common.tree_rss_mb(pid)))
    for script, label, _icon in PAGES:
        if not visit(page, server.url, url_path(script)):
            notes.append(f"no sidebar link to {script}: opened by URL (a new session)")
        steps.append((label, common.tree_rss_mb(pid)))
        print(f"  after {label}: {steps[-1][1]:.0f} MB", flush=True)
    return notes


def run(args: argparse.Namespace) -> list[common.Row]:
    steps: list[tuple[str, float]] = []
    notes = []
    try:
        with common.streamlit_server("app.py") as server, common.chromium() as browser:
            pid = server.process.pid
            steps.append(("started", common.tree_rss_mb(pid)))
            page = common.new_page(browser)
            notes += visit_every_page(page, server, steps)
            page.context.close()
        peak = max(mb for _, mb in steps)
        detail = "; ".join(f"{label} {mb:.0f}" for label, mb in steps) + " (MB)"
        row = common.Row(
            "memory",
            f"server RSS, one session, all {len(PAGES)} pages",
            peak,
            "MB",
            BUDGET_MB,
            "; ".join([detail, *notes]),
        )
    except Exception as error:
        row = common.Row(
            "memory", "server RSS, one session, all pages", None, "MB", BUDGET_MB, repr(error)
        )
    return [row]


if __name__ == "__main__":
    common.bench_main(__doc__, run, quick_help="the same run (kept for run_all)")
