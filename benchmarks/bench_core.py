"""Core: attention.simple_attention(x) against torch's scaled_dot_product_attention(x, x, x,
scale=1.0) on the same (T, 64) inputs, under torch.inference_mode().

The two are timed in interleaved samples (A, B, A, B, ...), each sample a batch of calls long
enough to be timed well (about 2 ms); the figure is the median of the per-pair ratios
ours / SDPA. Budget: ratio <= 1.2 for T >= 512. Prints figures, never asserts.

    python benchmarks/bench_core.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import common
import torch
import torch.nn.functional as F

from attention import simple_attention

SIZES = (8, 64, 512, 2048)
D = 64
BUDGET_RATIO = 1.2  # for T >= 512
SAMPLE_S = 0.002


def calls_per_sample(fn: Callable[[], object]) -> int:
    """How many calls make one sample of about SAMPLE_S seconds."""
    one = max(min(sample(fn, 1) for _ in range(5)), 1e-7)  # the least disturbed of 5
    return max(1, min(10_000, round(SAMPLE_S / one)))


def sample(fn: Callable[[], object], n: int) -> float:
    """Seconds per call, over `n` calls."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def measure(T: int, rounds: int, threads: int | None) -> tuple[float, float, float, list[float]]:
    """(median ratio, median ours µs, median SDPA µs, all ratios) for a (T, D) input."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        generator = torch.Generator().manual_seed(T)
        x = torch.randn(T, D, generator=generator)

        def ours() -> object:
            return simple_attention(x)

        def sdpa() -> object:
            return F.scaled_dot_product_attention(x, x, x, scale=1.0)

        with torch.inference_mode():
            ours_out, sdpa_out = ours().context_vecs, sdpa()
            torch.testing.assert_close(ours_out, sdpa_out, atol=1e-4, rtol=1e-4)  # same math
            for _ in range(3):  # warm-up
                ours(), sdpa()
            n_ours, n_sdpa = calls_per_sample(ours), calls_per_sample(sdpa)
            times_ours, times_sdpa = [], []
            for _ in range(rounds):
                times_ours.append(sample(ours, n_ours))
                times_sdpa.append(sample(sdpa, n_sdpa))
    finally:
        torch.set_num_threads(previous)
    ratios = [a / b for a, b in zip(times_ours, times_sdpa, strict=True)]
    return (
        common.median(ratios),
        common.median(times_ours) * 1e6,
        common.median(times_sdpa) * 1e6,
        ratios,
    )


def run(args: argparse.Namespace) -> list[common.Row]:
    rounds = 31 if args.quick else 101
    thread_settings: list[int | None] = [None] if args.quick else [None, 1]
    rows = []
    for threads in thread_settings:
        label = f"{torch.get_num_threads()} threads" if threads is None else f"{threads} thread"
        for T in SIZES:
            ratio, ours_us, sdpa_us, ratios = measure(
                T, rounds if T < 2048 else rounds // 3, threads
            )
            row = common.Row(
                benchmark="core ours/SDPA",
                case=f"T = {T}, d = {D}, {label}",
                value=ratio,
                unit="×",
                budget=BUDGET_RATIO if T >= 512 and threads is None else None,
                detail=(
                    f"ours {ours_us:,.1f} µs, SDPA {sdpa_us:,.1f} µs (medians); "
                    f"pair ratios {common.spread(ratios, digits=2)}"
                ),
            )
            common.print_row(row)
            rows.append(row)
    return rows


if __name__ == "__main__":
    common.bench_main(__doc__, run, quick_help="fewer rounds, default threads only")
