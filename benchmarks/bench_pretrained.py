"""Benchmark lesson 5's pretrained model: load time, attention time, memory. Prints, never asserts.

    python benchmarks/bench_pretrained.py [--quick] [--repeats 15] [--loads 3] [--json PATH]

- load: a fresh Python process imports attention.pretrained and calls load_model() (budget 3 s);
  import time is shown apart, since the app pays it once anyway
- attention: pretrained_attention on a 32-token sentence, median of --repeats runs after a warm-up
  (budget 300 ms), with torch's default thread count and with one thread
- memory: resident set size of that fresh process after load_model() and a first call
  (budget 600 MB); the weights are read lazily, so RSS grows as they are first used
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import common

BUDGET_LOAD_S = 3.0
BUDGET_ATTENTION_MS = 300.0
BUDGET_RSS_MB = 600.0
# 30 WordPieces + [CLS] + [SEP] = 32 tokens.
SENTENCE_32 = (
    "The quick brown fox jumps over the lazy dog while the small cat watches "
    "from the warm window and the old farmer slowly drinks his hot coffee today at noon"
)

_FRESH_LOAD = """
import json, time
import psutil
t0 = time.perf_counter()
import attention.pretrained as p
t1 = time.perf_counter()
rss_import = psutil.Process().memory_info().rss
model = p.load_model()
t2 = time.perf_counter()
rss_load = psutil.Process().memory_info().rss
p.pretrained_attention("a first sentence to touch every weight", model)
p.embed_words(["touch", "the", "table"], model)
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "rss_import_mb": rss_import / 2**20,
                  "rss_mb": rss_load / 2**20,
                  "rss_used_mb": psutil.Process().memory_info().rss / 2**20}))
"""


def fresh_load() -> dict[str, float]:
    """Import, load_model() and one call in a new interpreter: times (s) and RSS (MB)."""
    out = subprocess.run(
        [sys.executable, "-c", _FRESH_LOAD],
        cwd=common.REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_attention(repeats: int, threads: int | None) -> tuple[int, list[float]]:
    """Milliseconds per pretrained_attention(SENTENCE_32) call, warm model."""
    import torch

    from attention.pretrained import load_model, pretrained_attention

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        model = load_model()
        n_tokens = len(pretrained_attention(SENTENCE_32, model).tokens)  # warm-up
        pretrained_attention(SENTENCE_32, model)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            pretrained_attention(SENTENCE_32, model)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        torch.set_num_threads(previous)
    return n_tokens, times


def run(args: argparse.Namespace) -> list[common.Row]:
    loads_n = args.loads or (1 if args.quick else 3)
    repeats = args.repeats or (5 if args.quick else 15)
    print(f"  model load in a fresh process ({loads_n} runs; the first may hit a cold cache)")
    loads = [fresh_load() for _ in range(loads_n)]
    for i, load in enumerate(loads, 1):
        print(
            f"  run {i}: import {load['import_s']:.2f} s, load_model() {load['load_s']:.2f} s, "
            f"RSS {load['rss_import_mb']:.0f} MB after import, {load['rss_mb']:.0f} MB after "
            f"load, {load['rss_used_mb']:.0f} MB after a first call",
            flush=True,
        )
    import_s = common.median([r["import_s"] for r in loads])
    rows = [
        common.Row(
            "pretrained",
            "load_model() in a fresh process",
            common.median([r["load_s"] for r in loads]),
            "s",
            BUDGET_LOAD_S,
            f"import attention.pretrained {import_s:.2f} s more (paid once by the app anyway); "
            f"medians of {loads_n}",
        ),
        common.Row(
            "pretrained",
            "RSS after load and a first call",
            common.median([max(r["rss_mb"], r["rss_used_mb"]) for r in loads]),
            "MB",
            BUDGET_RSS_MB,
            f"median of {loads_n} fresh processes",
        ),
    ]
    for label, threads in (("default threads", None), ("1 thread", 1)):
        n_tokens, times = time_attention(repeats, threads)
        rows.append(
            common.Row(
                "pretrained",
                f"pretrained_attention, {n_tokens} tokens, {label}",
                common.median(times),
                "ms",
                BUDGET_ATTENTION_MS,
                f"median of {repeats} after a warm-up; {common.spread(times, digits=1)}",
            )
        )
    for row in rows:
        common.print_row(row)
    return rows


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, help="timed attention calls (15; 5 with --quick)")
    parser.add_argument(
        "--loads", type=int, help="fresh processes for load/RSS (3; 1 with --quick)"
    )


if __name__ == "__main__":
    common.bench_main(__doc__, run, options, quick_help="1 load and 5 attention calls")
