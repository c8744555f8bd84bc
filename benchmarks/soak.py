"""Soak: one student makes many edits on lesson 1; does the server's memory keep growing?

ONE `streamlit run app.py` server, ONE headless Chromium, one session. The student cycles
through an embedding cell edit (type a value, Enter), a token change (new words in the
sidebar's Tokens box, Enter) and a query change ("Query token" selectbox), --edits times in
all, with --think seconds between edits. The server's RSS (process plus children) is read after
the page opens and after every 50 edits; the figure is the growth from the 50-edit reading to
the last one (target <= 10%), so the first edits' one-off costs (imports, caches, the first
figures) are not counted as growth. Edit-to-chart times and errors are printed too.

Prints figures, never asserts. Bounded: after --timeout seconds it stops editing and reports what
it has; the server and browser are always stopped.

    python benchmarks/soak.py [--edits 500] [--timeout 3600]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import classroom
import common

KINDS = ("cell", "tokens", "query")
CHECK_EVERY = 50
GROWTH_BUDGET = 0.10


async def soak(edits: int, think_s: float, timeout_s: float, seed: int) -> None:
    deadline = time.monotonic() + timeout_s
    readings: list[tuple[int, float]] = []  # (edits done, server RSS MB)
    async with (
        common.streamlit_server_async("app.py") as server,
        common.chromium_async() as browser,
    ):
        student = await classroom.Student.open(browser, server.url, 0, seed)
        try:
            await asyncio.sleep(1.0)
            readings.append((0, server.rss_mb()))
            print(
                f"  page open after {common.fmt_ms(student.load_ms)}; "
                f"server RSS {common.fmt_mb(readings[-1][1])}",
                flush=True,
            )
            started = time.monotonic()
            for done in range(1, edits + 1):
                if time.monotonic() > deadline:
                    print(f"  stopped by --timeout after {done - 1} edits", flush=True)
                    break
                if student.load_ms is None:
                    break  # the page never opened: already an error
                await asyncio.sleep(think_s)
                await student.edit(KINDS[(done - 1) % len(KINDS)])
                if done % CHECK_EVERY == 0:
                    await asyncio.sleep(1.0)
                    readings.append((done, server.rss_mb()))
                    recent = [r.ms for r in student.records[-CHECK_EVERY:] if r.ms is not None]
                    print(
                        f"  {done:4d} edits ({time.monotonic() - started:5.0f} s): server RSS "
                        f"{common.fmt_mb(readings[-1][1])}, errors {len(student.errors)}, "
                        f"edit to chart p50 {common.fmt_ms(common.percentile(recent, 50))}",
                        flush=True,
                    )
        finally:
            await student.close()
    report(student, readings, edits)


def report(student: classroom.Student, readings: list[tuple[int, float]], planned: int) -> None:
    times = [r.ms for r in student.records if r.ms is not None]
    errors = classroom.count_errors([student])
    print(f"\n== soak: {len(student.records)} of {planned} edits, one session")
    print(f"  errors: {common.error_counts(errors)}")
    for text in classroom.first_errors([student]):
        print(f"    {text}")
    print(
        f"  edit to chart: p50 {common.fmt_ms(common.percentile(times, 50))}, "
        f"p95 {common.fmt_ms(common.percentile(times, 95))} (n = {len(times)})"
    )
    print("  server RSS: " + ", ".join(f"{n} edits {mb:,.0f} MB" for n, mb in readings))
    base = next((mb for n, mb in readings if n == CHECK_EVERY), None)
    if base is None or readings[-1][0] <= CHECK_EVERY:
        print(f"  growth after the first {CHECK_EVERY} edits: n/a (too few edits)")
        return
    last_n, last_mb = readings[-1]
    growth = last_mb / base - 1
    verdict = "holds" if growth <= GROWTH_BUDGET else "DOES NOT HOLD"
    print(
        f"  growth from {CHECK_EVERY} to {last_n} edits: {last_mb - base:+,.0f} MB = "
        f"{growth:+.1%} (target <= {GROWTH_BUDGET:.0%}: {verdict})"
    )


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--edits", type=int, default=500, help="edits in all")
    parser.add_argument("--think", type=float, default=0.2, help="seconds between edits")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds of editing at most")
    parser.add_argument("--seed", type=int, default=1, help="seed of the edits")


def main() -> None:
    args = common.parse_args(__doc__, options)
    common.print_machine_info()
    asyncio.run(soak(args.edits, args.think, args.timeout, args.seed))


if __name__ == "__main__":
    main()
