"""A student in a real browser: one Playwright browser context (one Streamlit session) on
lesson 1, making the timed edits a student makes. Used by bench_browser.py (the app against
the floor app), load_classroom.py (N students at once), soak.py (one student, many edits) and
load_server.py (real browsers next to the protocol-level students).

Each timed edit is measured in the page with performance.now() (common.ARM_EDIT_SCRIPT): the
clock starts when the edit is committed (Enter goes down, or the pointer releases a selectbox
option) and stops when the chart that shows the edit holds numbers other than before (Plotly's
`_fullData[0].z` of the weights heatmap, or `_fullData[0].y` of the query's scores bar). A
student opened with watch_draws can also time an edit to the LAST chart it draws anew
(timed_draws, common.ARM_DRAWS_SCRIPT), on any page: bench_browser.py does, on every lesson.

Nothing here asserts on a figure: the benchmarks print them.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import common

TOKENS_INPUT = '[data-testid=stSidebar] input[aria-label^="Tokens"]'
QUERY_INPUT = ".st-key-w_query input[role=combobox]"  # the query picker, by its widget key
# The lesson pages a student visits and comes back from: (URL path, sidebar link label as in
# lessons/catalog.py, page title). Lesson 5 (the pretrained model) is left out: its first
# visit loads a model, which is another benchmark.
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


class EditError(Exception):
    """An edit that went wrong; `kind` names the error class for the report."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass
class EditRecord:
    session: int
    kind: str  # "cell", "tokens", "query"
    ms: float | None  # edit-to-chart milliseconds; None when the edit failed
    error: str = ""
    elapsed: dict[str, float | None] = field(default_factory=dict)  # EDIT_ELAPSED_SCRIPT's


