"""Shared parts of the classroom benchmarks (load_classroom.py, soak.py): one Streamlit server,
one headless Chromium driven through Playwright's async API, one student session per browser
context, and the timed edits a student makes on lesson 1.

Each timed edit is measured in the page with performance.now(): the clock starts when the edit
is committed (Enter goes down, or the pointer releases a selectbox option) and stops when the
chart that shows the edit holds numbers other than before (Plotly's `_fullData[0].z` of the
weights heatmap, or `_fullData[0].y` of the query's scores bar). A MutationObserver and a 16 ms
timer watch the chart.

Nothing here asserts on a figure: the benchmarks print them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import platform
import random
import signal
import statistics
import subprocess
import tempfile
import time
import tomllib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common  # noqa: F401 (it puts tests/e2e, with streamlit_harness, on sys.path)
import psutil
from streamlit_harness import CHROMIUM_ARGS, IDLE, free_port, healthy, streamlit_command

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_TOML = REPO_ROOT / ".streamlit" / "config.toml"

CHROMIUM = "/usr/bin/chromium"
SERVER_START_TIMEOUT_S = 120.0
DEFAULT_SESSION_TTL_S = 120.0  # Streamlit's default server.disconnectedSessionTTL

EXCEPTION = "[data-testid=stException]"
WEIGHTS_HEATMAP = "weights_heatmap"
SCORES_BAR = "query_scores_bar"
TOKENS_INPUT = '[data-testid=stSidebar] input[aria-label^="Tokens"]'
QUERY_INPUT = 'input[role=combobox][aria-label="Query token"]'
EDITOR = "[class*=st-key-w_editor_]"
EDITOR_CANVAS = f"{EDITOR} canvas[data-testid=data-grid-canvas]"
CELL_EDITOR = "[data-testid=portal] .gdg-input, [data-testid=portal] textarea"
# The lesson pages a student visits and comes back from (URL paths of pages/*.py). Lesson 5
# (the pretrained model) is left out: its first visit loads a model, which is another benchmark.
# (URL path, sidebar link label as in ui/nav.py, page title).
HOME_PAGE = ("/", "1 · Simple self-attention", "Simple self-attention")
OTHER_PAGES = (
    ("/Trainable_weights", "2 · Trainable weights", "Self-attention with trainable weights"),
    ("/Causal_attention", "3 · Causal attention", "Causal attention and dropout"),
    ("/Multi-head_attention", "4 · Multi-head attention", "Multi-head attention"),
    ("/Softmax_lab", "Softmax lab", "Softmax lab"),
    ("/About_attention", "About attention", "About attention"),
)
WORDS = (
    "Attention",
    "Mechanism",
    "drives",
    "Contextual",
    "Embedding",
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "warm",
    "mat",
    "query",
    "key",
    "value",
)

# The page's title (Streamlit's h1) starts with `title`.
TITLE_SCRIPT = """
(title) => {
  const h1 = document.querySelector("[data-testid=stMain] h1");
  return !!(h1 && h1.innerText.trim().startsWith(title));
}
"""
CHART_DRAWN_SCRIPT = """
(key) => {
  const plot = document.querySelector(".st-key-" + key + " .js-plotly-plot");
  return !!(plot && plot._fullData && plot._fullData.length > 0);
}
"""
# Arms the clock for one edit. t0: the commit (Enter keydown, or the pointer released on a
# listbox option); t1: the keyed chart's _fullData[0][field] holds other numbers than at arming.
ARM_SCRIPT = """
([key, field, trigger]) => {
  const selector = ".st-key-" + key + " .js-plotly-plot";
  const current = () => {
    const plot = document.querySelector(selector);
    return plot && plot._fullData && plot._fullData[0] ? plot._fullData[0][field] : null;
  };
  const text = (v) => v == null ? "" : JSON.stringify(
    Array.from(v, (row) => row != null && typeof row === "object" ? Array.from(row) : row));
  if (window.__edit && window.__edit.stop) window.__edit.stop();
  const edit = {t0: null, t1: null, before: text(current()), last: current()};
  window.__edit = edit;
  const check = () => {
    if (edit.t0 === null || edit.t1 !== null) return;
    const value = current();
    if (value && value !== edit.last) {
      edit.last = value;
      if (text(value) !== edit.before) {
        edit.t1 = performance.now();
        edit.stop();
      }
    }
  };
  const onKey = (event) => {
    if (trigger === "enter" && event.key === "Enter" && edit.t0 === null) {
      edit.t0 = performance.now();
    }
  };
  const onPointer = (event) => {
    if (trigger === "option" && edit.t0 === null && event.target.closest
        && event.target.closest("[role=option]")) {
      edit.t0 = performance.now();
    }
  };
  window.addEventListener("keydown", onKey, true);
  window.addEventListener("pointerup", onPointer, true);
  window.addEventListener("click", onPointer, true);
  const observer = new MutationObserver(check);
  observer.observe(document.body, {subtree: true, childList: true, attributes: true});
  const timer = setInterval(check, 16);
  edit.stop = () => {
    observer.disconnect();
    clearInterval(timer);
    window.removeEventListener("keydown", onKey, true);
    window.removeEventListener("pointerup", onPointer, true);
    window.removeEventListener("click", onPointer, true);
  };
}
"""
EDIT_DONE_SCRIPT = "() => !!(window.__edit && window.__edit.t1 !== null)"
EDIT_ELAPSED_SCRIPT = "() => window.__edit.t1 - window.__edit.t0"
# The sidebar link whose text ends with `label` (the home page's href is not always "/").
CLICK_SIDEBAR_LINK_SCRIPT = """
(label) => {
  const link = [...document.querySelectorAll("[data-testid=stSidebar] a[href]")]
    .find((a) => a.innerText.trim().endsWith(label));
  if (!link) return false;
  link.click();
  return true;
}
"""


class EditError(Exception):
    """An edit that went wrong; `kind` names the error class for the report."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


