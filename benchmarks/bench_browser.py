"""Edit to picture: in headless Chromium, on every lesson page, the time from committing one edit
until the LAST chart that the edit changes is drawn, against the same kind of edit in
benchmarks/floor_app.py (one editor cell, one T x T heatmap) at the same T.

The clock is the page's own (common.PLOT_DRAW_HOOK_SCRIPT and ARM_DRAWS_SCRIPT): t0 when the edit
is committed (Enter goes down in the editor's cell or text box; the pointer is released on a
select's option), then every Plotly draw ("plotly_afterplot" of any plot div) is recorded until
the script run has ended and nothing has been drawn for 600 ms. The figure is the last draw
minus t0; the first draw and the number of charts drawn are reported next to it. An edit after
which no chart is drawn is an error, never a figure; before measuring, a clock check shows it
(on the Softmax lab: the same scores written otherwise rerun the page but change no chart).

The edits, one kind per page (URL paths as the app serves them):
- lessons 1 to 4 (/, /Trainable_weights, /Causal_attention, /Multi-head_attention): a cell of
  the embedding editor (lessons 2 to 4 have it in the "Tokens and embeddings" expander), at
  T = 5 (the seed example) and T = 64 (a share link ?tokens=t0%20t1...; the editor's row
  count is checked to be T);
- Softmax lab (/Softmax_lab): its row of scores, typed anew (5 scores; the box takes at most 16
  and no link sets them, so there is no T = 64 row);
- lesson 5 (/Pretrained_transformer): the "Head" select; T is the default sentence's token count;
- lesson 6 (/Generating_text): after one generation, the "Head" select; T is the prompt and the
  generated tokens (needs the model file; fetched as the tests do, else the row is not run).
- a reference, not a lesson ("text"): the floor app with N elements of text after its heatmap
  (/?T=5&text=N, N in 0..200: headers, Markdown, captions and info boxes; by default N = 98,
  as many as lesson 1's whole page has elements at T = 5; --text 24,48,98 measures several),
  edited like the floor, on the same floor server as the plain floor it is measured against;
  its rows have no budget. They show what a page's text alone costs an edit.
The floor app gets a cell edit at the same T (at most 64). Edits alternate app, floor, app,
floor, ...; the first of each is a warm-up. Rows: app / floor of the median edit-to-last-chart
time (budget 1.3 x at T = 5, 1.5 x at T = 64; pages whose T is set by their content get the
budget of the nearer of the two), of the server's CPU per edit (budget 1.5 x) and of the page's
main-thread CPU per edit (Chrome's TaskDuration; budget 2 x). The server's CPU is a mean, not a
median: its counter (psutil, from /proc) moves in 10 ms ticks, a floor edit takes 1 to 3 of
them, and a median of single edits can only be a multiple of half a tick. Prints, never
asserts.

    python benchmarks/bench_browser.py [--quick] [--edits 12] [--pages l1,l2,l3,l4,lab,l5,l6,text]
                                       [--sizes 5,64] [--text 98] [--no-clock-check]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import classroom
import common
import psutil

SIZES = (5, 64)
BUDGET_PICTURE = {5: 1.3, 64: 1.5}
BUDGET_SERVER_CPU = 1.5
BUDGET_PAGE_CPU = 2.0
MAX_FAILED_EDITS = 3
FLOOR_MAX_T = 64
SETTLE_S = 0.3  # after an edit is done, before the CPU counters are read again
LAB_SCORES = "0.12, -0.24, 0.36, -0.82"  # the lab's golden row without its last score
LAB_INPUT = 'input[aria-label^="Scores ω"]'
GENERATE_BUTTON = ".st-key-w_l6_generate button"
# Lesson 1's elements at T = 5, all of them (its editor, charts, tables, containers and sidebar
# included): the nodes of AppTest's tree less root, main, sidebar and event.
TEXT_ELEMENTS = 98
TEXT_MAX = 200  # floor_app.py draws at most this many (a test checks the two agree)
# True once the chart with st.plotly_chart key `key` is drawn and no skeleton is left.
PAGE_DRAWN_SCRIPT = (
    "(key) => document.querySelectorAll('[data-testid=stSkeleton]').length === 0 && ("
    + common.CHART_DRAWN_SCRIPT.strip()
    + ")(key)"
)
# The number of rows of the first trace's z of the chart with key `key` (a T x T heatmap).
HEATMAP_ROWS_SCRIPT = """
(key) => {
  const plot = document.querySelector(".st-key-" + key + " .js-plotly-plot");
  return plot && plot._fullData && plot._fullData[0] ? plot._fullData[0].z.length : null;
}
"""
# Open the expander whose summary starts with `label` (if it is closed).
OPEN_EXPANDER_SCRIPT = """
(label) => {
  const details = [...document.querySelectorAll("[data-testid=stExpander] details")]
    .find((d) => d.querySelector("summary").innerText.trim().includes(label));
  if (!details) return false;
  if (!details.open) details.querySelector("summary").click();
  return true;
}
"""


@dataclass(frozen=True)
class Page:
    """A lesson page under test: its --pages key, name, URL path, the chart key that shows it
    is drawn, the edit a student makes there ("cell", "scores", "head"), whether T can be set
    by a share link, and (else) the chart whose rows are its T."""

    key: str
    name: str
    path: str
    chart: str
    edit: str
    sized: bool = True
    t_chart: str = ""
    select: str = ""  # the widget key of the select an edit changes
    note: str = ""

    @property
    def reference(self) -> bool:
        """The floor with text (edit "floor"): measured on the floor's server, without budgets."""
        return self.edit == "floor"

    @property
    def measured(self) -> str:
        """What its "app" figures are of, in the rows: "app", or "with text" for a reference."""
        return "with text" if self.reference else "app"