@dataclass
class Student:
    """One browser context = one Streamlit session, with the edits a student makes."""

    index: int
    page: Any
    base_url: str
    rng: random.Random
    edit_timeout_ms: float = common.EDIT_TIMEOUT_MS
    errors: list[tuple[str, str]] = field(default_factory=list)  # (kind, detail)
    records: list[EditRecord] = field(default_factory=list)
    load_ms: float | None = None
    switch_ms: list[float] = field(default_factory=list)
    closing: bool = False
    step: str = ""  # what the current edit is doing, for error reports
    # The key of the chart the student looks at after an edit (timed_draws): an in-place chart
    # that waits out of view is scrolled into view (common.ARM_DRAWS_SCRIPT).
    watch: str | None = None
    # Awaited after the clock is armed, just before the edit is committed (bench_browser.py
    # reads CPU counters there).
    before_commit: Callable[[], Awaitable[None]] | None = None

    @classmethod
    async def open(
        cls,
        browser: Any,
        base_url: str,
        index: int,
        seed: int,
        edit_timeout_ms: float = common.EDIT_TIMEOUT_MS,
        path: str = "/",
        open_timeout_ms: float | None = None,
        ready: tuple[str, Any] = (common.CHART_DRAWN_SCRIPT, common.WEIGHTS_HEATMAP),
        watch_draws: bool = False,
    ) -> Student:
        """A new browser context on `path` (lesson 1 by default); waits until `ready` (a
        JavaScript predicate and its argument; by default: the weights heatmap is drawn) holds
        and the app is idle. With `watch_draws` every page of the context reports its Plotly
        draws (common.PLOT_DRAW_HOOK_SCRIPT), for timed_draws(). A failure is recorded in
        `errors`."""
        context = await browser.new_context(viewport=common.VIEWPORT)
        context.set_default_timeout(edit_timeout_ms)
        if watch_draws:
            await context.add_init_script(common.PLOT_DRAW_HOOK_SCRIPT)
        page = await context.new_page()
        student = cls(index, page, base_url, random.Random(seed * 100_003 + index), edit_timeout_ms)
        page.on("pageerror", student.on_page_error)
        page.on("console", student.on_console)
        timeout = open_timeout_ms or edit_timeout_ms
        started = time.monotonic()
        try:
            await page.goto(base_url + path, timeout=timeout)
            await page.wait_for_function(ready[0], arg=ready[1], timeout=timeout, polling=100)
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
        await self.page.wait_for_selector(
            common.IDLE, state="attached", timeout=self.edit_timeout_ms
        )

    async def check_exceptions(self, where: str) -> None:
        boxes = self.page.locator(common.EXCEPTION)
        if await boxes.count():
            text = (await boxes.first.inner_text())[:300]
            self.errors.append(("stException", f"{where}: {text}"))

    # The timed edits ---------------------------------------------------------------------------

    async def _time(
        self,
        kind: str,
        arm: Callable[[], Awaitable[None]],
        commit: Callable[[], Awaitable[None]],
        finish: Callable[[], Awaitable[dict]],
        stop_script: str,
    ) -> EditRecord:
        """The frame of a timed edit: `arm` the page's clock, run `commit`, then `finish`
        (wait for the clock's end; its elapsed dict, "picture" in ms); record it, or the error
        (then stop the clock with `stop_script` and press Escape)."""
        page = self.page
        try:
            await arm()
            if self.before_commit is not None:
                await self.before_commit()
            self.step = "commit"
            await commit()
            elapsed = await finish()
            record = EditRecord(self.index, kind, float(elapsed["picture"]), elapsed=elapsed)
            self.records.append(record)
            await self.check_exceptions(kind)
        except Exception as error:
            kind_detail = classify(error, f"{kind} ({self.step})")
            self.errors.append(kind_detail)
            record = EditRecord(self.index, kind, None, kind_detail[0])
            self.records.append(record)
            with contextlib.suppress(Exception):
                await page.evaluate(stop_script)
                await page.keyboard.press("Escape")
        return record

    async def timed(
        self,
        kind: str,
        chart: str,
        field_name: str,
        trigger: str,
        commit: Callable[[], Awaitable[None]],
    ) -> EditRecord:
        """Arm the clock on `chart`, run `commit` (which commits the edit), wait for the chart
        to change and for the run to end; record the milliseconds or the error."""
        page = self.page

        async def arm() -> None:
            await page.evaluate(common.ARM_EDIT_SCRIPT, [chart, field_name, trigger])

        async def finish() -> dict:
            self.step = "wait for the chart"
            try:
                await page.wait_for_function(
                    common.EDIT_DONE_SCRIPT, timeout=self.edit_timeout_ms, polling=50
                )
            except Exception as error:
                raise EditError(
                    "chart never updated",
                    f"{chart} unchanged {self.edit_timeout_ms / 1000:.0f} s after the {kind} "
                    f"edit: {type(error).__name__}",
                ) from error
            self.step = "wait for the run to end"
            await self.wait_idle()
            return await page.evaluate(common.EDIT_ELAPSED_SCRIPT)

        return await self._time(kind, arm, commit, finish, common.EDIT_STOP_SCRIPT)

    async def timed_draws(
        self,
        kind: str,
        trigger: str,
        commit: Callable[[], Awaitable[None]],
        quiet_ms: float = common.QUIET_MS,
    ) -> EditRecord:
        """Arm the "last chart drawn" clock (common.ARM_DRAWS_SCRIPT; the page must have been
        opened with watch_draws), run `commit`, wait until the run has ended and no chart has
        been drawn for `quiet_ms`. The record's ms is the last draw after the commit; its
        elapsed also holds "first" (the first draw), "running", "idle", "draws", "charts" and
        "new_plots". An edit after which no chart was drawn is an error, never a figure."""
        page = self.page

        async def arm() -> None:
            await page.evaluate(
                common.ARM_DRAWS_SCRIPT, [trigger, quiet_ms, common.NO_DRAW_MS, self.watch]
            )

        async def finish() -> dict:
            self.step = "wait for the last chart"
            try:
                await page.wait_for_function(
                    common.EDIT_DRAWS_DONE_SCRIPT, timeout=self.edit_timeout_ms, polling=50
                )
            except Exception as error:
                raise EditError(
                    "no picture",
                    f"the run did not end with charts drawn and {quiet_ms:.0f} ms of quiet "
                    f"within {self.edit_timeout_ms / 1000:.0f} s of the {kind} edit: "
                    f"{type(error).__name__}",
                ) from error
            elapsed = await page.evaluate(common.EDIT_DRAWS_ELAPSED_SCRIPT)
            if elapsed["error"]:
                raise EditError("no picture", f"{kind} edit: {elapsed['error']}")
            return elapsed

        return await self._time(kind, arm, commit, finish, common.EDIT_DRAWS_STOP_SCRIPT)

    async def set_cell(self, row: int, col: int, value: str, clock: str = "chart") -> EditRecord:
        """Type `value` into the editor's cell (row, col), press Enter, time it: with clock
        "chart" until the weights heatmap's z changes, with "draws" until the last chart is
        drawn (timed_draws). Column 0 of the embedding editor is the read-only token column."""
        page = self.page
        self.step = "find the editor"
        canvas = page.locator(common.EDITOR_CANVAS)
        await canvas.scroll_into_view_if_needed()
        box = await canvas.bounding_box()
        if box is None:
            raise EditError("action failed", "the embedding editor is not visible")
        cell_id = f"glide-cell-{col}-{row}"
        if not await page.evaluate(common.CELL_SELECTED_SCRIPT, cell_id):
            # Clicking a cell that is already selected would open its editor: only click when
            # it is not. Select the row's first cell at the left edge, then walk right with
            # the arrow keys: no guessing column widths on the canvas.
            await self.select_row(box, row)
            self.step = "walk right to the cell"
            for _ in range(col):
                await page.keyboard.press("ArrowRight")
            await self.wait_selected(col, row, self.edit_timeout_ms)
        self.step = "open the cell's editor"
        await page.keyboard.press("Enter")  # opens the cell's editor overlay
        editor = page.locator(common.CELL_EDITOR).first
        await editor.wait_for(state="visible")
        await editor.fill(value)
        if clock == "draws":
            return await self.timed_draws("cell", "enter", lambda: editor.press("Enter"))
        return await self.timed(
            "cell", common.WEIGHTS_HEATMAP, "z", "enter", lambda: editor.press("Enter")
        )

    async def type_and_enter(self, selector: str, text: str) -> EditRecord:
        """Type `text` into the text box `selector`, press Enter; time it to the last chart
        drawn (timed_draws)."""
        self.step = "type the text"
        box = self.page.locator(selector)
        await box.scroll_into_view_if_needed()
        await box.fill(text)
        return await self.timed_draws("text", "enter", lambda: box.press("Enter"))

    async def pick_option(self, key: str, choose: Callable[[int, int], int]) -> EditRecord:
        """Open the selectbox with widget key `key` and click option choose(count, current
        index); time it to the last chart drawn (timed_draws)."""
        page = self.page
        self.step = f"open the {key!r} selectbox"
        combo = page.locator(f".st-key-{key} input[role=combobox]")
        await combo.scroll_into_view_if_needed()
        await combo.click()
        options = page.locator("[role=listbox] [role=option]")
        await options.first.wait_for(state="visible")
        count = await options.count()
        selected = [await options.nth(i).get_attribute("aria-selected") for i in range(count)]
        current = selected.index("true") if "true" in selected else -1
        index = choose(count, current)
        if index == current:
            await page.keyboard.press("Escape")
            raise EditError("action failed", f"option {index} of {key!r} is already selected")
        option = options.nth(index)
        await option.scroll_into_view_if_needed()
        return await self.timed_draws("select", "option", lambda: option.click())

    async def select_row(self, box: dict[str, float], row: int) -> None:
        """Click the first cell of `row` in the editor's canvas `box` until it is selected."""
        x, y = common.row_point(box, row)
        self.step = "select the row's first cell"
        for attempt, wait_ms in enumerate((2_000, 5_000, 10_000, 20_000)):
            await self.page.mouse.click(x, y)
            try:
                await self.wait_selected(0, row, wait_ms)
                return
            except Exception as error:
                if attempt == 3:
                    raise EditError(
                        "action failed", f"editor cell (0, {row}) not selected"
                    ) from error
                await self.page.keyboard.press("Escape")

    async def edit_cell(self) -> None:
        """A new value in a random embedding cell of lesson 1 (weights heatmap's z)."""
        self.step = "find the editor"
        table = self.page.locator(common.EDITOR_CANVAS).locator("table")
        n_cols = int(await table.get_attribute("aria-colcount") or "1")
        n_rows = int(await table.get_attribute("aria-rowcount") or "2") - 1  # header row
        row, col = self.rng.randrange(n_rows), self.rng.randrange(1, n_cols)
        old = await self.page.locator(f"{common.EDITOR} #glide-cell-{col}-{row}").inner_text()
        value = old.strip()
        while value == old.strip():
            value = f"{self.rng.uniform(-1, 1):.3f}".rstrip("0").rstrip(".")
        await self.set_cell(row, col, value)

    async def wait_selected(self, col: int, row: int, timeout_ms: float) -> None:
        """Wait until the grid's accessible table says cell (col, row) is selected."""
        await self.page.wait_for_function(
            common.CELL_SELECTED_SCRIPT,
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
        await self.timed("tokens", common.WEIGHTS_HEATMAP, "z", "enter", lambda: box.press("Enter"))

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
        await self.timed("query", common.SCORES_BAR, "y", "option", lambda: option.click())

    async def switch_pages(self) -> None:
        """Go to another lesson through the sidebar's link and back to lesson 1; time the
        round trip (not an edit: it is reported apart)."""
        page = self.page
        other = self.rng.choice(OTHER_PAGES)
        started = time.monotonic()
        try:
            for path, label, title in (other, HOME_PAGE):
                if not await page.evaluate(common.CLICK_SIDEBAR_LABEL_SCRIPT, label):
                    raise EditError("action failed", f"no sidebar link {label!r}")
                await page.wait_for_url(lambda url, p=path: urlparse(url).path == p)
                await page.wait_for_function(
                    TITLE_SCRIPT, arg=title, timeout=self.edit_timeout_ms, polling=100
                )
                await self.wait_idle()
                await self.check_exceptions(f"page {path}")
            await page.wait_for_function(
                common.CHART_DRAWN_SCRIPT,
                arg=common.WEIGHTS_HEATMAP,
                timeout=self.edit_timeout_ms,
                polling=100,
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
