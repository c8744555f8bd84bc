"""Script rerun: milliseconds per rerun of each page under streamlit.testing.v1.AppTest.

For each T, one AppTest opens app.py, types T tokens t0 .. t(T-1) into the sidebar
("w_tokens_text"), then visits app.py and every pages/*.py (AppTest.switch_page). On each page the
first run (and one more) is left out; the figure is the median of the timed reruns (at.run()).

AppTest compiles the page script afresh on every run (a new ScriptCache per run), which a server
does once; by default the benchmark shares one ScriptCache between runs, as a server does
(--compile-each-run measures plain AppTest). The detail column also gives the script body alone
(without AppTest's own work), in wall time and in CPU time of its thread (less sensitive to a
busy machine), and the number and JSON size of the Plotly charts the page sends.

Budgets: lesson 1 (app.py) <= 80 ms at T = 5 and <= 250 ms at T = 64. Prints, never asserts.

    python benchmarks/bench_rerun.py [--quick] [--json PATH]
    python benchmarks/bench_rerun.py --profile app.py --tokens 64   # cProfile of the reruns
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import time

import common
from streamlit.runtime.scriptrunner import script_runner
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1 import AppTest, app_test

from ui import live_chart

SIZES = (5, 32, 64)
BUDGETS_MS = {("app.py", 5): 80.0, ("app.py", 64): 250.0}
RUN_TIMEOUT_S = 120


def pages() -> list[str]:
    """app.py, then every pages/*.py in file order."""
    return [
        "app.py",
        *sorted(
            p.relative_to(common.REPO_ROOT).as_posix() for p in common.REPO_ROOT.glob("pages/*.py")
        ),
    ]


class ScriptTimer:
    """Wraps the script runner's call of the page script: wall seconds of each script body (what
    a server would spend too, without AppTest's own work), and optionally a cProfile of it (the
    script runs in its own thread, which a profiler started in the main thread does not see)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.cpu_times: list[float] = []  # CPU seconds of the script thread: less load-sensitive
        self.profiler: cProfile.Profile | None = None
        self._original = script_runner.exec_func_with_error_handling

    def __enter__(self) -> ScriptTimer:
        def timed(func, ctx):  # type: ignore[no-untyped-def]
            if self.profiler is not None:
                self.profiler.enable()
            start, cpu_start = time.perf_counter(), time.thread_time()
            try:
                return self._original(func, ctx)
            finally:
                self.times.append(time.perf_counter() - start)
                self.cpu_times.append(time.thread_time() - cpu_start)
                if self.profiler is not None:
                    self.profiler.disable()

        script_runner.exec_func_with_error_handling = timed
        return self

    def __exit__(self, *exc: object) -> None:
        script_runner.exec_func_with_error_handling = self._original


def share_script_cache() -> None:
    """Compile each page once, as a server does, instead of on every AppTest run."""
    shared = ScriptCache()
    app_test.ScriptCache = lambda: shared  # type: ignore[attr-defined]


def token_text(T: int) -> str:
    return " ".join(f"t{i}" for i in range(T))


def open_app(T: int) -> AppTest:
    """An AppTest on app.py after its first run, with T tokens set through the sidebar."""
    at = AppTest.from_file(str(common.REPO_ROOT / "app.py"), default_timeout=RUN_TIMEOUT_S)
    at.run()
    at.text_input(key="w_tokens_text").set_value(token_text(T)).run()
    tokens = at.session_state["ax_tokens"]
    if len(tokens) != T:
        raise RuntimeError(f"the app took {len(tokens)} tokens, not {T}")
    return at


def errors(at: AppTest) -> list[str]:
    return [str(e.value).splitlines()[0] for e in at.exception]


def charts_size(at: AppTest) -> str:
    """How many Plotly charts the page sends and their JSON size, e.g. '10 charts, 85 kB'."""
    specs = [live_chart.figure_json(element) for element in live_chart.chart_elements(at)]
    return f"{len(specs)} charts, {sum(len(spec) for spec in specs) / 1000:,.0f} kB"


def time_reruns(at: AppTest, reruns: int) -> tuple[list[float], ScriptTimer]:
    """Seconds per at.run(), and the script body's wall and CPU seconds in each."""
    times = []
    with ScriptTimer() as script:
        for _ in range(reruns):
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
    return times, script


def visit(at: AppTest, page: str) -> float:
    """Switch to `page` (app.py is already open) and run it; seconds of that first run."""
    start = time.perf_counter()
    if page != "app.py":
        at.switch_page(page)
    at.run()
    first = time.perf_counter() - start
    at.run()  # a second untimed run: the widgets the first run created now exist
    return first


def measure(reruns: int) -> list[common.Row]:
    rows = []
    for T in SIZES:
        try:
            at = open_app(T)
        except Exception as error:  # report and go on with the next T
            print(f"  T = {T}: could not open app.py: {error!r}")
            rows += [
                common.Row("rerun (AppTest)", f"{page}, T = {T}", None, "ms", detail=repr(error))
                for page in pages()
            ]
            continue
        for page in pages():
            budget = BUDGETS_MS.get((page, T))
            try:
                first = visit(at, page)
                if errors(at):
                    raise RuntimeError("; ".join(errors(at)))
                times, script = time_reruns(at, reruns)
                row = common.Row(
                    "rerun (AppTest)",
                    f"{page}, T = {T}",
                    common.median(times) * 1000,
                    "ms",
                    budget,
                    f"script body {common.median(script.times) * 1000:,.0f} ms "
                    f"({common.median(script.cpu_times) * 1000:,.0f} ms CPU); "
                    f"{charts_size(at)}; "
                    f"first run {first * 1000:,.0f} ms; reruns {common.spread(times, 1000)}",
                )
            except Exception as error:
                row = common.Row(
                    "rerun (AppTest)", f"{page}, T = {T}", None, "ms", budget, repr(error)[:200]
                )
            common.print_row(row)
            rows.append(row)
    return rows


def profile(page: str, T: int, reruns: int, top: int) -> None:
    """cProfile over `reruns` reruns of `page` with T tokens: the top functions by own and by
    cumulative time."""
    at = open_app(T)
    visit(at, page)
    with ScriptTimer() as script:
        script.profiler = cProfile.Profile()
        for _ in range(reruns):
            at.run()
    print(
        f"== cProfile of the script body over {reruns} reruns of {page}, T = {T}: "
        f"median {common.median(script.times) * 1000:.0f} ms per run (with profiling overhead)"
    )
    for sort in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(script.profiler, stream=out).sort_stats(sort).print_stats(top)
        print(out.getvalue())


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reruns", type=int, help="timed reruns per page and T")
    parser.add_argument("--profile", metavar="PAGE", help="profile this page instead")
    parser.add_argument("--tokens", type=int, default=64, help="T for --profile")
    parser.add_argument("--top", type=int, default=40, help="functions listed by --profile")
    parser.add_argument(
        "--compile-each-run",
        action="store_true",
        help="let AppTest compile the page on every run (its default; a server compiles once)",
    )


def run(args: argparse.Namespace) -> list[common.Row]:
    """The rows of every page and T; with --profile, the profile only (no rows)."""
    if not args.compile_each_run:
        share_script_cache()
    # AppTest runs outside a server; Streamlit warns about that on every run.
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    if args.profile:
        profile(args.profile, args.tokens, args.reruns or 15, args.top)
        return []
    return measure(args.reruns or (5 if args.quick else 15))


if __name__ == "__main__":
    common.bench_main(__doc__, run, options, quick_help="5 timed reruns instead of 15")
