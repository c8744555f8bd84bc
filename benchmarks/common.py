"""Shared helpers for the benchmarks: machine info, Streamlit servers, headless Chromium, tables.

Every benchmark prints figures and never asserts on them. Servers and browsers are started in
context managers that stop them (the whole process tree, by pid) on the way out, also on errors,
Ctrl-C and SIGTERM (see stop_on_sigterm).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "benchmarks"
for _path in (REPO_ROOT, REPO_ROOT / "tests" / "e2e"):  # the app's packages; streamlit_harness
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import streamlit_harness as harness  # noqa: E402  (tests/e2e/, on sys.path above)
from streamlit_harness import (  # noqa: E402
    CHROMIUM_ARGS,
    CLICK_SIDEBAR_LINK_SCRIPT,  # noqa: F401 (for bench_memory)
    free_port,
    healthy,
    streamlit_command,
)

CHROMIUM = "/usr/bin/chromium"
SERVER_START_TIMEOUT_S = 90.0
# True once no element is a loading skeleton and every Plotly chart on the page is drawn.
RENDERED_SCRIPT = """
() => document.querySelectorAll("[data-testid=stSkeleton]").length === 0
  && [...document.querySelectorAll("[data-testid=stPlotlyChart]")].every((chart) => {
    const plot = chart.querySelector(".js-plotly-plot");
    return plot && plot._fullData && plot._fullData.length > 0;
  })
"""


# Results ---------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the results table. value is None when the case could not be measured."""

    benchmark: str
    case: str
    value: float | None
    unit: str
    budget: float | None = None  # a figure <= budget holds
    detail: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "not measured"
        if self.budget is None:
            return ""
        return "holds" if self.value <= self.budget else "DOES NOT HOLD"


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "×":
        return f"{value:.2f} ×"
    if unit == "s":
        return f"{value:.1f} s"
    return f"{value:,.0f} {unit}"


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown pipe table (readable in a terminal too)."""
    header = ["benchmark", "case", "figure", "budget", "verdict", "detail"]
    lines = [header]
    for row in rows:
        budget = "" if row.budget is None else "≤ " + fmt_value(row.budget, row.unit)
        lines.append(
            [
                row.benchmark,
                row.case,
                fmt_value(row.value, row.unit),
                budget,
                row.verdict,
                row.detail,
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def render(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [render(lines[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [render(line) for line in lines[1:]]
    return "\n".join(out)


def write_json(path: str | None, rows: Sequence[Row], extra: dict[str, Any] | None = None) -> None:
    """For run_all.py: the rows (and any extra facts) as JSON in `path`."""
    if path:
        payload = {"rows": [asdict(row) for row in rows], "extra": extra or {}}
        Path(path).write_text(json.dumps(payload, indent=1), encoding="utf-8")


def read_json(path: str) -> tuple[list[Row], dict[str, Any]]:
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    return [Row(**row) for row in payload["rows"]], payload.get("extra", {})


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float], scale: float = 1.0, digits: int = 0) -> str:
    """'min–max of n' for a detail column."""
    lo, hi = min(values) * scale, max(values) * scale
    return f"min {lo:.{digits}f}, max {hi:.{digits}f}, n = {len(values)}"


# Machine ---------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_info() -> dict[str, str]:
    """Date, CPU, cores, load average, memory and the versions that matter, as printable text."""
    import plotly
    import streamlit
    import torch

    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu_model()} ({platform.machine()})",
        "cores": f"{os.cpu_count()} logical, {psutil.cpu_count(logical=False)} physical",
        "load average": f"{load_average()} (1, 5, 15 min)",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "python": platform.python_version(),
        "versions": (
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"streamlit {streamlit.__version__}, plotly {plotly.__version__}"
        ),
    }


def print_machine_info() -> None:
    for key, value in machine_info().items():
        print(f"{key:>13}: {value}")


# Processes -------------------------------------------------------------------------------------


def stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so `finally` blocks stop servers and browsers."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def kill_tree(pid: int, timeout: float = 10.0) -> None:
    """Stop process `pid` and all its descendants: SIGTERM, then SIGKILL after `timeout`."""
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    procs = [*parent.children(recursive=True), parent]
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=timeout)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of process `pid` and its children, MB."""
    parent = psutil.Process(pid)
    total = 0
    for proc in [parent, *parent.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return total / 2**20


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    started: float  # time.perf_counter() just before the process was started
    healthy_after_s: float  # seconds from start until /_stcore/health answered "ok"


@contextlib.contextmanager
def streamlit_server(script: str, timeout: float = SERVER_START_TIMEOUT_S) -> Iterator[Server]:
    """`streamlit run <script>` (relative to the repo root) on a free port, headless; yields
    once /_stcore/health answers ok; stops the server and its children afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = streamlit_command(script, port)
    with tempfile.TemporaryFile("w+", prefix="bench-streamlit-", suffix=".log") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = started + timeout
            while not healthy(url):
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read()}")
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s")
                time.sleep(0.05)
            yield Server(url, process, started, time.perf_counter() - started)
        finally:
            kill_tree(process.pid)


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright; closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, width: int = 1280, height: int = 900) -> Any:
    """A page in a fresh context (its own Streamlit session) that counts script runs."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(60_000)
    page = context.new_page()
    harness.count_runs(page)
    return page


def script_runs(page: Any) -> int:
    """How many script runs the page's session has started so far (tests/e2e/harness.py)."""
    return harness.script_runs(page)


def wait_idle(page: Any, since: int | None = None, timeout: float = 60_000) -> None:
    """Wait until the app is idle; with `since` (a script_runs() count), first until a run
    started after that count has finished."""
    harness.wait_idle(page, since, timeout)


def wait_rendered(page: Any, timeout: float = 60_000) -> None:
    page.wait_for_function(RENDERED_SCRIPT, timeout=timeout, polling=50)