PAGES = (
    Page("l1", "lesson 1", "/", common.WEIGHTS_HEATMAP, "cell"),
    Page("l2", "lesson 2", "/Trainable_weights", "l2_weights_heatmap", "cell"),
    Page("l3", "lesson 3", "/Causal_attention", "l3_weights_heatmap", "cell"),
    Page("l4", "lesson 4", "/Multi-head_attention", "l4_query_weights_bar", "cell"),
    Page(
        "lab",
        "Softmax lab",
        "/Softmax_lab",
        "softmax_lab_bars",
        "scores",
        sized=False,
        note="5 scores; the box takes at most 16 and no link sets them: no T = 64 row",
    ),
    Page(
        "l5",
        "lesson 5",
        "/Pretrained_transformer",
        "l5_head_heatmap",
        "head",
        sized=False,
        t_chart="l5_head_heatmap",
        select="w_l5_head",
        note="T = the default sentence's WordPiece tokens",
    ),
    Page(
        "l6",
        "lesson 6",
        "/Generating_text",
        "l6_matrix",
        "head",
        sized=False,
        t_chart="l6_matrix",
        select="w_l6_head",
        note="T = the prompt's and the generated tokens, after one generation",
    ),
    # Not a lesson: the floor app with N elements of text after its heatmap, against the plain
    # floor (text_page). What a page's text alone costs an edit (no chart, table or widget more).
    Page("text", "", "", common.WEIGHTS_HEATMAP, "floor", sized=False),
)
PAGE_KEYS = tuple(p.key for p in PAGES)


@dataclass
class Target:
    """One page under test: its student, the edit (an async function of the edit's number),
    the server process, and a Chrome DevTools Protocol session for the page's CPU."""

    name: str
    student: classroom.Student
    edit: Callable[[int], Awaitable[classroom.EditRecord]]
    server: psutil.Process
    cdp: Any

    async def cpu_ms(self) -> tuple[float, float]:
        """CPU milliseconds used so far by the server process and by the page's main thread."""
        server = self.server.cpu_times()
        metrics = (await self.cdp.send("Performance.getMetrics"))["metrics"]
        task = next(m["value"] for m in metrics if m["name"] == "TaskDuration")
        return (server.user + server.system) * 1000, task * 1000


def share_path(path: str, T: int) -> str:
    """The page at `path` with the seed example for T = 5, else with a share link with tokens
    t0 .. t(T-1)."""
    if T == 5:
        return path
    return path + "?tokens=" + quote(" ".join(f"t{i}" for i in range(T)), safe="")


