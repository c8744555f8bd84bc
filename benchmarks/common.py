"""The benchmarks' one harness: Streamlit servers, headless Chromium, the JavaScript the pages
run, timeouts, processes (tree kill, RSS, CPU), machine facts, percentiles, tables and the
command line every benchmark script shares.

Every benchmark prints figures and never asserts on them. Servers and browsers are started in
context managers (sync and async) that stop them, the whole process tree by pid, on the way out,
also on errors, Ctrl-C and SIGTERM (see stop_on_sigterm). The Streamlit command, a free port,
the health check and the script-run counter come from tests/e2e/streamlit_harness.py, which the
browser tests share.
"""

from __future__ import annotations

import argparse
import asyncio
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
import tomllib
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "benchmarks"
for _path in (REPO_ROOT, REPO_ROOT / "tests" / "e2e"):  # the app's packages; streamlit_harness
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import streamlit_harness as harness  # noqa: E402  (tests/e2e/, on sys.path above)
from streamlit_harness import (  # noqa: E402
    BRING_INTO_VIEW_JS,
    CHART_DRAWN_SCRIPT,  # noqa: F401 (classroom, bench_browser)
    CHROMIUM_ARGS,
    CLICK_SIDEBAR_LINK_SCRIPT,  # noqa: F401 (bench_memory)
    IDLE,  # noqa: F401 (classroom)
    RENDERED_SCRIPT,
    free_port,
    healthy,
    streamlit_command,
)

CONFIG_TOML = REPO_ROOT / ".streamlit" / "config.toml"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_LAUNCH = {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}
VIEWPORT = {"width": 1280, "height": 900}

# Timeouts.
SERVER_START_TIMEOUT_S = 120.0  # `streamlit run` until /_stcore/health answers
OPEN_TIMEOUT_MS = 180_000  # a page's first run (lesson 5 loads a model)
EDIT_TIMEOUT_MS = 60_000  # one edit until its chart changes
DEFAULT_SESSION_TTL_S = 120.0  # Streamlit's default server.disconnectedSessionTTL

# What the benchmarks touch on the page.
EXCEPTION = "[data-testid=stException]"
WEIGHTS_HEATMAP = "weights_heatmap"  # the st.plotly_chart key of lesson 1's weights heatmap
SCORES_BAR = "query_scores_bar"  # the one of the query's scores bar
EDITOR = "[class*=st-key-w_editor_]"  # the embedding editor (the floor app's editor too)
EDITOR_CANVAS = f"{EDITOR} canvas[data-testid=data-grid-canvas]"
CELL_EDITOR = "[data-testid=portal] .gdg-input, [data-testid=portal] textarea"

# JavaScript ---------------------------------------------------------------------------------

