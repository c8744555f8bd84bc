"""Edit to picture: in headless Chromium, the time from committing one edit in the embedding
editor (Enter in the data editor's cell) until the weights heatmap holds the new numbers,
against the same edit in benchmarks/floor_app.py (one editor cell, one T x T heatmap).

Both servers run side by side; the edits alternate app, floor, app, floor, ... The clock is
the page's own (performance.now()): it starts in a keydown listener when Enter goes down and
stops when a MutationObserver or a requestAnimationFrame loop sees that the chart's
`_fullData[0].z` holds numbers other than before. Figure: median app / median floor, at
T = 5 (the seed example) and T = 64 (opened through a share link ?tokens=t0%20t1...).
Budget: <= 1.5 x the floor. Prints, never asserts.

    python benchmarks/bench_browser.py [--quick] [--edits 20] [--json PATH]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import common
import psutil
from playwright.sync_api import Error as PlaywrightError

SIZES = (5, 64)
BUDGET_RATIO = 1.5
CHART_KEY = "weights_heatmap"
EDIT_TIMEOUT_MS = 60_000
OPEN_TIMEOUT_MS = 180_000
MAX_FAILED_EDITS = 3
ROW_PX = 35  # Streamlit's data-editor rows (and header) are 35 px high

# Arms the clock for one edit: t0 when Enter goes down, t1 when the chart's z has changed.
ARM_SCRIPT = """
(key) => {
  const selector = ".st-key-" + key + " .js-plotly-plot";
  const currentZ = () => {
    const plot = document.querySelector(selector);
    return plot && plot._fullData && plot._fullData[0] ? plot._fullData[0].z : null;
  };
  const text = (z) => z ? Array.from(z, (row) => Array.from(row).join(",")).join(";") : "";
  const bench = {t0: null, t1: null, running: null, idle: null, lastZ: currentZ()};
  bench.before = text(bench.lastZ);
  window.__bench = bench;
  const check = () => {
    if (bench.t1 !== null) return true;
    const z = currentZ();
    if (z && z !== bench.lastZ) {
      bench.lastZ = z;
      if (text(z) !== bench.before) {
        bench.t1 = performance.now();
        return true;
      }
    }
    return false;
  };
  const onKey = (event) => {
    if (event.key === "Enter" && bench.t0 === null) bench.t0 = performance.now();
  };
  window.addEventListener("keydown", onKey, true);
  const app = document.querySelector("[data-testid=stApp]");
  const runState = new MutationObserver(() => {
    if (bench.t0 === null) return;
    const state = app.getAttribute("data-test-script-state");
    if (state === "running" && bench.running === null) bench.running = performance.now();
    if (state === "notRunning" && bench.running !== null && bench.idle === null) {
      bench.idle = performance.now();
    }
  });
  runState.observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
  const observer = new MutationObserver(() => { if (check()) stop(); });
  observer.observe(document.body, {subtree: true, childList: true, attributes: true});
  const frame = () => { if (check()) stop(); else bench.raf = requestAnimationFrame(frame); };
  bench.raf = requestAnimationFrame(frame);
  const stop = () => {
    observer.disconnect();
    setTimeout(() => runState.disconnect(), 30000);
    cancelAnimationFrame(bench.raf);
    window.removeEventListener("keydown", onKey, true);
  };
  bench.stop = stop;
}
"""
DONE_SCRIPT = "() => window.__bench && window.__bench.t1 !== null && window.__bench.t0 !== null"
# Milliseconds after Enter: new numbers in the chart, the script run seen starting and ending.
ELAPSED_SCRIPT = """
() => {
  const b = window.__bench;
  const since = (t) => (t === null ? null : t - b.t0);
  return {picture: b.t1 - b.t0, running: since(b.running), idle: since(b.idle)};
}
"""
CHART_DRAWN_SCRIPT = """
(key) => {
  const plot = document.querySelector(".st-key-" + key + " .js-plotly-plot");
  return !!(plot && plot._fullData && plot._fullData.length > 0);
}
"""


@dataclass
class Target:
    """One app under test: its page, the editor column to edit and how many rows it has."""

    name: str
    page: Any
    column: int
    rows: int
    server: psutil.Process
    cdp: Any  # a Chrome DevTools Protocol session of the page, for its CPU time

    def cpu_ms(self) -> tuple[float, float]:
        """CPU milliseconds used so far by the server process and by the page's main thread."""
        server = self.server.cpu_times()
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        task = next(m["value"] for m in metrics if m["name"] == "TaskDuration")
        return (server.user + server.system) * 1000, task * 1000