def edit_value(i: int) -> str:
    """The number typed at edit `i`: different at every edit."""
    return f"{0.3 + 0.0137 * (i + 1):.4f}"


async def open_student(browser: Any, server: common.Server, path: str, chart: str) -> Any:
    """A student on `path` with the draw clock installed, once chart `chart` is drawn."""
    student = await classroom.Student.open(
        browser,
        server.url,
        0,
        0,
        path=path,
        open_timeout_ms=common.OPEN_TIMEOUT_MS,
        ready=(PAGE_DRAWN_SCRIPT, chart),
        watch_draws=True,
    )
    if student.load_ms is None:
        await student.close()
        raise RuntimeError(f"{path} did not open: {student.errors}")
    return student


async def new_target(
    name: str,
    student: classroom.Student,
    server: common.Server,
    edit: Callable[[int], Awaitable[classroom.EditRecord]],
) -> Target:
    cdp = await student.page.context.new_cdp_session(student.page)
    await cdp.send("Performance.enable")
    return Target(name, student, edit, psutil.Process(server.pid), cdp)


async def open_app(browser: Any, app: common.Server, page: Page, T: int) -> tuple[Target, int]:
    """The app's page ready for its edit; and its T (read from the page when not set). For a
    reference page, `app` is the floor app's server, opened at the page's path."""
    if page.reference:
        student = await open_student(browser, app, page.path, page.chart)

        async def edit_floor(i: int) -> classroom.EditRecord:
            return await student.set_cell(0, 0, edit_value(i), clock="draws")

        try:
            return await new_target("app", student, app, edit_floor), T
        except BaseException:
            await student.close()
            raise
    if page.key == "l6":
        student = await open_lesson6(browser, app)
    else:
        path = share_path(page.path, T) if page.sized else page.path
        student = await open_student(browser, app, path, page.chart)
    # After each edit the student looks at the page's chart: one far below the edited widget
    # is drawn when it comes into view, and that draw counts (common.ARM_DRAWS_SCRIPT).
    student.watch = page.chart
    try:
        if page.t_chart:
            T = int(await student.page.evaluate(HEATMAP_ROWS_SCRIPT, page.t_chart))
        if page.edit == "cell":
            if page.key != "l1":  # lessons 2-4: the editor is in a closed expander
                if not await student.page.evaluate(OPEN_EXPANDER_SCRIPT, "Tokens and embeddings"):
                    raise RuntimeError(f"{page.path}: no 'Tokens and embeddings' expander")
                await student.page.locator(common.EDITOR_CANVAS).wait_for(state="visible")
            table = student.page.locator(common.EDITOR_CANVAS).locator("table")
            shown = int(await table.get_attribute("aria-rowcount") or "1") - 1  # header row
            if shown != T:
                raise RuntimeError(f"{page.path}: the editor has {shown} rows, not T = {T}")
            rows = min(T, 4)

            async def edit(i: int) -> classroom.EditRecord:
                # Column 0 is the read-only token column; column 1 holds dim 1's numbers.
                return await student.set_cell(i % rows, 1, edit_value(i), clock="draws")

        elif page.edit == "scores":

            async def edit(i: int) -> classroom.EditRecord:
                return await student.type_and_enter(LAB_INPUT, f"{LAB_SCORES}, {edit_value(i)}")

        else:

            async def edit(i: int) -> classroom.EditRecord:
                return await student.pick_option(page.select, lambda n, now: (now + 1) % n)

        return await new_target("app", student, app, edit), T
    except BaseException:
        await student.close()
        raise


async def open_lesson6(browser: Any, app: common.Server) -> classroom.Student:
    """Lesson 6 after one generation (the default prompt and settings)."""
    student = await classroom.Student.open(
        browser,
        app.url,
        0,
        0,
        path="/Generating_text",
        open_timeout_ms=common.OPEN_TIMEOUT_MS,
        ready=("(s) => !!document.querySelector(s)", GENERATE_BUTTON),
        watch_draws=True,
    )
    if student.load_ms is None:
        await student.close()
        raise RuntimeError(f"/Generating_text did not open: {student.errors}")
    try:
        await student.page.locator(GENERATE_BUTTON).click()
        await student.page.wait_for_function(
            PAGE_DRAWN_SCRIPT, arg="l6_matrix", timeout=common.OPEN_TIMEOUT_MS, polling=100
        )
        await student.wait_idle()
        await asyncio.sleep(1.0)
        await student.wait_idle()
    except BaseException:
        await student.close()
        raise
    return student