# Click the sidebar link whose text ends with `label`. (CLICK_SIDEBAR_LINK_SCRIPT finds a link
# by its URL path, but the home page's link has href="", which resolves to the page the student
# is on.)
CLICK_SIDEBAR_LABEL_SCRIPT = """
(label) => {
  const link = [...document.querySelectorAll("[data-testid=stSidebar] a[href]")]
    .find((a) => a.innerText.trim().endsWith(label));
  if (!link) return false;
  link.click();
  return true;
}
"""
# True when the data editor's cell `id` ("glide-cell-<col>-<row>") is selected.
CELL_SELECTED_SCRIPT = (
    "(id) => document.getElementById(id)?.getAttribute('aria-selected') === 'true'"
)
# Arms the clock for one edit, in the page's own time (performance.now()). t0: the commit (Enter
# goes down when trigger is "enter"; the pointer is released on a listbox option when it is
# "option"). t1: the chart with key `key` holds other numbers in _fullData[0][field] than at
# arming (a MutationObserver and a 16 ms timer watch it). running / idle: the script run seen
# starting and ending in the page (stApp's data-test-script-state), after t0. An in-place chart
# far from the screen (ui/live_chart.js) is drawn when it comes near: from t0, whenever it waits
# out of view, the student scrolls it into view, as one would to look at it.
ARM_EDIT_SCRIPT = """
([key, field, trigger]) => {
  const bringIntoView = BRING_INTO_VIEW_JS;
  const selector = ".st-key-" + key + " .js-plotly-plot";
  const current = (look) => {
    if (look) bringIntoView(key);
    const plot = document.querySelector(selector);
    return plot && plot._fullData && plot._fullData[0] ? plot._fullData[0][field] : null;
  };
  const text = (v) => v == null ? "" : JSON.stringify(
    Array.from(v, (row) => row != null && typeof row === "object" ? Array.from(row) : row));
  if (window.__edit && window.__edit.stop) window.__edit.stop();
  const edit = {t0: null, t1: null, running: null, idle: null, last: current()};
  edit.before = text(edit.last);
  window.__edit = edit;
  const check = () => {
    if (edit.t0 === null || edit.t1 !== null) return;
    const value = current(true);
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
  const app = document.querySelector("[data-testid=stApp]");
  const runState = new MutationObserver(() => {
    if (edit.t0 === null) return;
    const state = app.getAttribute("data-test-script-state");
    if (state === "running" && edit.running === null) edit.running = performance.now();
    if (state === "notRunning" && edit.running !== null && edit.idle === null) {
      edit.idle = performance.now();
    }
  });
  runState.observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
  window.addEventListener("keydown", onKey, true);
  window.addEventListener("pointerup", onPointer, true);
  window.addEventListener("click", onPointer, true);
  const observer = new MutationObserver(check);
  observer.observe(document.body, {subtree: true, childList: true, attributes: true});
  const timer = setInterval(check, 16);
  edit.stop = () => {
    observer.disconnect();
    clearInterval(timer);
    setTimeout(() => runState.disconnect(), 30000);
    window.removeEventListener("keydown", onKey, true);
    window.removeEventListener("pointerup", onPointer, true);
    window.removeEventListener("click", onPointer, true);
  };
}
""".replace("BRING_INTO_VIEW_JS", BRING_INTO_VIEW_JS)
EDIT_DONE_SCRIPT = "() => !!window.__edit && window.__edit.t0 !== null && window.__edit.t1 !== null"
EDIT_STOP_SCRIPT = "() => window.__edit && window.__edit.stop && window.__edit.stop()"
# Milliseconds after the commit: new numbers in the chart, the script run seen starting, ending.
EDIT_ELAPSED_SCRIPT = """
() => {
  const e = window.__edit;
  const since = (t) => (t === null ? null : t - e.t0);
  return {picture: e.t1 - e.t0, running: since(e.running), idle: since(e.idle)};
}
"""