def grid(page: Any) -> Any:
    return page.locator("[class*=st-key-w_editor_] canvas[data-testid=data-grid-canvas]")


def select_cell(page: Any, row: int, col: int) -> tuple[float, float]:
    """Click the editor cell (row, col) on the grid's canvas until the grid's accessible table
    says it is selected; returns the click position."""
    canvas = grid(page)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    if box is None:
        raise RuntimeError("the data editor's canvas is not visible")
    n_cols = int(canvas.locator("table").get_attribute("aria-colcount") or "1")
    cell = page.locator(f"[class*=st-key-w_editor_] #glide-cell-{col}-{row}")
    y = box["y"] + ROW_PX * (row + 1.5)
    guess = box["x"] + box["width"] / n_cols * (col + 0.5)
    for x in [guess, *(box["x"] + dx for dx in range(4, int(box["width"]), 12))]:
        page.mouse.click(x, y)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if cell.count() and cell.first.get_attribute("aria-selected") == "true":
                return x, y
            page.wait_for_timeout(25)
        page.keyboard.press("Escape")
    raise RuntimeError(f"could not select editor cell ({row}, {col})")


def timed_edit(target: Target, row: int, value: str) -> dict[str, float | None]:
    """Type `value` into cell (row, target.column), then time Enter -> new heatmap numbers.

    Returns milliseconds after Enter: "picture" (new numbers in the chart), "running" and
    "idle" (the script run seen starting and ending in the page); and the CPU milliseconds the
    edit cost the server ("server_cpu") and the page's main thread ("page_cpu")."""
    page = target.page
    page.bring_to_front()
    x, y = select_cell(page, row, target.column)
    page.mouse.dblclick(x, y)
    editor = page.locator("[data-testid=portal] .gdg-input, [data-testid=portal] textarea").first
    editor.wait_for(state="visible", timeout=10_000)
    editor.fill(value)
    page.evaluate(ARM_SCRIPT, CHART_KEY)
    runs = common.script_runs(page)
    server_before, page_before = target.cpu_ms()
    editor.press("Enter")
    try:
        page.wait_for_function(DONE_SCRIPT, timeout=EDIT_TIMEOUT_MS, polling=50)
    finally:
        page.evaluate("() => window.__bench && window.__bench.stop()")
    common.wait_idle(page, since=runs)
    page.wait_for_timeout(300)  # let the page settle before the next edit
    server_after, page_after = target.cpu_ms()
    return page.evaluate(ELAPSED_SCRIPT) | {
        "server_cpu": server_after - server_before,
        "page_cpu": page_after - page_before,
    }


def recover(target: Target) -> None:
    """After a failed edit: close any cell editor and wait until the app is idle."""
    target.page.keyboard.press("Escape")
    target.page.evaluate("() => window.__bench && window.__bench.stop && window.__bench.stop()")
    common.wait_idle(target.page, timeout=OPEN_TIMEOUT_MS)


def open_target(
    browser: Any, server: common.Server, name: str, path: str, column: int, rows: int
) -> Target:
    page = common.new_page(browser)
    page.goto(server.url + path)
    common.wait_idle(page, since=0, timeout=OPEN_TIMEOUT_MS)
    page.wait_for_function(CHART_DRAWN_SCRIPT, arg=CHART_KEY, timeout=OPEN_TIMEOUT_MS)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    return Target(name, page, column, rows, psutil.Process(server.process.pid), cdp)


def median_or_nan(values: list[float]) -> float:
    return common.median(values) if values else float("nan")


def share_path(T: int) -> str:
    """The seed example for T = 5, else a share link with tokens t0 .. t(T-1)."""
    if T == 5:
        return "/"
    return "/?tokens=" + quote(" ".join(f"t{i}" for i in range(T)), safe="")


