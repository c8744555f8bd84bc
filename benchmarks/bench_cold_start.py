"""Cold start: seconds from `streamlit run app.py` (a fresh process on a free port, headless)
until the first Plotly chart is drawn in headless Chromium (`.js-plotly-plot .main-svg`).

The browser is started beforehand and is not counted; the page is requested as soon as
/_stcore/health answers. For scale on a busy machine, benchmarks/floor_app.py (one editor cell,
one heatmap) is started the same way in the same run. Budget: <= 8 s. Prints, never asserts.

    python benchmarks/bench_cold_start.py [--quick] [--runs 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import time

import common

BUDGET_S = 8.0
FIRST_CHART = ".js-plotly-plot .main-svg"


def cold_start(browser: object, script: str = "app.py") -> dict[str, float]:
    """Seconds from process start until: the server is healthy, the page's HTML has loaded, the
    first chart is visible, the first script run has ended."""
    with common.streamlit_server(script) as server:
        page = common.new_page(browser)
        try:
            page.goto(server.url + "/", wait_until="load")
            loaded_s = time.perf_counter() - server.started
            page.locator(FIRST_CHART).first.wait_for(
                state="visible", timeout=common.OPEN_TIMEOUT_MS
            )
            chart_s = time.perf_counter() - server.started
            common.wait_idle(page, since=0, timeout=common.OPEN_TIMEOUT_MS)
            run_s = time.perf_counter() - server.started
        finally:
            page.context.close()
    return {"healthy": server.healthy_after_s, "loaded": loaded_s, "chart": chart_s, "run": run_s}


def run(args: argparse.Namespace) -> list[common.Row]:
    runs = args.runs or (1 if args.quick else 3)
    results, floors = [], []
    try:
        with common.chromium() as browser:
            for i in range(runs):
                result = cold_start(browser)
                print(
                    f"  run {i + 1}: server healthy {result['healthy']:.1f} s, page loaded "
                    f"{result['loaded']:.1f} s, first chart {result['chart']:.1f} s, first run "
                    f"ended {result['run']:.1f} s"
                )
                results.append(result)
                floors.append(cold_start(browser, "benchmarks/floor_app.py")["chart"])
                print(f"  run {i + 1}: floor app, first chart {floors[-1]:.1f} s")

        def med(key: str) -> float:
            return common.median([r[key] for r in results])

        row = common.Row(
            "cold start",
            "streamlit run app.py -> first chart drawn",
            med("chart"),
            "s",
            BUDGET_S,
            f"server healthy {med('healthy'):.1f} s, page loaded {med('loaded'):.1f} s, first "
            f"script run ended {med('run'):.1f} s (medians); floor app's first chart "
            f"{common.median(floors):.1f} s; charts "
            f"{common.spread([r['chart'] for r in results], digits=1)}",
        )
    except Exception as error:
        row = common.Row(
            "cold start",
            "streamlit run app.py -> first chart drawn",
            None,
            "s",
            BUDGET_S,
            repr(error),
        )
    return [row]


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, help="fresh server starts")


if __name__ == "__main__":
    common.bench_main(__doc__, run, options, quick_help="1 run instead of 3")
