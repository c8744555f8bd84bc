"""Server capacity: N simulated students on one server, speaking Streamlit's own WebSocket protocol.

A simulated student is what a browser tab is to the server, without the browser: it fetches
/_stcore/health (which sets the `_streamlit_xsrf` cookie, as the page's first request does),
opens the WebSocket /_stcore/stream with the subprotocol list "streamlit, <xsrf token>" and the
cookie, and sends `BackMsg.rerun_script` (a `ClientState`: the query string, the page script
hash and every widget's state) exactly as the page does; the server answers with `ForwardMsg`s
(new_session, navigation, page_info_changed with the new query string, a delta per element,
script_finished). Each student opens lesson 1 (app.py), then every --think-min to --think-max
seconds either edits a cell of the embedding editor (the data editor's widget state, JSON
{"edited_rows": {row: {column: value}}, ...}) or picks another query token (the selectbox
w_query's string value), and times the edit: send -> the delta carrying the chart that shows it
(the weights heatmap after a cell edit, the query's scores bar after a query change; its figure
must differ from the previous one) and send -> script_finished. Errors: exception elements,
runs that do not finish successfully within --edit-timeout, charts missing or unchanged,
WebSocket failures.

With --browsers K, K real headless Chromium students (classroom.Student) make the same kinds
of edits with the same think times in the same run, timed by the page's own clock until the
chart holds new numbers: the generator's figures against a real browser's.

Bounded: students stop at --minutes (they join over --ramp seconds), a run is cut at
--minutes + 2 min, and --find-max at --timeout seconds in all. Traffic goes to 127.0.0.1 only.
Prints figures, never asserts.

    python benchmarks/load_server.py      # N = 10 (2 browsers too), 30, 100 for 2, 2, 5 min
    python benchmarks/load_server.py --students 30 --minutes 2
    python benchmarks/load_server.py --students 10 --minutes 1 --browsers 3
    python benchmarks/load_server.py --find-max --minutes 1   # N = 1, 2, 5, 10, ... until p95 > 1 s
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import common
import pyarrow as pa
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

from ui import live_chart

P95_BUDGET_MS = 1000.0
FIND_MAX_STEPS = (1, 2, 5, 10, 20, 40, 70, 100, 150, 200, 300)
W_QUERY = "w_query"
EDITOR_KEY_PREFIX = "w_editor_"
FINISHED = ForwardMsg.ScriptFinishedStatus
CHART_OF = {"cell": common.WEIGHTS_HEATMAP, "query": common.SCORES_BAR}
KINDS = tuple(CHART_OF)
# A browser's ContextInfo (what a headless Chromium in UTC sends).
CONTEXT = {"timezone": "UTC", "timezone_offset": 0, "locale": "en-US", "color_scheme": "light"}


class ProtocolError(Exception):
    """An edit that went wrong; `kind` names the error class for the report."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def user_key(element_id: str) -> str:
    """The user key at the end of a Streamlit element id ("$$ID-<hash>-w_query" -> "w_query")."""
    return element_id.rsplit("-", 1)[-1]


def editing_state(edited_rows: dict[str, dict[str, float]]) -> str:
    """A data editor's widget value as the page sends it: compact JSON of its edits so far,
    {row position: {column name: value}}."""
    payload = {"edited_rows": edited_rows, "added_rows": [], "deleted_rows": []}
    return json.dumps(payload, separators=(",", ":"))