# The "last chart drawn" clock ------------------------------------------------------------------
# Installed in every page of a browser context before the app's own code runs
# (context.add_init_script): an accessor for `emit` on HTMLDivElement.prototype. Plotly gives
# each plot div its `emit` by assignment (Events.init, at the start of every newPlot/react of a
# fresh div), so the setter sees every plot div Plotly ever draws, and the function it keeps
# reports each "plotly_afterplot" (the end of a draw) to window.__onPlotDraw(div) before passing
# it on. A purge deletes nothing here (the property lives on the prototype); the next init
# assigns again and is seen again.
PLOT_DRAW_HOOK_SCRIPT = """
(() => {
  if (window.__plotDrawHook) return;
  window.__plotDrawHook = true;
  const emits = new WeakMap();
  Object.defineProperty(HTMLDivElement.prototype, "emit", {
    configurable: true,
    get() { return emits.get(this); },
    set(fn) {
      const div = this;
      emits.set(div, function (event, data) {
        if (event === "plotly_afterplot" && typeof window.__onPlotDraw === "function") {
          try { window.__onPlotDraw(div); } catch (error) { /* never break the chart */ }
        }
        return fn.apply(this, arguments);
      });
    },
  });
})();
"""
# Arms the clock for one edit (needs PLOT_DRAW_HOOK_SCRIPT). t0: the commit (Enter goes down
# when trigger is "enter"; the pointer is released on a listbox option when it is "option").
# Every Plotly draw after t0 is recorded (its time, and which plot div). The edit is done when
# the app's script state (stApp's data-test-script-state) went running -> notRunning after t0
# (or, when the page applied a short run's start and end in one render, is notRunning and a
# chart was drawn after t0), is still notRunning, and neither a draw nor a state change has
# happened for `quiet_ms`. Then `done` is set. When no chart was drawn at all, `done` waits for
# NO_DRAW_MS of quiet after the run (the page can draw more than a second after it shows the
# run ended) and comes with `error`: an edit that changed nothing must not read as a fast one.
# A 50 ms timer checks; it stops when done or at EDIT_DRAWS_STOP_SCRIPT. Draws after `done`
# are counted in `late` (EDIT_LATE_DRAWS_SCRIPT): a check that the quiet window was long enough.
# `watch`: the key of the chart the student looks at (or null). An in-place chart far from the
# screen is drawn when it comes near (ui/live_chart.js): from t0, whenever the watched chart
# waits out of view (the 50 ms timer looks), it is scrolled into view, and what that draws is
# part of the edit.
ARM_DRAWS_SCRIPT = """
([trigger, quietMs, noDrawMs, watch]) => {
  const bringIntoView = BRING_INTO_VIEW_JS;
  if (window.__draws && window.__draws.stop) window.__draws.stop();
  const app = document.querySelector("[data-testid=stApp]");
  const before = new Set(document.querySelectorAll(".js-plotly-plot"));
  const rec = {t0: null, draws: [], divs: [], running: null, idle: null, changed: null,
               done: false, error: null, newPlots: 0, late: 0};
  window.__draws = rec;
  window.__onPlotDraw = (div) => {
    if (rec.t0 === null) return;
    if (rec.done) {
      rec.late += 1;
      return;
    }
    rec.draws.push(performance.now());
    if (!rec.divs.includes(div)) rec.divs.push(div);
  };
  const onKey = (event) => {
    if (trigger === "enter" && event.key === "Enter" && rec.t0 === null) {
      rec.t0 = performance.now();
    }
  };
  const onPointer = (event) => {
    if (trigger === "option" && rec.t0 === null && event.target.closest
        && event.target.closest("[role=option]")) {
      rec.t0 = performance.now();
    }
  };
  const runState = new MutationObserver(() => {
    if (rec.t0 === null || rec.done) return;
    const state = app.getAttribute("data-test-script-state");
    rec.changed = performance.now();
    if (state === "running" && rec.running === null) rec.running = performance.now();
    if (state === "notRunning" && rec.running !== null && rec.idle === null) {
      rec.idle = performance.now();
    }
  });
  runState.observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
  window.addEventListener("keydown", onKey, true);
  window.addEventListener("pointerup", onPointer, true);
  window.addEventListener("click", onPointer, true);
  const check = () => {
    if (rec.t0 === null || rec.done) return;
    if (watch) bringIntoView(watch);
    const now = performance.now();
    const notRunning = app.getAttribute("data-test-script-state") === "notRunning";
    const ended = rec.idle !== null || (rec.draws.length > 0 && notRunning);
    const last = Math.max(rec.t0, rec.changed ?? 0, rec.draws.at(-1) ?? 0);
    const quiet = rec.draws.length > 0 ? quietMs : noDrawMs;
    if (ended && notRunning && now - last >= quiet) {
      rec.newPlots = [...document.querySelectorAll(".js-plotly-plot")]
        .filter((div) => !before.has(div)).length;
      if (rec.draws.length === 0) rec.error = "no chart was drawn after the edit";
      rec.done = true;
      rec.stop();
    }
  };
  const timer = setInterval(check, 50);
  rec.stop = () => {
    clearInterval(timer);
    runState.disconnect();
    window.removeEventListener("keydown", onKey, true);
    window.removeEventListener("pointerup", onPointer, true);
    window.removeEventListener("click", onPointer, true);
  };
}
""".replace("BRING_INTO_VIEW_JS", BRING_INTO_VIEW_JS)
EDIT_DRAWS_DONE_SCRIPT = "() => !!window.__draws && window.__draws.done"
EDIT_LATE_DRAWS_SCRIPT = "() => (window.__draws ? window.__draws.late : 0)"
EDIT_DRAWS_STOP_SCRIPT = "() => window.__draws && window.__draws.stop && window.__draws.stop()"
# Milliseconds after the commit: the first and the last chart drawn, the script run seen
# starting and ending; how many draws, how many charts (plot divs) drew, how many plot divs are
# new since arming, how many in-place charts wait out of view with a figure they have not drawn
# (ui/live_chart.js draws them when they come near); the error, if any.
EDIT_DRAWS_ELAPSED_SCRIPT = """
() => {
  const e = window.__draws;
  const since = (t) => (t === null || t === undefined ? null : t - e.t0);
  return {picture: since(e.draws.at(-1)), first: since(e.draws[0]), running: since(e.running),
          idle: since(e.idle), draws: e.draws.length, charts: e.divs.length,
          new_plots: e.newPlots, error: e.error,
          waiting: document.querySelectorAll(".ae-live-chart[data-waiting]").length};
}
"""
QUIET_MS = 600  # no draw and no run for this long after the run ended: the edit is done
NO_DRAW_MS = 5_000  # ... or, when no chart was drawn, this long: the edit drew nothing