async def open_floor(browser: Any, floor: common.Server, T: int) -> Target:
    student = await open_student(browser, floor, f"/?T={T}", common.WEIGHTS_HEATMAP)

    async def edit(i: int) -> classroom.EditRecord:
        return await student.set_cell(0, 0, edit_value(i), clock="draws")

    return await new_target("floor", student, floor, edit)


async def timed_edit(target: Target, i: int) -> dict[str, Any]:
    """Edit number `i` on `target`: the clock's figures (classroom.Student.timed_draws) and
    the CPU milliseconds the edit cost the server ("server_cpu") and the page's main thread
    ("page_cpu"), from just before the commit until SETTLE_S after the edit was done; "late":
    draws seen in that settling time (0 when the quiet window was long enough)."""
    student = target.student
    await student.page.bring_to_front()
    before: list[tuple[float, float]] = []

    async def read_cpu() -> None:
        before.append(await target.cpu_ms())

    student.before_commit = read_cpu
    record = await target.edit(i)
    if record.ms is None:
        raise RuntimeError(student.errors[-1][1] if student.errors else record.error)
    await asyncio.sleep(SETTLE_S)
    server_after, page_after = await target.cpu_ms()
    late = await student.page.evaluate(common.EDIT_LATE_DRAWS_SCRIPT)
    return record.elapsed | {
        "server_cpu": server_after - before[0][0],
        "page_cpu": page_after - before[0][1],
        "late": late,
    }


def nan_median(values: list[float]) -> float:
    return common.median(values) if values else float("nan")


def ratio(a: float, b: float) -> float | None:
    value = a / b if b > 0 else float("nan")
    return None if value != value else value


def picture_budget(T: int) -> float:
    """1.3 x near T = 5, 1.5 x near T = 64 (the nearer of the two sizes)."""
    return BUDGET_PICTURE[min(BUDGET_PICTURE, key=lambda size: abs(size - T))]