# Machine and figures ---------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    """Date, CPU, cores, load average, memory and the versions that matter."""
    import streamlit

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} logical cores",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "load average": ", ".join(f"{x:.1f}" for x in os.getloadavg()) + " (1, 5, 15 min)",
        "versions": f"python {platform.python_version()}, streamlit {streamlit.__version__}, "
        f"chromium {chromium_version()}",
    }


def chromium_version() -> str:
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=20)
        return out.stdout.strip().removeprefix("Chromium ").split()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "?"


def print_machine_info() -> None:
    for key, value in machine_info().items():
        print(f"{key:>13}: {value}")


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


def fmt_mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} MB"


def session_ttl_s() -> float:
    """server.disconnectedSessionTTL from .streamlit/config.toml (Streamlit's default if unset)."""
    try:
        config = tomllib.loads(CONFIG_TOML.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return DEFAULT_SESSION_TTL_S
    return float(config.get("server", {}).get("disconnectedSessionTTL", DEFAULT_SESSION_TTL_S))


# Processes -------------------------------------------------------------------------------------


def stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so `finally` blocks stop the server and browser."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def process_tree(pid: int) -> list[psutil.Process]:
    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_tree(pid: int, timeout: float = 10.0) -> None:
    """Stop process `pid` and its descendants: SIGTERM, then SIGKILL after `timeout`."""
    procs = process_tree(pid)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=timeout)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of process `pid` plus its children, MB."""
    total = 0
    for proc in process_tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return total / 2**20


def cpu_seconds(procs: Sequence[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Any

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mb(self) -> float:
        return tree_rss_mb(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        self.log.seek(0)
        return "\n".join(self.log.read().splitlines()[-lines:])


@contextlib.asynccontextmanager
async def streamlit_server(script: str = "app.py") -> AsyncIterator[Server]:
    """ONE `streamlit run <script>` on a free port; yields once /_stcore/health answers ok; stops
    the server and its children afterwards, also on errors and Ctrl-C."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = streamlit_command(script, port)
    with tempfile.TemporaryFile("w+", prefix="classroom-streamlit-", suffix=".log") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        server = Server(url, process, log)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while not await asyncio.to_thread(healthy, url):
                if process.poll() is not None:
                    raise RuntimeError(f"streamlit exited early:\n{server.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError("streamlit did not answer /_stcore/health in time")
                await asyncio.sleep(0.1)
            yield server
        finally:
            kill_tree(process.pid)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """ONE headless Debian Chromium through Playwright's async API; closed afterwards."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            with contextlib.suppress(Exception):
                await browser.close()


@dataclass
class Sample:
    t: float  # seconds since the sampler started
    rss_mb: float
    server_cpu_s: float
    client_cpu_s: float
    label: str = ""


@dataclass
class ResourceSampler:
    """Samples the server's RSS (process plus children) every `interval` seconds in a background
    task, with the CPU seconds used so far by the server and by everything else this script
    started (Playwright's driver and Chromium: the client side)."""

    server: Server
    interval: float = 0.5
    samples: list[Sample] = field(default_factory=list)
    _task: asyncio.Task | None = None
    _start: float = 0.0

    def sample(self, label: str = "") -> Sample:
        server_procs = process_tree(self.server.pid)
        server_pids = {proc.pid for proc in server_procs}
        mine = psutil.Process().children(recursive=True)
        client = [proc for proc in mine if proc.pid not in server_pids]
        rss = 0
        for proc in server_procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                rss += proc.memory_info().rss
        sample = Sample(
            time.monotonic() - self._start,
            rss / 2**20,
            cpu_seconds(server_procs),
            cpu_seconds(client),
            label,
        )
        self.samples.append(sample)
        return sample

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(psutil.Error):
                self.sample()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._start = time.monotonic()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def peak_mb(self, since: float = 0.0, until: float = float("inf")) -> float | None:
        values = [s.rss_mb for s in self.samples if since <= s.t <= until]
        return max(values) if values else None

    def now(self) -> float:
        return time.monotonic() - self._start


# A student's session -------------------------------------------------------------------------


@dataclass
class EditRecord:
    session: int
    kind: str  # "cell", "tokens", "query"
    ms: float | None  # edit-to-chart milliseconds; None when the edit failed
    error: str = ""


@dataclass
class Student:
    """One browser context = one Streamlit session, with the edits a student makes."""

    index: int
    page: Any
    base_url: str
    rng: random.Random
    edit_timeout_ms: float = 60_000
    errors: list[tuple[str, str]] = field(default_factory=list)  # (kind, detail)
    records: list[EditRecord] = field(default_factory=list)
    load_ms: float | None = None
    switch_ms: list[float] = field(default_factory=list)
    closing: bool = False
    step: str = ""  # what the current edit is doing, for error reports

    @classmethod
    async def open(
        cls,
        browser: Any,
        base_url: str,
        index: int,
        seed: int,
        edit_timeout_ms: float = 60_000,
        width: int = 1280,
        height: int = 900,
    ) -> Student:
        """A new browser context on lesson 1; waits until the weights heatmap is drawn."""
        context = await browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(edit_timeout_ms)
        page = await context.new_page()
        student = cls(index, page, base_url, random.Random(seed * 100_003 + index), edit_timeout_ms)
        page.on("pageerror", student.on_page_error)
        page.on("console", student.on_console)
        started = time.monotonic()
        try:
            await page.goto(base_url + "/", timeout=edit_timeout_ms)
            await page.wait_for_function(
                CHART_DRAWN_SCRIPT, arg=WEIGHTS_HEATMAP, timeout=edit_timeout_ms, polling=100
            )
            await student.wait_idle()
            student.load_ms = (time.monotonic() - started) * 1000
            await asyncio.sleep(1.0)  # a run started by the first one (if any) shows by then
            await student.wait_idle()
            await student.check_exceptions("open")
        except Exception as error:
            student.errors.append(classify(error, "open"))
        return student

    def on_page_error(self, error: Any) -> None:
        if not self.closing:
            self.errors.append(("page error", str(error)))

    def on_console(self, message: Any) -> None:
        if message.type == "error" and not self.closing:
            self.errors.append(("console error", message.text))

    async def close(self) -> None:
        self.closing = True  # what the page logs while it is torn down is not the app's error
        with contextlib.suppress(Exception):
            await self.page.context.close()

    async def wait_idle(self) -> None:
        """Wait until no script run is going on. Only called once something shows that the
        awaited run has started (a changed chart, a new page title): under load the page can
        apply a run's start and end in one render, so "running" is not always seen."""
        await self.page.wait_for_selector(IDLE, state="attached", timeout=self.edit_timeout_ms)

    async def check_exceptions(self, where: str) -> None:
        boxes = self.page.locator(EXCEPTION)
        if await boxes.count():
            text = (await boxes.first.inner_text())[:300]
            self.errors.append(("stException", f"{where}: {text}"))

    # The three timed edits ---------------------------------------------------------------------

    async def timed(self, kind: str, chart: str, field_name: str, trigger: str, commit) -> None:
        """Arm the clock on `chart`, run `commit` (which commits the edit), wait for the chart
        to change and for the run to end; record the milliseconds or the error."""
        page = self.page
        try:
            await page.evaluate(ARM_SCRIPT, [chart, field_name, trigger])
            self.step = "commit"
            await commit()
            self.step = "wait for the chart"
            try:
                await page.wait_for_function(
                    EDIT_DONE_SCRIPT, timeout=self.edit_timeout_ms, polling=100
                )
            except Exception as error:
                raise EditError(
                    "chart never updated",
                    f"{chart} unchanged {self.edit_timeout_ms / 1000:.0f} s after the {kind} "
                    f"edit: {type(error).__name__}",
                ) from error
            ms = float(await page.evaluate(EDIT_ELAPSED_SCRIPT))
            self.step = "wait for the run to end"
            await self.wait_idle()
            self.records.append(EditRecord(self.index, kind, ms))
            await self.check_exceptions(kind)
        except Exception as error:
            kind_detail = classify(error, f"{kind} ({self.step})")
            self.errors.append(kind_detail)
            self.records.append(EditRecord(self.index, kind, None, kind_detail[0]))
            with contextlib.suppress(Exception):
                await page.evaluate("() => window.__edit && window.__edit.stop()")
                await page.keyboard.press("Escape")

    async def edit_cell(self) -> None:
        """Type a new value into one embedding cell and press Enter (weights heatmap's z)."""
        page = self.page
        self.step = "find the editor"
        canvas = page.locator(EDITOR_CANVAS)
        await canvas.scroll_into_view_if_needed()
        table = canvas.locator("table")
        n_cols = int(await table.get_attribute("aria-colcount") or "1")
        n_rows = int(await table.get_attribute("aria-rowcount") or "2") - 1  # header row
        row, col = self.rng.randrange(n_rows), self.rng.randrange(1, n_cols)
        cell = page.locator(f"{EDITOR} #glide-cell-{col}-{row}")
        old = (await cell.inner_text()).strip()
        value = old
        while value == old:
            value = f"{self.rng.uniform(-1, 1):.3f}".rstrip("0").rstrip(".")
        box = await canvas.bounding_box()
        if box is None:
            raise EditError("action failed", "the embedding editor is not visible")
        # Select the row's read-only token cell at the left edge, then walk right with the
        # arrow keys: no guessing column widths on the canvas.
        y = box["y"] + box["height"] / (n_rows + 1) * (row + 1.5)
        self.step = "select the row's first cell"
        for attempt, wait_ms in enumerate((2_000, 5_000, 10_000, 20_000)):
            await page.mouse.click(box["x"] + 8, y)
            try:
                await self.wait_selected(0, row, wait_ms)
                break
            except Exception as error:
                if attempt == 3:
                    raise EditError(
                        "action failed", f"editor cell (0, {row}) not selected"
                    ) from error
                await page.keyboard.press("Escape")
        self.step = "walk right to the cell"
        for _ in range(col):
            await page.keyboard.press("ArrowRight")
        await self.wait_selected(col, row, self.edit_timeout_ms)
        self.step = "open the cell's editor"
        await page.keyboard.press("Enter")  # opens the cell's editor overlay
        editor = page.locator(CELL_EDITOR).first
        await editor.wait_for(state="visible")
        await editor.fill(value)
        await self.timed("cell", WEIGHTS_HEATMAP, "z", "enter", lambda: editor.press("Enter"))

    async def wait_selected(self, col: int, row: int, timeout_ms: float) -> None:
        """Wait until the grid's accessible table says cell (col, row) is selected."""
        await self.page.wait_for_function(
            "(id) => document.getElementById(id)?.getAttribute('aria-selected') === 'true'",
            arg=f"glide-cell-{col}-{row}",
            timeout=timeout_ms,
            polling=50,
        )

    async def change_tokens(self) -> None:
        """Type a new list of 4 to 8 distinct words into the sidebar's Tokens box, press Enter
        (weights heatmap's z)."""
        self.step = "type the tokens"
        box = self.page.locator(TOKENS_INPUT)
        current = (await box.input_value()).split()
        words = current
        while words == current:
            words = self.rng.sample(WORDS, self.rng.randint(4, 8))
        await box.fill(" ".join(words))
        await self.timed("tokens", WEIGHTS_HEATMAP, "z", "enter", lambda: box.press("Enter"))

    async def change_query(self) -> None:
        """Open the "Query token" selectbox and pick another token (scores bar's y)."""
        page = self.page
        self.step = "open the selectbox"
        combo = page.locator(QUERY_INPUT)
        await combo.scroll_into_view_if_needed()
        await combo.click()
        options = page.locator("[role=listbox] [role=option]")
        await options.first.wait_for(state="visible")
        count = await options.count()
        current = [await options.nth(i).get_attribute("aria-selected") for i in range(count)]
        choices = [i for i in range(count) if current[i] != "true"]
        if not choices:
            await page.keyboard.press("Escape")
            raise EditError("action failed", "the query selectbox offers no other token")
        option = options.nth(self.rng.choice(choices))
        await self.timed("query", SCORES_BAR, "y", "option", lambda: option.click())

    async def switch_pages(self) -> None:
        """Go to another lesson through the sidebar's link and back to lesson 1; time the
        round trip (not an edit: it is reported apart)."""
        page = self.page
        other = self.rng.choice(OTHER_PAGES)
        started = time.monotonic()
        try:
            for path, label, title in (other, HOME_PAGE):
                if not await page.evaluate(CLICK_SIDEBAR_LINK_SCRIPT, label):
                    raise EditError("action failed", f"no sidebar link {label!r}")
                await page.wait_for_url(lambda url, p=path: url_path(url) == p)
                await page.wait_for_function(
                    TITLE_SCRIPT, arg=title, timeout=self.edit_timeout_ms, polling=100
                )
                await self.wait_idle()
                await self.check_exceptions(f"page {path}")
            await page.wait_for_function(
                CHART_DRAWN_SCRIPT, arg=WEIGHTS_HEATMAP, timeout=self.edit_timeout_ms, polling=100
            )
            self.switch_ms.append((time.monotonic() - started) * 1000)
        except Exception as error:
            self.errors.append(classify(error, "page switch"))

    async def edit(self, kind: str) -> None:
        """One edit of `kind` ("cell", "tokens", "query"); failures are recorded, not raised."""
        action = {"cell": self.edit_cell, "tokens": self.change_tokens, "query": self.change_query}
        try:
            await action[kind]()
        except Exception as error:
            kind_detail = classify(error, f"{kind} ({self.step})")
            self.errors.append(kind_detail)
            self.records.append(EditRecord(self.index, kind, None, kind_detail[0]))
            with contextlib.suppress(Exception):
                await self.page.keyboard.press("Escape")


def url_path(url: str) -> str:
    from urllib.parse import urlparse

    return urlparse(url).path


def classify(error: BaseException, where: str) -> tuple[str, str]:
    """(error kind, detail) for the report."""
    if isinstance(error, EditError):
        return error.kind, f"{where}: {error.detail}"
    name = type(error).__name__
    text = str(error).splitlines()[0][:200] if str(error) else name
    if "Timeout" in name:
        return "timeout", f"{where}: {text}"
    return "action failed", f"{where}: {name}: {text}"


def count_errors(students: Sequence[Student]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for student in students:
        for kind, _ in student.errors:
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def first_errors(students: Sequence[Student], limit: int = 8) -> list[str]:
    """The first few distinct error texts, for the report."""
    seen: list[str] = []
    for student in students:
        for kind, detail in student.errors:
            text = f"[{kind}] {detail}"[:240]
            if text not in seen:
                seen.append(text)
            if len(seen) >= limit:
                return seen
    return seen