def initial_state(kind: str, proto: Any) -> WidgetState | None:
    """The WidgetState the page sends for a widget it has just drawn (element `kind`, its proto),
    before the student touches it; None for elements that send no state then (buttons, tables,
    a data editor not yet edited, charts)."""
    state = WidgetState(id=proto.id)
    if kind == "text_input":
        if not (proto.set_value or proto.HasField("default")):
            return None
        state.string_value = proto.value if proto.set_value else proto.default
    elif kind == "number_input":
        if not (proto.set_value or proto.HasField("default")):
            return None
        number = proto.value if proto.set_value else proto.default
        if proto.data_type == proto.DataType.INT:
            state.int_value = int(number)
        else:
            state.double_value = number
    elif kind == "checkbox":
        state.bool_value = proto.value if proto.set_value else proto.default
    elif kind == "button_group":
        state.string_array_value.data.extend(proto.options[i].content for i in proto.default)
    elif kind == "selectbox":
        if proto.set_value:
            state.string_value = proto.raw_value
        elif proto.HasField("default"):
            state.string_value = proto.options[proto.default]
        else:
            return None
    elif kind == "file_uploader":
        state.file_uploader_state_value.SetInParent()
    else:  # (a data editor sends its state only once it is edited)
        return None
    return state


@dataclass
class Edit:
    """One timed edit of a simulated student, in milliseconds from sending it."""

    kind: str  # "cell" or "query"
    student: int
    chart_ms: float | None = None  # send -> the delta with the changed chart
    reply_ms: float | None = None  # send -> script_finished (of the run that ends the edit)
    error: str = ""
    detail: str = ""


@dataclass
class Run:
    """What one script run sent back."""

    sent: float
    chart_key: str | None
    chart_at: float | None = None
    finished_at: float = 0.0
    charts: dict[str, str] = field(default_factory=dict)  # chart key -> Plotly spec (JSON)
    widgets: dict[str, tuple[str, Any]] = field(default_factory=dict)  # id -> (kind, proto)
    fragments: dict[str, str] = field(default_factory=dict)  # widget id -> its fragment's id
    exceptions: list[str] = field(default_factory=list)
    fragment_run: bool = False  # the run ended as a fragment run (only some parts redrawn)
    # (status, time) of each script_finished: a widget callback that reruns named fragments
    # ends the first run early (FINISHED_EARLY_FOR_RERUN), then the fragments run.
    finished: asyncio.Queue = field(default_factory=asyncio.Queue)


