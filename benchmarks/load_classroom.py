"""A full classroom on one server: N students editing lesson 1 at the same time.

ONE `streamlit run app.py` server and ONE headless Chromium with N browser contexts (N Streamlit
sessions), driven concurrently through Playwright's async API. The first student opens lesson 1
alone (the one-session memory figure); the others join over --ramp seconds. Each student makes
--edits edits with a seeded think time (--think, 0.5-2 s) before each, cycling through: an embedding
cell (type a value, Enter), the sidebar's Tokens box (new words, Enter) and the "Query token"
selectbox; every third student also goes to another lesson through the sidebar's links and
back, halfway through.

Per edit, the browser's own clock (performance.now()) measures commit -> updated chart: the
weights heatmap's z for cell and token edits, the scores bar's y for a query change. Errors:
Streamlit exception boxes, page errors, console errors, timeouts, charts that never update,
actions that fail, students unfinished at the deadline. A background task samples the server's
RSS (process plus children) every 0.5 s. After the students close their tabs the server keeps
their sessions for server.disconnectedSessionTTL (read from .streamlit/config.toml) and reaps
them lazily, at its next session-storage write: the script waits TTL + 10 s printing RSS, then
a new visitor opens the app and leaves (that write), and RSS is read again.

Prints figures, never asserts. Bounded: --timeout seconds in all (the load phase gets what the
after-close phase does not need; unfinished students are stopped and counted), and the server and
browser are always stopped.

    python benchmarks/load_classroom.py --sessions 30
    python benchmarks/load_classroom.py --find-max    # N = 30, 45, 60, 75 until it breaks
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from dataclasses import dataclass, field

import classroom
import common

KINDS = ("cell", "tokens", "query")
P95_BUDGET_MS = 3000.0
FIND_MAX_STEPS = (30, 45, 60, 75)
CLOSE_PROBE_BUDGET_S = 75.0  # the new visitor's page load plus settling, after TTL + 10 s


@dataclass
class LoadResult:
    sessions: int
    edits_planned: int
    students: list[classroom.Student] = field(default_factory=list)
    unfinished: int = 0
    rss_idle_mb: float | None = None
    rss_one_mb: float | None = None
    rss_peak_mb: float | None = None
    rss_end_of_load_mb: float | None = None
    rss_after: list[tuple[float, float, str]] = field(default_factory=list)  # (s, MB, label)
    load_wall_s: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def times(self) -> list[float]:
        return [r.ms for s in self.students for r in s.records if r.ms is not None]

    def times_of(self, kind: str) -> list[float]:
        return [
            r.ms for s in self.students for r in s.records if r.ms is not None and r.kind == kind
        ]

    @property
    def errors(self) -> dict[str, int]:
        counts = classroom.count_errors(self.students)
        if self.unfinished:
            counts["unfinished at deadline"] = self.unfinished
        return counts

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())

    @property
    def p95(self) -> float | None:
        return common.percentile(self.times, 95)


async def student_run(
    result: LoadResult,
    browser,
    url: str,
    index: int,
    edits: int,
    seed: int,
    delay: float,
    edit_timeout_ms: float,
    think: tuple[float, float],
    student: classroom.Student | None = None,
) -> None:
    """One student: open lesson 1 (unless already open), then `edits` edits with think time."""
    await asyncio.sleep(delay)
    if student is None:
        student = await classroom.Student.open(browser, url, index, seed, edit_timeout_ms)
        result.students.append(student)
    if student.load_ms is None:
        return  # it never opened: already counted as an error
    pause = random.Random(seed * 7919 + index)
    for k in range(edits):
        await asyncio.sleep(pause.uniform(*think))
        await student.edit(KINDS[(k + index) % len(KINDS)])
        if index % 3 == 2 and k == edits // 2 - 1:
            await asyncio.sleep(pause.uniform(*think))
            await student.switch_pages()


async def run_load(
    sessions: int,
    edits: int,
    seed: int,
    ramp_s: float,
    timeout_s: float,
    watch_close: bool,
    edit_timeout_ms: float,
    think: tuple[float, float] = (0.5, 2.0),
) -> LoadResult:
    """The classroom at N = `sessions`; returns its figures (also when the deadline hits)."""
    started = time.monotonic()
    deadline = started + timeout_s
    ttl = common.session_ttl_s()
    close_budget = ttl + 10 + CLOSE_PROBE_BUDGET_S if watch_close else 15.0
    result = LoadResult(sessions, sessions * edits)
    async with (
        common.streamlit_server_async("app.py") as server,
        common.chromium_async() as browser,
    ):
        sampler = common.ResourceSampler(server)
        sampler.start()
        try:
            result.rss_idle_mb = sampler.sample("idle").rss_mb
            first = await classroom.Student.open(browser, server.url, 0, seed, edit_timeout_ms)
            result.students.append(first)
            await asyncio.sleep(2.0)
            result.rss_one_mb = sampler.sample("one session").rss_mb
            print(
                f"  one session open after {common.fmt_ms(first.load_ms)}: server RSS "
                f"{common.fmt_mb(result.rss_one_mb)} "
                f"(idle {common.fmt_mb(result.rss_idle_mb)})",
                flush=True,
            )
            load_start = sampler.sample("load start")
            tasks = [
                asyncio.create_task(
                    student_run(
                        result,
                        browser,
                        server.url,
                        i,
                        edits,
                        seed,
                        0.0 if i == 0 else ramp_s * i / max(sessions - 1, 1),
                        edit_timeout_ms,
                        think,
                        first if i == 0 else None,
                    )
                )
                for i in range(sessions)
            ]
            load_deadline = deadline - close_budget
            result.unfinished = await common.wait_bounded(
                tasks, load_deadline - time.monotonic(), lambda: progress(result, sampler)
            )
            if result.unfinished:
                result.notes.append(
                    f"the load phase hit its deadline ({load_deadline - started:.0f} s into the "
                    f"run): {result.unfinished} students were stopped before their last edit"
                )
            load_end = sampler.sample("load end")
            result.load_wall_s = load_end.t - load_start.t
            result.server_cpu_s = load_end.server_cpu_s - load_start.server_cpu_s
            result.client_cpu_s = load_end.client_cpu_s - load_start.client_cpu_s
            result.rss_peak_mb = sampler.peak_mb(until=load_end.t)
            result.rss_end_of_load_mb = load_end.rss_mb
            await asyncio.gather(*(student.close() for student in result.students))
            closed_at = sampler.now()
            result.rss_after.append((0.0, sampler.sample("closed").rss_mb, "all tabs closed"))
            if watch_close:
                await watch_after_close(result, sampler, browser, server, ttl, closed_at, deadline)
        finally:
            await sampler.stop()
    return result


def progress(result: LoadResult, sampler: common.ResourceSampler) -> str:
    return (
        f"  … {sampler.now():.0f} s: {len(result.students)} students started, "
        f"{len(result.times)} edits timed, {result.error_total} errors, "
        f"server RSS {common.fmt_mb(sampler.samples[-1].rss_mb)}"
    )


async def watch_after_close(
    result: LoadResult,
    sampler: common.ResourceSampler,
    browser,
    server: common.Server,
    ttl: float,
    closed_at: float,
    deadline: float,
) -> None:
    """RSS every 10 s for TTL + 10 s after the tabs closed; then one new visitor opens lesson 1
    and leaves (the session-storage write at which Streamlit drops expired sessions); RSS again
    5 s and 15 s later."""
    print(
        f"  tabs closed; watching server RSS for server.disconnectedSessionTTL + 10 s "
        f"= {ttl + 10:.0f} s",
        flush=True,
    )
    while (since := sampler.now() - closed_at) < ttl + 10:
        if time.monotonic() > deadline - CLOSE_PROBE_BUDGET_S:
            result.notes.append("the after-close watch was cut short by the global timeout")
            return
        await asyncio.sleep(min(10.0, ttl + 10 - since))
        since = sampler.now() - closed_at
        rss = sampler.sample("after close").rss_mb
        result.rss_after.append((since, rss, "no visitors"))
        print(f"    +{since:4.0f} s: {common.fmt_mb(rss)}", flush=True)
    visitor = await classroom.Student.open(
        browser,
        server.url,
        10_000,
        0,
        edit_timeout_ms=min(60_000, 1000 * (deadline - time.monotonic())),
    )
    await visitor.close()
    for wait in (5.0, 10.0):
        await asyncio.sleep(wait)
        since = sampler.now() - closed_at
        rss = sampler.sample("after visitor").rss_mb
        result.rss_after.append((since, rss, "after one new visitor opened and left"))
        print(f"    +{since:4.0f} s: {common.fmt_mb(rss)} (after a new visitor came and left)")


def print_result(result: LoadResult) -> None:
    fmt_ms, fmt_mb = common.fmt_ms, common.fmt_mb
    times = result.times
    errors = result.errors
    print(f"\n== classroom load: N = {result.sessions} sessions")
    print(f"  edits timed: {len(times)} of {result.edits_planned}")
    print(f"  errors: {common.error_counts(errors)}")
    for text in classroom.first_errors(result.students):
        print(f"    {text}")
    p50, p95 = common.percentile(times, 50), result.p95
    slowest = max(times, default=None)
    print(f"  edit to chart: p50 {fmt_ms(p50)}, p95 {fmt_ms(p95)}, max {fmt_ms(slowest)}")
    for kind in KINDS:
        kind_times = result.times_of(kind)
        print(
            f"    {kind:>6}: p50 {fmt_ms(common.percentile(kind_times, 50))}, "
            f"p95 {fmt_ms(common.percentile(kind_times, 95))} (n = {len(kind_times)})"
        )
    loads = [s.load_ms for s in result.students if s.load_ms is not None]
    switches = [ms for s in result.students for ms in s.switch_ms]
    print(
        f"  first page load: p50 {fmt_ms(common.percentile(loads, 50))}, "
        f"p95 {fmt_ms(common.percentile(loads, 95))} (n = {len(loads)}); "
        f"page switch and back: p50 {fmt_ms(common.percentile(switches, 50))} "
        f"(n = {len(switches)})"
    )
    if result.load_wall_s > 0:
        print(
            f"  CPU during the load ({result.load_wall_s:.0f} s): server "
            f"{result.server_cpu_s / result.load_wall_s:.0%} of one core, browser side "
            f"(Chromium, Playwright) {result.client_cpu_s / result.load_wall_s:.0%} of one core"
        )
        if times:
            print(
                f"    per timed edit (page loads and switches included): server "
                f"{result.server_cpu_s / len(times):.2f} CPU s, browser side "
                f"{result.client_cpu_s / len(times):.2f} CPU s"
            )
    print(
        f"  server RSS: idle {fmt_mb(result.rss_idle_mb)}, "
        f"one session {fmt_mb(result.rss_one_mb)}, peak {fmt_mb(result.rss_peak_mb)}, "
        f"end of load {fmt_mb(result.rss_end_of_load_mb)}"
    )
    if result.rss_after:
        last_s, last_mb, label = result.rss_after[-1]
        print(f"  server RSS after close: {fmt_mb(last_mb)} at +{last_s:.0f} s ({label})")
        if result.rss_one_mb:
            print(
                f"    = {last_mb / result.rss_one_mb - 1:+.0%} against one session "
                f"(target: within ±20%)"
            )
    for note in result.notes:
        print(f"  note: {note}")


def passes(result: LoadResult) -> bool:
    return result.error_total == 0 and result.p95 is not None and result.p95 <= P95_BUDGET_MS


async def find_max(args: argparse.Namespace) -> None:
    """N = 30, 45, 60, 75 (a fresh server each) until errors appear or p95 goes over 3 s; when
    N = 30 already fails, N = 15, 8, 4 instead. At most 4 steps. Reports the largest N with zero
    errors, and the largest with zero errors and p95 <= 3 s."""
    results: list[LoadResult] = []
    steps = list(FIND_MAX_STEPS)
    while steps and len(results) < len(FIND_MAX_STEPS):
        n = steps.pop(0)
        print(f"\n== find-max step {len(results) + 1}: N = {n}", flush=True)
        result = await run_load(
            n,
            args.edits,
            args.seed,
            args.ramp,
            args.timeout,
            False,
            args.edit_timeout * 1000,
            args.think,
        )
        print_result(result)
        results.append(result)
        if passes(result):
            if n < FIND_MAX_STEPS[0]:
                break  # stepping down: the first N that holds is the answer
        elif n >= FIND_MAX_STEPS[0]:
            if n > FIND_MAX_STEPS[0]:
                break  # stepping up: the previous N was the largest that held
            steps = [15, 8, 4]  # N = 30 already fails: step down instead
    print("\n== find-max summary")
    for result in results:
        print(
            f"  N = {result.sessions:3d}: errors {result.error_total}, "
            f"p95 {common.fmt_ms(result.p95)}, peak RSS {common.fmt_mb(result.rss_peak_mb)}"
        )
    zero = [r.sessions for r in results if r.error_total == 0]
    both = [r.sessions for r in results if passes(r)]
    none = "none of the N tried (" + ", ".join(str(r.sessions) for r in results) + ")"
    print(f"  largest N with zero errors: {max(zero) if zero else none}")
    print(f"  largest N with zero errors and p95 <= 3 s: {max(both) if both else none}")


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sessions", type=int, default=30, help="students (browser contexts)")
    parser.add_argument("--edits", type=int, default=10, help="edits per student")
    parser.add_argument("--seed", type=int, default=1, help="seed of edits and think times")
    parser.add_argument("--ramp", type=float, default=20.0, help="seconds over which students join")
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds in all per run (after-close included)"
    )
    parser.add_argument(
        "--edit-timeout", type=float, default=60.0, help="seconds one edit may take"
    )
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(0.5, 2.0),
        metavar=("MIN", "MAX"),
        help="seconds of think time before each edit, uniform between MIN and MAX",
    )
    parser.add_argument(
        "--no-close-watch", action="store_true", help="skip watching RSS after the tabs close"
    )
    parser.add_argument(
        "--find-max",
        action="store_true",
        help=f"try N = {FIND_MAX_STEPS} until it breaks (15, 8, 4 when 30 already does)",
    )


def main() -> None:
    args = common.parse_args(__doc__, options)
    common.print_machine_info()
    if args.find_max:
        asyncio.run(find_max(args))
        return
    result = asyncio.run(
        run_load(
            args.sessions,
            args.edits,
            args.seed,
            args.ramp,
            args.timeout,
            not args.no_close_watch,
            args.edit_timeout * 1000,
            tuple(args.think),
        )
    )
    print_result(result)


if __name__ == "__main__":
    main()