async def measure_case(
    app: common.Server,
    floor: common.Server,
    browser: Any,
    page: Page,
    T: int,
    edits: int,
) -> list[common.Row]:
    """Edits alternating app, floor, app, ... on `page` at T tokens; the three rows."""
    targets: list[Target] = []
    try:
        app_target, T = await open_app(browser, floor if page.reference else app, page, T)
        targets.append(app_target)
        targets.append(await open_floor(browser, floor, min(T, FLOOR_MAX_T)))
        keys = ("picture", "first", "charts", "draws", "new_plots", "waiting")
        keys += ("server_cpu", "page_cpu")
        figures: dict[tuple[str, str], list[float]] = {
            (t.name, key): [] for t in targets for key in (*keys, "late")
        }
        by_round: dict[int, dict[str, float]] = {}
        failed: list[str] = []
        for i in range(edits + 1):  # edit 0 is a warm-up
            for target in targets:
                try:
                    elapsed = await timed_edit(target, i)
                except Exception as error:  # note it, go on (the student has recovered)
                    failed.append(f"{target.name} edit {i}: {str(error).splitlines()[0]}")
                    print(f"  {failed[-1]}", flush=True)
                    if len(failed) > MAX_FAILED_EDITS:
                        raise
                    continue
                if i > 0:
                    by_round.setdefault(i, {})[target.name] = elapsed["picture"]
                    for key in (*keys, "late"):
                        if elapsed.get(key) is not None:
                            figures[target.name, key].append(float(elapsed[key]))
    finally:
        for target in targets:
            await target.student.close()

    def med(name: str, key: str) -> float:
        return nan_median(figures[name, key])

    def mean(name: str, key: str) -> float:
        """The mean, for the server's CPU: its counter moves in clock ticks of 10 ms, so a
        median of single edits is a multiple of half a tick (a floor edit takes 1 to 3), while
        the mean of 12 edits is within about 1 ms (it keeps a one-off spike, though)."""
        values = figures[name, key]
        return sum(values) / len(values) if values else float("nan")

    who = page.measured
    case = f"{page.name}, T = {T}, {who} / floor"
    if T > FLOOR_MAX_T:
        case += f" (floor at T = {FLOOR_MAX_T})"
    pairs = [r["app"] / r["floor"] for r in by_round.values() if len(r) == 2]
    note = f"; {page.note}" if page.note else ""
    failures = f"; {len(failed)} edits failed: {failed[0]}" if failed else ""
    late = int(sum(figures["app", "late"]) + sum(figures["floor", "late"]))
    app_pic = figures["app", "picture"]
    picture = common.Row(
        "edit to last chart (browser)",
        case,
        ratio(med("app", "picture"), med("floor", "picture")),
        "×",
        None if page.reference else picture_budget(T),
        f"{who} first chart {med('app', 'first'):,.0f} ms, last chart "
        f"{med('app', 'picture'):,.0f} ms ({common.spread(app_pic) if app_pic else 'n = 0'}), "
        f"charts drawn {med('app', 'charts'):.0f} ({med('app', 'draws'):.0f} draws, "
        f"{med('app', 'new_plots'):.0f} new plot elements), "
        f"{med('app', 'waiting'):.0f} waiting out of view; "
        f"floor {med('floor', 'picture'):,.0f} ms"
        + (
            f" ({common.spread(figures['floor', 'picture'])})"
            if figures["floor", "picture"]
            else ""
        )
        + (f"; median of paired ratios {common.median(pairs):.2f}" if pairs else "")
        + f"; draws after the quiet window: {late}{note}{failures}",
    )
    server = common.Row(
        "server CPU per edit (browser)",
        case,
        ratio(mean("app", "server_cpu"), mean("floor", "server_cpu")),
        "×",
        None if page.reference else BUDGET_SERVER_CPU,
        f"{who} {mean('app', 'server_cpu'):,.1f} ms, floor {mean('floor', 'server_cpu'):,.1f} ms "
        f"(means of {len(figures['app', 'server_cpu'])} and "
        f"{len(figures['floor', 'server_cpu'])} edits; the counter moves in 10 ms ticks)",
    )
    page_cpu = common.Row(
        "page main-thread CPU per edit (browser)",
        case,
        ratio(med("app", "page_cpu"), med("floor", "page_cpu")),
        "×",
        None if page.reference else BUDGET_PAGE_CPU,
        f"{who} {med('app', 'page_cpu'):,.0f} ms, floor {med('floor', 'page_cpu'):,.0f} ms "
        "(Chrome's TaskDuration from the commit until 0.3 s after the last chart)",
    )
    return [picture, server, page_cpu]


def not_run(page: Page, T: int | None, reason: str) -> common.Row:
    who = page.measured
    case = f"{page.name}, T = {T}, {who} / floor" if T else f"{page.name}, {who} / floor"
    return common.Row(
        "edit to last chart (browser)",
        case,
        None,
        "×",
        None if page.reference else picture_budget(T or 5),
        reason[:300],
    )


def model_file_problem() -> str | None:
    """None when lesson 6's model file is here (fetched now if need be, as the tests do);
    else why not."""
    from attention import model_files

    if model_files.locate_model_file() is not None:
        return None
    try:
        model_files.fetch_model_file()
    except model_files.ModelUnavailableError as error:
        return f"not run: lesson 6's model file could not be obtained: {error}"
    return None


async def check_clock(app: common.Server, browser: Any) -> str:
    """The clock must not give a figure when no chart changes. On the Softmax lab: new scores
    (a figure), then the same scores written otherwise (a script run that changes no chart:
    must be an error), then new scores again (a figure). A line for the log."""
    student = await open_student(browser, app, "/Softmax_lab", "softmax_lab_bars")
    try:
        texts = (f"{LAB_SCORES}, 0.5", LAB_SCORES.replace(" ", "") + ",0.5", f"{LAB_SCORES}, 0.6")
        records = [await student.type_and_enter(LAB_INPUT, text) for text in texts]
    finally:
        await student.close()
    ok = records[0].ms is not None and records[1].ms is None and records[2].ms is not None
    seen = ", ".join(common.fmt_ms(r.ms) if r.ms is not None else r.error for r in records)
    verdict = "as it must" if ok else "WRONG: the clock cannot be trusted"
    return f"clock check (changed, unchanged, changed scores): {seen}; {verdict}"