class ProtocolStudent:
    """One Streamlit session over one WebSocket, behaving as lesson 1's page does."""

    def __init__(self, base_url: str, index: int, seed: int, edit_timeout_s: float) -> None:
        self.base_url = base_url
        self.index = index
        self.rng = random.Random(seed * 100_003 + index)
        self.edit_timeout_s = edit_timeout_s
        self.ws: Any = None
        self.reader: asyncio.Task | None = None
        self.query_string = ""
        self.page_script_hash = ""
        self.states: dict[str, WidgetState] = {}  # what the page would send, by widget id
        self.edited_rows: dict[str, dict[str, float]] = {}
        self.editor_id = ""
        self.editor: Any = None  # the embedding editor's Dataframe proto
        self.run: Run | None = None
        self.last: Run | None = None
        self.fragment_id = ""  # the fragment the next rerun is for ("" = the whole page)
        self.edits: list[Edit] = []
        self.errors: list[tuple[str, str]] = []
        self.open_ms: float | None = None

    # The connection ----------------------------------------------------------------------------

    async def xsrf_cookie(self) -> str:
        """GET /_stcore/health, as the page does before it connects; the `_streamlit_xsrf`
        cookie the server sets (empty when XSRF protection is off)."""
        host, port = self.base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(
                f"GET /_stcore/health HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            await writer.drain()
            head = (await reader.read()).split(b"\r\n\r\n", 1)[0].decode("latin-1")
        finally:
            writer.close()
        for line in head.split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "set-cookie" and value.strip().startswith("_streamlit_xsrf="):
                return value.strip().split(";", 1)[0].split("=", 1)[1]
        return ""

    async def open(self) -> None:
        """Connect and run lesson 1 once, as a new tab does; a failure is recorded."""
        started = time.monotonic()
        try:
            xsrf = await self.xsrf_cookie()
            self.ws = await connect(
                self.base_url.replace("http://", "ws://") + "/_stcore/stream",
                origin=self.base_url,
                subprotocols=["streamlit", xsrf] if xsrf else ["streamlit"],
                additional_headers={"Cookie": f"_streamlit_xsrf={xsrf}"} if xsrf else None,
                proxy=None,  # 127.0.0.1 only, whatever the environment says
                max_size=2**24,
                open_timeout=self.edit_timeout_s,
            )
            self.reader = asyncio.create_task(self.read())
            await self.rerun(None)
            self.open_ms = (time.monotonic() - started) * 1000
        except ProtocolError as error:
            self.errors.append((error.kind, f"open: {error}"))
        except Exception as error:
            self.errors.append(("connection", f"open: {type(error).__name__}: {error}"))

    async def close(self) -> None:
        """Close the WebSocket and stop reading (the server keeps the session for its TTL)."""
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader

    async def read(self) -> None:
        """Receive ForwardMsgs until the socket closes; a close during a run fails that run."""
        try:
            async for payload in self.ws:
                if isinstance(payload, bytes):
                    self.on_message(ForwardMsg.FromString(payload), time.monotonic())
        except Exception as error:  # the connection broke
            self.fail_run(ProtocolError("connection", f"{type(error).__name__}: {error}"))
            return
        self.fail_run(ProtocolError("connection", "the server closed the WebSocket"))

    def fail_run(self, error: ProtocolError) -> None:
        """Fail the run being waited for with `error` (the connection broke)."""
        if self.run is not None:
            self.run.finished.put_nowait(error)

    def on_message(self, msg: ForwardMsg, now: float) -> None:
        """What the page does with each message, as far as the next BackMsg depends on it."""
        kind = msg.WhichOneof("type")
        run = self.run
        if kind == "new_session":
            self.page_script_hash = msg.new_session.page_script_hash or self.page_script_hash
        elif kind == "navigation":
            self.page_script_hash = msg.navigation.page_script_hash or self.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "delta" and run is not None and msg.delta.HasField("new_element"):
            element = msg.delta.new_element
            element_kind = element.WhichOneof("type")
            proto = getattr(element, element_kind)
            if element_kind == "exception":
                run.exceptions.append(f"{proto.type}: {proto.message}"[:200])
            elif (spec := live_chart.spec_of(element_kind, proto)) is not None:
                key = user_key(proto.id)
                run.charts[key] = spec
                if key == run.chart_key and run.chart_at is None:
                    run.chart_at = now
            if getattr(proto, "id", ""):
                run.widgets[proto.id] = (element_kind, proto)
                if msg.delta.fragment_id:
                    run.fragments[proto.id] = msg.delta.fragment_id
        elif kind == "script_finished" and run is not None:
            run.finished.put_nowait((msg.script_finished, now))

    # Runs --------------------------------------------------------------------------------------

    def client_state(self) -> ClientState:
        """The ClientState the page would send now: query string, page, widgets."""
        state = ClientState(
            query_string=self.query_string,
            page_script_hash=self.page_script_hash,
            fragment_id=self.fragment_id,
        )
        state.widget_states.widgets.extend(self.states.values())
        info = state.context_info
        for name, value in CONTEXT.items():
            setattr(info, name, value)
        info.url = f"{self.base_url}/"  # the URL the tab was opened at
        info.is_embedded = False
        return state

    async def rerun(self, chart_key: str | None) -> Run:
        """Send rerun_script with the page's current state (for self.fragment_id's fragment, as
        the page does for a widget inside one) and wait for the script_finished that ends it:
        past FINISHED_EARLY_FOR_RERUN (a callback reran named fragments) to a whole run's or a
        fragment run's success. Raises ProtocolError for a run that fails or takes longer than
        the edit timeout."""
        msg = BackMsg()
        msg.rerun_script.CopyFrom(self.client_state())
        run = Run(time.monotonic(), chart_key)
        self.run = run
        await self.ws.send(msg.SerializeToString())
        deadline = run.sent + self.edit_timeout_s
        try:
            while True:
                item = await asyncio.wait_for(run.finished.get(), deadline - time.monotonic())
                if isinstance(item, Exception):
                    raise item
                status, run.finished_at = item
                if status != FINISHED.FINISHED_EARLY_FOR_RERUN:
                    break
        except TimeoutError as error:
            raise ProtocolError(
                "timeout", f"no script_finished within {self.edit_timeout_s:.0f} s"
            ) from error
        finally:
            self.run = None
            self.fragment_id = ""
        run.fragment_run = status == FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
        if status not in (
            FINISHED.FINISHED_SUCCESSFULLY,
            FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
        ):
            raise ProtocolError("run failed", f"script_finished {FINISHED.Name(status)}")
        if run.exceptions:
            raise ProtocolError("exception", run.exceptions[0])
        self.after_run(run)
        return run

    def after_run(self, run: Run) -> None:
        """The page forgets the widgets a whole run did not draw and learns the new ones; after
        a fragment run it keeps every other part's widgets and charts as they were."""
        if run.fragment_run and self.last is not None:
            run.charts = self.last.charts | run.charts
            run.widgets = self.last.widgets | run.widgets
            run.fragments = self.last.fragments | run.fragments
        states = {}
        for widget_id, (kind, proto) in run.widgets.items():
            known = self.states.get(widget_id)
            if known is not None and not getattr(proto, "set_value", False):
                states[widget_id] = known
            elif (state := initial_state(kind, proto)) is not None:
                states[widget_id] = state
            if kind == "dataframe" and user_key(widget_id).startswith(EDITOR_KEY_PREFIX):
                if widget_id != self.editor_id:
                    self.editor_id, self.edited_rows = widget_id, {}
                self.editor = proto
        self.states = states
        self.last = run

    # Edits -------------------------------------------------------------------------------------

    def edit_cell(self) -> None:
        """A new value in a random cell of the embedding editor (not the token column)."""
        table = pa.ipc.open_stream(self.editor.arrow_data.data).read_all()
        columns = [name for name in table.column_names if name.startswith("dim")]
        if not columns or not self.editor_id:
            raise ProtocolError("page", "no embedding editor with dimension columns")
        row, column = str(self.rng.randrange(table.num_rows)), self.rng.choice(columns)
        value = round(self.rng.uniform(-1, 1), 3)
        self.edited_rows.setdefault(row, {})[column] = value
        payload = {"edited_rows": self.edited_rows, "added_rows": [], "deleted_rows": []}
        self.states[self.editor_id] = WidgetState(
            id=self.editor_id, string_value=json.dumps(payload)
        )

    def change_query(self) -> None:
        """Another option in the "Query token" selectbox."""
        found = [(i, p) for i, (k, p) in self.last.widgets.items() if user_key(i) == W_QUERY]
        if not found:
            raise ProtocolError("page", "no query selectbox")
        widget_id, proto = found[0]
        current = self.states[widget_id].string_value
        choices = [option for option in proto.options if option != current]
        self.states[widget_id] = WidgetState(id=widget_id, string_value=self.rng.choice(choices))
        self.fragment_id = self.last.fragments.get(widget_id, "")  # as the page sends it

    async def edit(self, kind: str) -> Edit:
        """One edit of `kind` ("cell" or "query"), timed; failures are recorded, not raised."""
        record = Edit(kind, self.index)
        chart_key = CHART_OF[kind]
        before = self.last.charts.get(chart_key) if self.last else None
        try:
            self.edit_cell() if kind == "cell" else self.change_query()
            run = await self.rerun(chart_key)
            record.reply_ms = (run.finished_at - run.sent) * 1000
            if run.chart_at is None:
                raise ProtocolError("chart missing", f"{chart_key} not sent")
            if run.charts[chart_key] == before:
                raise ProtocolError("chart unchanged", f"{chart_key} after a {kind} edit")
            record.chart_ms = (run.chart_at - run.sent) * 1000
        except ProtocolError as error:
            record.error, record.detail = error.kind, str(error)
        except Exception as error:
            record.error, record.detail = "connection", f"{type(error).__name__}: {error}"
        if record.error:
            self.errors.append((record.error, f"{kind}: {record.detail}"))
        self.edits.append(record)
        return record


# A class -----------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """The figures of one class size N on one server."""

    students: int
    minutes: float
    protocol: list[ProtocolStudent] = field(default_factory=list)
    browsers: list[Any] = field(default_factory=list)  # classroom.Student
    wall_s: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    rss_start_mb: float | None = None
    rss_peak_mb: float | None = None
    load_average: str = ""
    started: str = ""

    @property
    def edits(self) -> list[Edit]:
        """Every simulated student's edits."""
        return [edit for student in self.protocol for edit in student.edits]

    def times(self, name: str) -> list[float]:
        """The figure `name` ("reply_ms" or "chart_ms") of every edit that has it."""
        return [getattr(e, name) for e in self.edits if getattr(e, name) is not None]

    @property
    def errors(self) -> dict[str, int]:
        """Error counts by kind, simulated students only."""
        counts: dict[str, int] = {}
        for student in self.protocol:
            for kind, _ in student.errors:
                counts[kind] = counts.get(kind, 0) + 1
        return counts

    @property
    def p95(self) -> float | None:
        """The p95 of edit to reply (ms), or None."""
        return common.percentile(self.times("reply_ms"), 95)

    def holds(self) -> bool:
        """No errors and p95 edit to reply <= 1 s."""
        return not self.errors and self.p95 is not None and self.p95 <= P95_BUDGET_MS


async def protocol_student(
    student: ProtocolStudent, delay: float, until: float, think: tuple[float, float]
) -> None:
    """Join after `delay` s, open lesson 1, then edit (a cell or the query, at random) after
    each think time until `until` (time.monotonic())."""
    await asyncio.sleep(delay)
    await student.open()
    try:
        if student.open_ms is not None:
            await common.keep_editing(student, KINDS, think, until)
    finally:
        await student.close()


async def browser_student(
    browser: Any, url: str, index: int, seed: int, delay: float, until: float, think: tuple
) -> Any:
    """A real headless Chromium student making the same kinds of edits."""
    import classroom

    await asyncio.sleep(delay)
    student = await classroom.Student.open(
        browser, url, 1000 + index, seed, open_timeout_ms=common.OPEN_TIMEOUT_MS
    )
    try:
        if student.load_ms is not None:
            await common.keep_editing(student, KINDS, think, until)
    finally:
        await student.close()
    return student


async def run_load(
    students: int,
    minutes: float,
    think: tuple[float, float],
    ramp_s: float,
    seed: int = 1,
    browsers: int = 0,
    edit_timeout_s: float = 30.0,
) -> LoadResult:
    """One server, `students` protocol students (and `browsers` real ones) for `minutes`."""
    result = LoadResult(students, minutes)
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(common.streamlit_server_async("app.py"))
        browser = None
        if browsers:
            browser = await stack.enter_async_context(common.chromium_async())
        warm = ProtocolStudent(server.url, -1, seed, 120.0)  # the first run imports torch
        await warm.open()
        await warm.close()
        sampler = common.ResourceSampler(server, interval=1.0)
        sampler.start()
        try:
            result.started = common.machine_info()["date"]
            result.load_average = common.load_average()
            start = sampler.sample("start")
            result.rss_start_mb = start.rss_mb
            until = time.monotonic() + minutes * 60
            result.protocol = [
                ProtocolStudent(server.url, i, seed, edit_timeout_s) for i in range(students)
            ]
            tasks = [
                asyncio.create_task(
                    protocol_student(s, ramp_s * i / max(students, 1), until, think)
                )
                for i, s in enumerate(result.protocol)
            ]
            browser_tasks = [
                asyncio.create_task(
                    browser_student(browser, server.url, i, seed, 1.0 + i, until, think)
                )
                for i in range(browsers)
            ]
            bound = minutes * 60 + edit_timeout_s + 90  # the hard bound of this run
            await common.wait_bounded(
                tasks + browser_tasks, bound, lambda: progress(result, sampler)
            )
            result.browsers = [
                t.result()
                for t in browser_tasks
                if t.done() and not t.cancelled()
                if t.exception() is None
            ]
            end = sampler.sample("end")
            result.wall_s = end.t - start.t
            result.server_cpu_s = end.server_cpu_s - start.server_cpu_s
            result.client_cpu_s = end.client_cpu_s - start.client_cpu_s
            result.rss_peak_mb = sampler.peak_mb()
        finally:
            await sampler.stop()
    return result


def progress(result: LoadResult, sampler: common.ResourceSampler) -> str:
    """The line printed every 30 s while the class works."""
    replies = result.times("reply_ms")
    return (
        f"    {sampler.now():4.0f} s: {len(replies)} edits, {sum(result.errors.values())} "
        f"errors, p95 so far {common.fmt_ms(common.percentile(replies, 95))}, "
        f"server RSS {common.fmt_mb(sampler.samples[-1].rss_mb)}"
    )


def describe(result: LoadResult) -> str:
    """The run's figures in one line, for the detail column and the console."""
    ms, pct = common.fmt_ms, common.percentile
    reply, chart = result.times("reply_ms"), result.times("chart_ms")
    opened = [s.open_ms for s in result.protocol if s.open_ms is not None]
    text = (
        f"{len(opened)} of {result.students} opened lesson 1 (first run p50 "
        f"{ms(pct(opened, 50))}); {len(result.edits)} edits, errors "
        f"{common.error_counts(result.errors)}; edit to reply (script_finished) p50 "
        f"{ms(pct(reply, 50))}, p95 {ms(result.p95)}, max {ms(max(reply, default=None))}; "
        f"edit to the changed chart's delta p50 {ms(pct(chart, 50))}, p95 {ms(pct(chart, 95))}"
    )
    if result.wall_s and result.edits:
        client = "load generator and browsers" if result.browsers else "load generator"
        text += (
            f"; CPU: server {result.server_cpu_s / result.wall_s:.0%} of one core "
            f"({result.server_cpu_s / len(result.edits) * 1000:,.0f} ms per edit), "
            f"{client} {result.client_cpu_s / result.wall_s:.0%}"
        )
    text += (
        f"; server RSS {common.fmt_mb(result.rss_start_mb)} at the start, "
        f"peak {common.fmt_mb(result.rss_peak_mb)}; {result.started}, "
        f"load average {result.load_average}"
    )
    if result.browsers:
        records = [r for s in result.browsers for r in s.records]
        drawn = [r.ms for r in records if r.ms is not None]
        ended = [r.elapsed["idle"] for r in records if r.elapsed.get("idle") is not None]
        errors = sum(len(s.errors) for s in result.browsers)
        text += (
            f"; {len(result.browsers)} real browsers in the same run: {len(records)} edits, "
            f"{errors} errors, edit to chart drawn p50 {ms(pct(drawn, 50))}, "
            f"p95 {ms(pct(drawn, 95))}; run seen ending p50 {ms(pct(ended, 50))}, "
            f"p95 {ms(pct(ended, 95))}"
        )
    return text


def row(result: LoadResult) -> common.Row:
    """The run's row: p95 edit to reply against the 1 s budget, the rest in the detail."""
    return common.Row(
        "server capacity (protocol)",
        f"N = {result.students}, {result.minutes:g} min: p95 edit to reply",
        result.p95,
        "ms",
        P95_BUDGET_MS,
        describe(result),
    )


def first_errors(result: LoadResult, limit: int = 5) -> list[str]:
    """The first few distinct error texts of the run, for the console."""
    seen: list[str] = []
    for student in result.protocol + result.browsers:
        for kind, detail in student.errors:
            text = f"[{kind}] {detail}"[:200]
            if text not in seen and len(seen) < limit:
                seen.append(text)
    return seen


@dataclass
class Step:
    """One class size to run: N simulated students, for how long, with how many browsers."""

    students: int
    minutes: float
    browsers: int = 0


async def measure(
    steps: Sequence[Step], args: argparse.Namespace, stop_when_over: bool = False
) -> list[common.Row]:
    """A run per step (a fresh server each); with `stop_when_over`, stop after the first step
    whose p95 is over 1 s or that has errors. The last row: the largest N that held."""
    rows, tried, held = [], [], []
    deadline = time.monotonic() + args.timeout
    for step in steps:
        if time.monotonic() + step.minutes * 60 + args.edit_timeout + 90 > deadline:
            print(f"  N = {step.students}: skipped, it would not end within --timeout")
            break
        print(
            f"  N = {step.students} students"
            + (f" and {step.browsers} browsers" if step.browsers else "")
            + f" for {step.minutes:g} min ...",
            flush=True,
        )
        result = await run_load(
            step.students,
            step.minutes,
            (args.think_min, args.think_max),
            args.ramp if args.ramp is not None else min(30.0, args.think_max),
            args.seed,
            step.browsers,
            args.edit_timeout,
        )
        rows.append(row(result))
        common.print_row(rows[-1])
        for text in first_errors(result):
            print(f"    {text}")
        tried.append(str(step.students))
        if result.holds():
            held.append(step.students)
        elif stop_when_over:
            break
    rows.append(
        common.Row(
            "server capacity (protocol)",
            "largest N with p95 edit to reply <= 1 s and no errors",
            max(held) if held else None,
            "students",
            detail=f"of N = {', '.join(tried)} tried",
        )
    )
    return rows


def steps(args: argparse.Namespace) -> list[Step]:
    """What to run: --students N alone; --find-max N = 1, 2, 5, 10, ...; by default N = 10
    (with --browsers real browsers, 2 unless given), 30 and 100, for --minutes each (by default
    2, 2 and 5 minutes; 1 minute each with --quick)."""
    if args.find_max:
        return [Step(n, args.minutes or 1.0) for n in FIND_MAX_STEPS]
    if args.students:
        return [Step(args.students, args.minutes or 2.0, args.browsers or 0)]
    minutes = [args.minutes] * 3 if args.minutes else [1.0] * 3 if args.quick else [2.0, 2.0, 5.0]
    browsers = 2 if args.browsers is None else args.browsers
    return [Step(10, minutes[0], browsers), Step(30, minutes[1]), Step(100, minutes[2])]


def run(args: argparse.Namespace) -> list[common.Row]:
    """The rows of every step (bench_main's `run`)."""
    return asyncio.run(measure(steps(args), args, stop_when_over=args.find_max))


def options(parser: argparse.ArgumentParser) -> None:
    """load_server.py's own command-line options."""
    parser.add_argument("--students", type=int, help="N simulated students (10, 30, 100)")
    parser.add_argument("--minutes", type=float, help="minutes of editing per N")
    parser.add_argument("--think-min", type=float, default=5.0, help="seconds, at least")
    parser.add_argument("--think-max", type=float, default=15.0, help="seconds, at most")
    parser.add_argument("--ramp", type=float, help="seconds over which students join (<= 30)")
    parser.add_argument(
        "--browsers", type=int, help="real Chromium students too (2 with the first default N)"
    )
    parser.add_argument("--edit-timeout", type=float, default=30.0, help="seconds per edit")
    parser.add_argument("--seed", type=int, default=1, help="seed of edits and think times")
    parser.add_argument(
        "--find-max",
        action="store_true",
        help=f"N = {', '.join(map(str, FIND_MAX_STEPS))} until p95 > 1 s or errors",
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds in all, at most")


if __name__ == "__main__":
    common.bench_main(__doc__, run, options, quick_help="1 minute per N")