ROW_PX = 35  # Streamlit's data-editor rows (and its header row) are 35 px high


def row_point(box: dict[str, float], row: int) -> tuple[float, float]:
    """Where to click in the data editor's canvas `box` (a Playwright bounding box) to select
    the first cell of data row `row` (below the header row): 8 px from the left edge, in the
    middle of the row."""
    return box["x"] + 8, box["y"] + ROW_PX * (row + 1.5)


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
    """A figure for the table: "1.23 ×", "4.5 s", "1,234 ms"; "n/a" for None."""
    if value is None:
        return "n/a"
    if unit == "×":
        return f"{value:.2f} ×"
    if unit == "s":
        return f"{value:.1f} s"
    return f"{value:,.0f} {unit}"


def fmt_ms(value: float | None) -> str:
    """Milliseconds for a report line ("n/a" for None)."""
    return fmt_value(value, "ms")


def fmt_mb(value: float | None) -> str:
    """Megabytes for a report line ("n/a" for None)."""
    return fmt_value(value, "MB")


def print_row(row: Row) -> None:
    """One row as a console line, while a benchmark runs."""
    print(f"  {row.case}: {fmt_value(row.value, row.unit)}  ({row.detail})", flush=True)


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
    """The rows and extra facts write_json() wrote to `path`."""
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    return [Row(**row) for row in payload["rows"]], payload.get("extra", {})


def median(values: Sequence[float]) -> float:
    """The median of `values` (at least one)."""
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def spread(values: Sequence[float], scale: float = 1.0, digits: int = 0) -> str:
    """'min–max of n' for a detail column."""
    lo, hi = min(values) * scale, max(values) * scale
    return f"min {lo:.{digits}f}, max {hi:.{digits}f}, n = {len(values)}"


def parse_args(
    doc: str,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
    quick_help: str | None = None,
) -> argparse.Namespace:
    """The command line every benchmark script shares: its docstring's first line as the
    description, the script's own `options`, and with `quick_help` --quick and --json (for
    run_all.py). Also turns SIGTERM into KeyboardInterrupt (stop_on_sigterm)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if quick_help is not None:
        parser.add_argument("--quick", action="store_true", help=quick_help)
        parser.add_argument("--json", help="also write the rows to this JSON file")
    if options is not None:
        options(parser)
    args = parser.parse_args()
    stop_on_sigterm()
    return args


def bench_main(
    doc: str,
    run: Callable[[argparse.Namespace], list[Row]],
    options: Callable[[argparse.ArgumentParser], None] | None = None,
    quick_help: str = "fewer repeats",
) -> None:
    """A benchmark's main(): parse_args(), the machine facts (unless run_all.py, which prints
    them once, asks for --json), the name before the first colon of the script's docstring
    `doc`, `run(args)`; the rows go to --json and are printed as a table."""
    args = parse_args(doc, options, quick_help)
    if not args.json:
        print_machine_info()
    print(f"== {doc.split(':', 1)[0].strip()}", flush=True)
    rows = run(args)
    write_json(args.json, rows)
    if rows:
        print(table(rows))


def error_counts(counts: dict[str, int]) -> str:
    """'3 (timeout: 2, stException: 1)' or '0'."""
    total = sum(counts.values())
    if not counts:
        return str(total)
    return f"{total} ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))})"


# Machine ---------------------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as text."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def chromium_version() -> str:
    """Debian Chromium's version, or '?'."""
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=20)
        return out.stdout.strip().removeprefix("Chromium ").split()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "?"


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
            f"streamlit {streamlit.__version__}, plotly {plotly.__version__}, "
            f"chromium {chromium_version()}"
        ),
    }


