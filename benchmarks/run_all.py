"""Run every performance benchmark and print one table: machine, date, figures, budgets.

    python benchmarks/run_all.py            # full: about 30 min on 2 busy cores
    python benchmarks/run_all.py --quick    # fewer repeats, 1 min per class size: about 15 min
    python benchmarks/run_all.py --only core,rerun
    python benchmarks/run_all.py --only load   # server capacity alone (load_server.py)

Each benchmark runs in its own process (bench_<name>.py), bounded by a timeout; on timeout its
whole process tree (servers, browser) is stopped. Figures are printed, never asserted: the exit
code is 1 only when a benchmark could not run. See README.md, "Performance".
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import psutil

# name -> (script, timeout in seconds for quick, for full)
BENCHMARKS: dict[str, tuple[str, int, int]] = {
    "core": ("bench_core.py", 600, 900),
    "rerun": ("bench_rerun.py", 900, 1500),
    "browser": ("bench_browser.py", 1200, 2400),
    "cold_start": ("bench_cold_start.py", 600, 900),
    "memory": ("bench_memory.py", 600, 600),
    "load": ("load_server.py", 900, 1500),
    "decoder": ("bench_decoder.py", 600, 1500),
}


def run_one(name: str, quick: bool) -> tuple[list[common.Row], str | None]:
    """Run one benchmark script; its rows, and an error text if it did not finish."""
    script, quick_timeout, full_timeout = BENCHMARKS[name]
    timeout = quick_timeout if quick else full_timeout
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = Path(tmp) / "rows.json"
        command = [sys.executable, str(common.BENCH_DIR / script), "--json", str(out)]
        if quick:
            command.append("--quick")
        start = time.monotonic()
        process = subprocess.Popen(command, cwd=common.REPO_ROOT, start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            error = f"stopped after the {timeout} s time limit"
            code = None
        except KeyboardInterrupt:
            stop(process)
            raise
        else:
            error = None if code == 0 else f"exited with code {code}"
        finally:
            if process.poll() is None:
                stop(process)
        print(f"-- {name}: {time.monotonic() - start:.0f} s", flush=True)
        rows = common.read_json(str(out))[0] if out.exists() else []
    return rows, error


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (the script's finally blocks stop its servers and browser), then kill whatever of
    its process tree (as it was when stopping began) is still there."""
    try:
        tree = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    common.kill_tree(process.pid)
    for child in tree:
        common.kill_tree(child.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats in every benchmark")
    parser.add_argument(
        "--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}", default=""
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    common.stop_on_sigterm()

    info_before = common.machine_info()
    print(f"== Attention Explorer benchmarks ({'quick' if args.quick else 'full'})")
    common.print_machine_info()
    rows: list[common.Row] = []
    failures = []
    for name in names:
        print(f"\n-- {name}", flush=True)
        bench_rows, error = run_one(name, args.quick)
        rows += bench_rows
        if error:
            failures.append(f"{name}: {error}")
            if not bench_rows:
                rows.append(common.Row(name, "(did not finish)", None, "", detail=error))

    print(f"\n== results ({'quick' if args.quick else 'full'} run)")
    print(f"{'date':>13}: {info_before['date']}")
    for key in ("cpu", "cores", "memory", "versions"):
        print(f"{key:>13}: {info_before[key]}")
    print(f"{'load average':>13}: {info_before['load average']} at the start, ", end="")
    print(f"{common.load_average()} at the end")
    print()
    print(common.table(rows))
    judged = [row for row in rows if row.budget is not None]
    holding = [row for row in judged if row.verdict == "holds"]
    print(f"\nbudgets: {len(holding)} of {len(judged)} hold")
    for row in judged:
        if row.verdict != "holds":
            print(f"  {row.verdict.lower()}: {row.benchmark}, {row.case}")
    for failure in failures:
        print(f"  benchmark problem: {failure}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
