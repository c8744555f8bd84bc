"""Driving a Streamlit app in Chromium, shared by the browser tests and the benchmarks: the
browser's flags, a free port and the health check for a server, a sidebar link click, the
check that a page is drawn, and counting a page's script runs.

Runs are counted from the server's own messages on the page's WebSocket: every run starts with a
`new_session` ForwardMsg and ends with a `script_finished` one. (Watching stApp's
data-test-script-state for "running" misses runs: the page can apply a short run's start and end
in one render, and a wait for "running" then never ends.) Needs Playwright and Streamlit only.
"""

from __future__ import annotations

import socket
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# True once no element is a loading skeleton (Streamlit first draws lazily loaded elements as
# skeletons) and every Plotly chart is drawn. An in-place chart (ui/live_chart.js) is drawn at
# its width with its newest figure, unless it waits to be drawn: out of view (data-waiting) or
# hidden (a closed expander).
RENDERED_SCRIPT = """
() => document.querySelectorAll("[data-testid=stSkeleton]").length === 0
  && [...document.querySelectorAll("[data-testid=stPlotlyChart]")].every((chart) => {
    const plot = chart.querySelector(".js-plotly-plot");
    return plot && plot._fullData && plot._fullData.length > 0;
  })
  && [...document.querySelectorAll(".ae-live-chart")].every((plot) =>
    plot.hasAttribute("data-waiting") || !plot.checkVisibility()
    || (plot._fullData && plot._fullData.length > 0 && !plot.hasAttribute("data-pending")
      && Math.abs(plot._fullLayout.width - plot.getBoundingClientRect().width) <= 1))
"""
# Scrolls the in-place chart (ui/live_chart.js) with key `key` into view when it waits out of view
# with a figure it has not drawn (data-waiting), as a student would to look at it. A JavaScript
# function expression, used inside the scripts below and the benchmarks'.
BRING_INTO_VIEW_JS = """(key) => {
  const chart = document.querySelector(".st-key-" + key + " .ae-live-chart");
  if (chart && chart.hasAttribute("data-waiting")) chart.scrollIntoView({block: "nearest"});
}"""
# True once the chart with key `key` (in place, or an st.plotly_chart) is drawn with its newest
# figure; one that waits out of view is brought into view first.
CHART_DRAWN_SCRIPT = (
    "(key) => {\n  ("
    + BRING_INTO_VIEW_JS
    + """)(key);
  const plot = document.querySelector(".st-key-" + key + " .js-plotly-plot");
  return !!(plot && plot._fullData && plot._fullData.length > 0
            && !plot.hasAttribute("data-pending"));
}"""
)
# Click the sidebar link whose URL path is `path` (also when the sidebar is collapsed).
CLICK_SIDEBAR_LINK_SCRIPT = """
(path) => {
  const link = [...document.querySelectorAll("[data-testid=stSidebar] a[href]")]
    .find((a) => new URL(a.href).pathname === path);
  if (!link) return false;
  link.click();
  return true;
}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def streamlit_command(script: str, port: int) -> list[str]:
    """`streamlit run <script>` headless on 127.0.0.1:`port`, no file watcher, no usage stats."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]


def healthy(url: str) -> bool:
    """Whether the Streamlit server at `url` answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except (urllib.error.URLError, OSError):
        return False


class RunCounter:
    """Script runs started and finished, as seen on one page's WebSocket."""

    def __init__(self) -> None:
        self.started = 0
        self.finished = 0

    def on_frame(self, payload: bytes | str) -> None:
        if isinstance(payload, str):
            return
        try:
            kind = ForwardMsg.FromString(payload).WhichOneof("type")
        except Exception:  # not a ForwardMsg: nothing to count
            return
        if kind == "new_session":
            self.started += 1
        elif kind == "script_finished":
            self.finished += 1


_COUNTERS: dict[int, RunCounter] = {}


def count_runs(page: Any) -> None:
    """Start counting the script runs of `page`; call before it opens the app."""
    counter = RunCounter()
    _COUNTERS[id(page)] = counter
    page.on("websocket", lambda ws: ws.on("framereceived", counter.on_frame))


def script_runs(page: Any) -> int:
    """How many script runs the page's session has started so far."""
    return _COUNTERS[id(page)].started


def wait_idle(page: Any, since: int | None = None, timeout: float = 60_000) -> None:
    """Wait until the app is idle.

    With `since` (a script_runs() count taken before an action), first wait until a run has
    started after it and every run started has finished, so a rerun that has not begun yet is
    not mistaken for idleness. Then wait until the page shows no run going on, and for two
    frames, so what the run sent has been drawn.
    """
    if since is not None:
        counter = _COUNTERS[id(page)]
        deadline = time.monotonic() + timeout / 1000
        while not (counter.started > since and counter.finished >= counter.started):
            if time.monotonic() > deadline:
                raise PlaywrightTimeoutError(
                    f"no finished script run after run {since} within {timeout / 1000:.0f} s "
                    f"(started {counter.started}, finished {counter.finished})"
                )
            page.wait_for_timeout(50)  # lets Playwright deliver the WebSocket frames
    page.wait_for_selector(IDLE, timeout=timeout)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
