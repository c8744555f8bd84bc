"""Edit to picture: in headless Chromium, the time from committing one edit in the embedding
editor (Enter in the data editor's cell) until the weights heatmap holds the new numbers,
against the same edit in benchmarks/floor_app.py (one editor cell, one T x T heatmap).

Both servers run side by side; the edits alternate app, floor, app, floor, ... The edit is
classroom.Student.set_cell and its clock the page's own (common.ARM_EDIT_SCRIPT): from Enter
going down until the chart's `_fullData[0].z` holds numbers other than before. Figure: median
app / median floor, at T = 5 (the seed example) and T = 64 (opened through a share link
?tokens=t0%20t1...).
Budget: <= 1.5 x the floor. Prints, never asserts.

    python benchmarks/bench_browser.py [--quick] [--edits 20] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import classroom
import common
import psutil

SIZES = (5, 64)
BUDGET_RATIO = 1.5
MAX_FAILED_EDITS = 3


@dataclass
class Target:
    """One app under test: its student (page), the editor column to edit and how many rows the
    editor has, the server process, and a Chrome DevTools Protocol session for the page's CPU."""

    name: str
    student: classroom.Student
    column: int
    rows: int
    server: psutil.Process
    cdp: Any

    async def cpu_ms(self) -> tuple[float, float]:
        """CPU milliseconds used so far by the server process and by the page's main thread."""
        server = self.server.cpu_times()
        metrics = (await self.cdp.send("Performance.getMetrics"))["metrics"]
        task = next(m["value"] for m in metrics if m["name"] == "TaskDuration")
        return (server.user + server.system) * 1000, task * 1000


async def open_target(
    browser: Any, server: common.Server, name: str, path: str, column: int, rows: int
) -> Target:
    student = await classroom.Student.open(
        browser, server.url, 0, 0, path=path, open_timeout_ms=common.OPEN_TIMEOUT_MS
    )
    if student.load_ms is None:
        raise RuntimeError(f"{name} {path} did not open: {student.errors}")
    cdp = await student.page.context.new_cdp_session(student.page)
    await cdp.send("Performance.enable")
    return Target(name, student, column, rows, psutil.Process(server.pid), cdp)


async def timed_edit(target: Target, row: int, value: str) -> dict[str, float | None]:
    """Type `value` into cell (row, target.column), then time Enter -> new heatmap numbers.

    Returns milliseconds after Enter: "picture" (new numbers in the chart), "running" and
    "idle" (the script run seen starting and ending in the page); and the CPU milliseconds the
    edit cost the server ("server_cpu") and the page's main thread ("page_cpu")."""
    student = target.student
    await student.page.bring_to_front()
    before: list[tuple[float, float]] = []

    async def read_cpu() -> None:
        before.append(await target.cpu_ms())

    student.before_commit = read_cpu
    record = await student.set_cell(row, target.column, value)
    if record.ms is None:
        raise RuntimeError(student.errors[-1][1] if student.errors else record.error)
    await asyncio.sleep(0.3)  # let the page settle before the next edit
    server_after, page_after = await target.cpu_ms()
    return record.elapsed | {
        "server_cpu": server_after - before[0][0],
        "page_cpu": page_after - before[0][1],
    }


def median_or_nan(values: list[float]) -> float:
    return common.median(values) if values else float("nan")


def share_path(T: int) -> str:
    """The seed example for T = 5, else a share link with tokens t0 .. t(T-1)."""
    if T == 5:
        return "/"
    return "/?tokens=" + quote(" ".join(f"t{i}" for i in range(T)), safe="")


async def measure_size(
    app: common.Server, floor: common.Server, browser: Any, T: int, edits: int
) -> common.Row:
    """Edits alternating app, floor, app, ... at T tokens; the row of app / floor."""
    targets = [
        await open_target(browser, app, "app", share_path(T), column=1, rows=T),
        await open_target(browser, floor, "floor", f"/?T={T}", column=0, rows=1),
    ]
    keys = ("picture", "idle", "server_cpu", "page_cpu")
    figures = {(t.name, key): [] for t in targets for key in keys}  # (app, figure) -> ms
    by_round: dict[int, dict[str, float]] = {}
    failed: list[str] = []
    try:
        for i in range(edits + 1):  # edit 0 is a warm-up
            value = f"{0.3 + 0.0137 * (i + 1):.4f}"
            for target in targets:
                try:
                    elapsed = await timed_edit(target, i % min(target.rows, 4), value)
                except Exception as error:  # note it, go on (the student has recovered)
                    failed.append(f"{target.name} edit {i}: {str(error).splitlines()[0]}")
                    print(f"  {failed[-1]}", flush=True)
                    if len(failed) > MAX_FAILED_EDITS:
                        raise
                    continue
                if i > 0:
                    by_round.setdefault(i, {})[target.name] = elapsed["picture"]
                    for key in keys:
                        if elapsed[key] is not None:
                            figures[target.name, key].append(elapsed[key])
    finally:
        for target in targets:
            await target.student.close()

    def med(name: str, key: str) -> float:
        values = figures[name, key]
        return common.median(values) if values else float("nan")

    pairs = [r["app"] / r["floor"] for r in by_round.values() if len(r) == 2]
    return common.Row(
        "edit to picture (browser)",
        f"T = {T}, app / floor",
        med("app", "picture") / med("floor", "picture"),
        "×",
        BUDGET_RATIO,
        f"app {med('app', 'picture'):,.0f} ms ({common.spread(figures['app', 'picture'])}), "
        f"floor {med('floor', 'picture'):,.0f} ms "
        f"({common.spread(figures['floor', 'picture'])}); "
        f"median of paired ratios {common.median(pairs):.2f}; script run seen "
        f"ending after {med('app', 'idle'):,.0f} ms (app), "
        f"{med('floor', 'idle'):,.0f} ms (floor); CPU per edit: "
        f"server {med('app', 'server_cpu'):,.0f} ms (app), "
        f"{med('floor', 'server_cpu'):,.0f} ms (floor), "
        f"page main thread {med('app', 'page_cpu'):,.0f} ms (app), "
        f"{med('floor', 'page_cpu'):,.0f} ms (floor)"
        + (f"; {len(failed)} edits failed: {failed[0]}" if failed else ""),
    )


async def measure(edits: int, sizes: tuple[int, ...]) -> list[common.Row]:
    rows = []
    async with (
        common.streamlit_server_async("app.py") as app,
        common.streamlit_server_async("benchmarks/floor_app.py") as floor,
        common.chromium_async() as browser,
    ):
        for T in sizes:
            try:
                row = await measure_size(app, floor, browser, T, edits)
            except Exception as error:
                row = common.Row(
                    "edit to picture (browser)",
                    f"T = {T}, app / floor",
                    None,
                    "×",
                    BUDGET_RATIO,
                    repr(error)[:300],
                )
            common.print_row(row)
            rows.append(row)
    return rows


def run(args: argparse.Namespace) -> list[common.Row]:
    sizes = tuple(int(t) for t in args.sizes.split(","))
    return asyncio.run(measure(args.edits or (6 if args.quick else 20), sizes))


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--edits", type=int, help="timed edits per app and T")
    parser.add_argument("--sizes", default="5,64", help="token counts T, e.g. 5,64")


if __name__ == "__main__":
    common.bench_main(__doc__, run, options, quick_help="6 timed edits instead of 20")
