"""Benchmark lesson 5's pretrained model: load time, attention time, memory. Prints, never asserts.

Run from the repo root: python benchmarks/bench_pretrained.py [--repeats 15] [--loads 3]

- load: a fresh Python process imports attention.pretrained and calls load_model() (budget 3 s);
  import time is shown apart, since the app pays it once anyway
- attention: pretrained_attention on a 32-token sentence, median of --repeats runs after a warm-up
  (budget 300 ms), with torch's default thread count and with one thread
- memory: resident set size of that fresh process after load_model() and a first call
  (budget 600 MB); the weights are read lazily, so RSS grows as they are first used
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

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


def machine_info() -> dict[str, str]:
    import torch

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()}, {cpu}",
        "cores": str(os.cpu_count()),
        "load average": load,
        "python": platform.python_version(),
        "torch": f"{torch.__version__}, {torch.get_num_threads()} threads by default",
    }


def fresh_load() -> dict[str, float]:
    """Import, load_model() and one call in a new interpreter: times (s) and RSS (MB)."""
    out = subprocess.run(
        [sys.executable, "-c", _FRESH_LOAD],
        cwd=REPO_ROOT,
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


def verdict(value: float, budget: float) -> str:
    return "within budget" if value <= budget else "OVER budget"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed attention calls")
    parser.add_argument("--loads", type=int, default=3, help="fresh processes for load/RSS")
    args = parser.parse_args()

    print("== machine")
    for key, value in machine_info().items():
        print(f"{key:>13}: {value}")

    print(f"\n== model load in a fresh process ({args.loads} runs; the first may hit a cold cache)")
    loads = [fresh_load() for _ in range(args.loads)]
    for i, run in enumerate(loads, 1):
        print(
            f"  run {i}: import {run['import_s']:.2f} s, load_model() {run['load_s']:.2f} s, "
            f"RSS {run['rss_import_mb']:.0f} MB after import, {run['rss_mb']:.0f} MB after load, "
            f"{run['rss_used_mb']:.0f} MB after a first call"
        )
    load_s = statistics.median(r["load_s"] for r in loads)
    total_s = statistics.median(r["import_s"] + r["load_s"] for r in loads)
    rss_mb = statistics.median(max(r["rss_mb"], r["rss_used_mb"]) for r in loads)
    print(
        f"  median load_model(): {load_s:.2f} s (budget {BUDGET_LOAD_S:.0f} s): "
        f"{verdict(load_s, BUDGET_LOAD_S)}"
    )
    print(f"  median import + load_model(): {total_s:.2f} s: {verdict(total_s, BUDGET_LOAD_S)}")
    print(
        f"  median RSS after load and a first call: {rss_mb:.0f} MB "
        f"(budget {BUDGET_RSS_MB:.0f} MB): {verdict(rss_mb, BUDGET_RSS_MB)}"
    )

    print(f"\n== pretrained_attention, median of {args.repeats}")
    for label, threads in (("default threads", None), ("1 thread", 1)):
        n_tokens, times = time_attention(args.repeats, threads)
        median = statistics.median(times)
        print(
            f"  {label}: {n_tokens} tokens, median {median:.1f} ms "
            f"(min {min(times):.1f}, max {max(times):.1f}; budget {BUDGET_ATTENTION_MS:.0f} ms): "
            f"{verdict(median, BUDGET_ATTENTION_MS)}"
        )


if __name__ == "__main__":
    main()