def run(quick: bool, edits: int | None = None, sizes: tuple[int, ...] = SIZES) -> list[common.Row]:
    edits = edits or (6 if quick else 20)
    rows = []
    with (
        common.streamlit_server("app.py") as app,
        common.streamlit_server("benchmarks/floor_app.py") as floor,
        common.chromium() as browser,
    ):
        for T in sizes:
            try:
                targets = [
                    open_target(browser, app, "app", share_path(T), column=1, rows=T),
                    open_target(browser, floor, "floor", f"/?T={T}", column=0, rows=1),
                ]
                names = [target.name for target in targets]
                times: dict[str, list[float]] = {name: [] for name in names}
                by_round: dict[int, dict[str, float]] = {}
                run_ends: dict[str, list[float]] = {name: [] for name in names}
                server_cpu: dict[str, list[float]] = {name: [] for name in names}
                page_cpu: dict[str, list[float]] = {name: [] for name in names}
                failed: list[str] = []
                for i in range(edits + 1):  # edit 0 is a warm-up
                    value = f"{0.3 + 0.0137 * (i + 1):.4f}"
                    for target in targets:
                        try:
                            elapsed = timed_edit(target, i % min(target.rows, 4), value)
                        except PlaywrightError as error:  # note it, recover, go on
                            failed.append(f"{target.name} edit {i}: {str(error).splitlines()[0]}")
                            print(f"  {failed[-1]}")
                            if len(failed) > MAX_FAILED_EDITS:
                                raise
                            recover(target)
                            continue
                        if i > 0:
                            times[target.name].append(elapsed["picture"])
                            by_round.setdefault(i, {})[target.name] = elapsed["picture"]
                            if elapsed["idle"] is not None:
                                run_ends[target.name].append(elapsed["idle"])
                            server_cpu[target.name].append(elapsed["server_cpu"])
                            page_cpu[target.name].append(elapsed["page_cpu"])
                for target in targets:
                    target.page.context.close()
                app_ms, floor_ms = common.median(times["app"]), common.median(times["floor"])
                pairs = [r["app"] / r["floor"] for r in by_round.values() if len(r) == 2]
                row = common.Row(
                    "edit to picture (browser)",
                    f"T = {T}, app / floor",
                    app_ms / floor_ms,
                    "×",
                    BUDGET_RATIO,
                    f"app {app_ms:,.0f} ms ({common.spread(times['app'])}), "
                    f"floor {floor_ms:,.0f} ms ({common.spread(times['floor'])}); "
                    f"median of paired ratios {common.median(pairs):.2f}; script run seen "
                    f"ending after {median_or_nan(run_ends['app']):,.0f} ms (app), "
                    f"{median_or_nan(run_ends['floor']):,.0f} ms (floor); CPU per edit: "
                    f"server {common.median(server_cpu['app']):,.0f} ms (app), "
                    f"{common.median(server_cpu['floor']):,.0f} ms (floor), "
                    f"page main thread {common.median(page_cpu['app']):,.0f} ms (app), "
                    f"{common.median(page_cpu['floor']):,.0f} ms (floor)"
                    + (f"; {len(failed)} edits failed: {failed[0]}" if failed else ""),
                )
            except Exception as error:
                row = common.Row(
                    "edit to picture (browser)",
                    f"T = {T}, app / floor",
                    None,
                    "×",
                    BUDGET_RATIO,
                    repr(error)[:300],
                )
            print(f"  {row.case}: {common.fmt_value(row.value, row.unit)}  ({row.detail})")
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 timed edits instead of 20")
    parser.add_argument("--edits", type=int, help="timed edits per app and T")
    parser.add_argument("--sizes", default="5,64", help="token counts T, e.g. 5,64")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    common.stop_on_sigterm()
    print("== edit to picture: Enter in the editor -> new weights heatmap, app vs floor")
    sizes = tuple(int(t) for t in args.sizes.split(","))
    rows = run(args.quick, args.edits, sizes)
    common.write_json(args.json, rows)
    print(common.table(rows))


if __name__ == "__main__":
    main()