def print_machine_info() -> None:
    """machine_info(), one fact a line."""
    for key, value in machine_info().items():
        print(f"{key:>13}: {value}")


def session_ttl_s() -> float:
    """server.disconnectedSessionTTL from .streamlit/config.toml (Streamlit's default if unset)."""
    try:
        config = tomllib.loads(CONFIG_TOML.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return DEFAULT_SESSION_TTL_S
    return float(config.get("server", {}).get("disconnectedSessionTTL", DEFAULT_SESSION_TTL_S))


# Processes -------------------------------------------------------------------------------------


def stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so `finally` blocks stop servers and browsers."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def process_tree(pid: int) -> list[psutil.Process]:
    """Process `pid` and all its descendants (empty if it is gone)."""
    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_tree(pid: int, timeout: float = 10.0) -> None:
    """Stop process `pid` and all its descendants: SIGTERM, then SIGKILL after `timeout`."""
    procs = process_tree(pid)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=timeout)


def rss_mb(procs: Sequence[psutil.Process]) -> float:
    """Resident memory of `procs` together, MB."""
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return total / 2**20


def tree_rss_mb(pid: int) -> float:
    """Resident memory of process `pid` and its children, MB."""
    return rss_mb(process_tree(pid))


def cpu_seconds(procs: Sequence[psutil.Process]) -> float:
    """User plus system CPU seconds used so far by `procs` together."""
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


# Servers ---------------------------------------------------------------------------------------