def text_page(page: Page, elements: int) -> Page:
    """The "text" page with `elements` elements of text after the floor's heatmap."""
    note = "only headers, Markdown, captions and info boxes"
    if elements == TEXT_ELEMENTS:
        note = f"as many as lesson 1's whole page has elements at T = 5; {note}"
    return replace(
        page,
        name=f"floor + {elements} text elements",
        path=f"/?T=5&text={elements}",
        note=note,
    )


def cases(
    pages: list[Page], sizes: tuple[int, ...], text: tuple[int, ...] = (TEXT_ELEMENTS,)
) -> list[tuple[Page, int]]:
    """(page, requested T) for every row to measure; T is only a default for unsized pages.
    The "text" page is measured with each element count in `text`."""
    out = []
    for page in pages:
        if page.reference:
            out += [(text_page(page, n), 5) for n in text]
        elif page.sized:
            out += [(page, T) for T in sizes]
        else:
            out.append((page, 5))
    return out


async def measure(
    edits: int,
    sizes: tuple[int, ...],
    pages: list[Page],
    check: bool = True,
    text: tuple[int, ...] = (TEXT_ELEMENTS,),
) -> list[common.Row]:
    rows: list[common.Row] = []
    todo = cases(pages, sizes, text)
    problem = model_file_problem() if any(p.key == "l6" for p in pages) else None
    async with (
        common.streamlit_server_async("app.py") as app,
        common.streamlit_server_async("benchmarks/floor_app.py") as floor,
        common.chromium_async() as browser,
    ):
        if check:
            try:
                print("  " + await check_clock(app, browser), flush=True)
            except Exception as error:
                print(f"  clock check could not run: {error!r}"[:300], flush=True)
        for page, T in todo:
            if page.key == "l6" and problem:
                new_rows = [not_run(page, None, problem)]
            else:
                try:
                    new_rows = await measure_case(app, floor, browser, page, T, edits)
                except Exception as error:
                    new_rows = [not_run(page, T if page.sized else None, repr(error))]
            for row in new_rows:
                common.print_row(row)
            rows += new_rows
    return rows


def run(args: argparse.Namespace) -> list[common.Row]:
    sizes = tuple(int(t) for t in args.sizes.split(","))
    keys = [k.strip() for k in args.pages.split(",") if k.strip()]
    unknown = sorted(set(keys) - set(PAGE_KEYS))
    if unknown:
        raise SystemExit(f"unknown pages {unknown}; choose from {', '.join(PAGE_KEYS)}")
    pages = [p for p in PAGES if p.key in keys]
    edits = args.edits or (4 if args.quick else 12)
    text = tuple(int(n) for n in args.text.split(","))
    if any(not 0 <= n <= TEXT_MAX for n in text):
        raise SystemExit(f"--text: each count must be 0..{TEXT_MAX}, not {args.text}")
    return asyncio.run(measure(edits, sizes, pages, not args.no_clock_check, text))


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--edits", type=int, help="timed edits per page and T (after a warm-up)")
    parser.add_argument("--sizes", default="5,64", help="token counts T of lessons 1-4, e.g. 5,64")
    parser.add_argument(
        "--text",
        default=str(TEXT_ELEMENTS),
        help=f"element counts of the floor-with-text page, e.g. 24,48,98 (0..{TEXT_MAX})",
    )
    parser.add_argument(
        "--no-clock-check",
        action="store_true",
        help="skip the check that an edit changing no chart is an error, not a figure",
    )
    parser.add_argument(
        "--pages",
        default=",".join(PAGE_KEYS),
        help=f"pages to measure, from {','.join(PAGE_KEYS)} (default: all)",
    )


if __name__ == "__main__":
    common.bench_main(__doc__, run, options, quick_help="4 timed edits instead of 12")