@dataclass
class Server:
    """A `streamlit run` process on 127.0.0.1 and its log."""

    url: str
    process: subprocess.Popen
    log: IO[str]
    started: float  # time.perf_counter() just before the process was started
    healthy_after_s: float = 0.0  # seconds from start until /_stcore/health answered "ok"

    @property
    def pid(self) -> int:
        """The `streamlit run` process's pid."""
        return self.process.pid

    def rss_mb(self) -> float:
        """Resident memory of the server and its children, MB."""
        return tree_rss_mb(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        """The last `lines` lines the server printed."""
        self.log.flush()
        self.log.seek(0)
        return "\n".join(self.log.read().splitlines()[-lines:])

    def wait_healthy(self, timeout: float = SERVER_START_TIMEOUT_S) -> None:
        """Block until /_stcore/health answers ok; raise if the process exits or time runs out."""
        deadline = self.started + timeout
        while not healthy(self.url):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"streamlit exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if time.perf_counter() > deadline:
                raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s")
            time.sleep(0.05)
        self.healthy_after_s = time.perf_counter() - self.started


@contextlib.contextmanager
def launched(script: str) -> Iterator[Server]:
    """`streamlit run <script>` (relative to the repo root) on a free port of 127.0.0.1,
    headless, not yet known to be healthy; the process tree is stopped afterwards."""
    port = free_port()
    with tempfile.TemporaryFile("w+", prefix="bench-streamlit-", suffix=".log") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            streamlit_command(script, port), cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield Server(f"http://127.0.0.1:{port}", process, log, started)
        finally:
            kill_tree(process.pid)


@contextlib.contextmanager
def streamlit_server(script: str, timeout: float = SERVER_START_TIMEOUT_S) -> Iterator[Server]:
    """A healthy `streamlit run <script>` server; stopped (with its children) afterwards."""
    with launched(script) as server:
        server.wait_healthy(timeout)
        yield server


@contextlib.asynccontextmanager
async def streamlit_server_async(
    script: str = "app.py", timeout: float = SERVER_START_TIMEOUT_S
) -> AsyncIterator[Server]:
    """streamlit_server() for asyncio code: the health check waits in a thread."""
    with launched(script) as server:
        await asyncio.to_thread(server.wait_healthy, timeout)
        yield server


# Browsers --------------------------------------------------------------------------------------


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright's sync API; closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**CHROMIUM_LAUNCH)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.asynccontextmanager
async def chromium_async() -> AsyncIterator[Any]:
    """Headless Debian Chromium through Playwright's async API; closed afterwards."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**CHROMIUM_LAUNCH)
        try:
            yield browser
        finally:
            with contextlib.suppress(Exception):
                await browser.close()


def new_page(browser: Any) -> Any:
    """A page in a fresh context (its own Streamlit session) that counts script runs."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(EDIT_TIMEOUT_MS)
    page = context.new_page()
    harness.count_runs(page)
    return page


def script_runs(page: Any) -> int:
    """How many script runs the page's session has started so far (tests/e2e/harness.py)."""
    return harness.script_runs(page)


def wait_idle(page: Any, since: int | None = None, timeout: float = EDIT_TIMEOUT_MS) -> None:
    """Wait until the app is idle; with `since` (a script_runs() count), first until a run
    started after that count has finished."""
    harness.wait_idle(page, since, timeout)


def wait_rendered(page: Any, timeout: float = OPEN_TIMEOUT_MS) -> None:
    """Wait until no skeleton is left and every Plotly chart on the page is drawn."""
    page.wait_for_function(RENDERED_SCRIPT, timeout=timeout, polling=50)


# Many students at once ---------------------------------------------------------------------


async def wait_bounded(
    tasks: Sequence[asyncio.Task],
    timeout: float,
    progress: Callable[[], str] | None = None,
    every: float = 30.0,
) -> int:
    """Wait for `tasks` at most `timeout` seconds, printing progress() every `every` seconds
    (a long run shows it is alive); cancel those still running. How many were cancelled."""

    async def report() -> None:
        while progress is not None:
            await asyncio.sleep(every)
            print(progress(), flush=True)

    reporter = asyncio.create_task(report())
    try:
        _, pending = await asyncio.wait(tasks, timeout=max(timeout, 1.0))
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return len(pending)


async def keep_editing(
    student: Any, kinds: Sequence[str], think: tuple[float, float], until: float
) -> None:
    """`student` (anything with .rng and an async .edit(kind)) edits a random kind of `kinds`
    after each think time, uniform between think[0] and think[1] seconds, until `until`
    (time.monotonic())."""
    while time.monotonic() + think[0] < until:
        await asyncio.sleep(student.rng.uniform(*think))
        if time.monotonic() >= until:
            return
        await student.edit(student.rng.choice(kinds))


# Sampling a server while it works ----------------------------------------------------------


@dataclass
class Sample:
    """One reading of the server's RSS and of server and client CPU seconds so far."""

    t: float  # seconds since the sampler started
    rss_mb: float
    server_cpu_s: float
    client_cpu_s: float
    label: str = ""


@dataclass
class ResourceSampler:
    """Samples the server's RSS (process plus children) every `interval` seconds in an asyncio
    task, with the CPU seconds used so far by the server and by everything else this process
    started plus this process itself (the client side: browsers, or the load generator)."""

    server: Server
    interval: float = 0.5
    samples: list[Sample] = field(default_factory=list)
    _task: asyncio.Task | None = None
    _start: float = 0.0
    _client_cpu: dict[tuple[int, float], float] = field(default_factory=dict)

    def sample(self, label: str = "") -> Sample:
        """Take a reading now (also called every `interval` seconds by the task)."""
        server_procs = process_tree(self.server.pid)
        server_pids = {proc.pid for proc in server_procs}
        me = psutil.Process()
        for proc in [me, *me.children(recursive=True)]:
            if proc.pid not in server_pids:
                with contextlib.suppress(psutil.Error):
                    self._client_cpu[proc.pid, proc.create_time()] = cpu_seconds([proc])
        sample = Sample(
            time.monotonic() - self._start,
            rss_mb(server_procs),
            cpu_seconds(server_procs),
            # Client processes that have ended (a closed tab's renderer) count with the CPU
            # they had used when last seen.
            sum(self._client_cpu.values()),
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
        """Start sampling in an asyncio task; times count from now."""
        self._start = time.monotonic()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop the sampling task."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def peak_mb(self, since: float = 0.0, until: float = float("inf")) -> float | None:
        """The largest server RSS sampled between `since` and `until` (s), or None."""
        values = [s.rss_mb for s in self.samples if since <= s.t <= until]
        return max(values) if values else None

    def now(self) -> float:
        """Seconds since start()."""
        return time.monotonic() - self._start
