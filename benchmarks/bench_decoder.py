"""Decoder (lesson 6): time per generated token with and without the KV cache (one thread, as
the app runs it), and the server's RSS with every page visited and one generation done.

Figures:
- ms per token with the cache and without it (median over the steps after the first, which
  runs the whole prompt), for a chat-template prompt and --tokens new tokens;
- the Streamlit server's RSS (process tree) after one browser session visited every page in
  lessons/catalog.py PAGES and generated --page-tokens tokens on lesson 6's page.
Budget: RSS <= 690 MB (the app's memory budget). Prints, never asserts.

    python benchmarks/bench_decoder.py [--quick] [--tokens N] [--page-tokens N] [--json PATH]
"""

from __future__ import annotations

import argparse
import time

import bench_memory
import common
import torch

from lessons.catalog import PAGES

BUDGET_RSS_MB = 690.0
LESSON6 = "pages/7_Generating_text.py"
GENERATE_TIMEOUT_MS = 600_000
PAGE_PROMPT = "Once upon a time, a small robot"  # a story: the model does not stop early


def time_tokens(tokens: int) -> list[common.Row]:
    """ms per token, cached and uncached, in this process with one thread."""
    from attention.decoder import SmolLM2, chat_prompt
    from attention.model_files import require_model_file

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    model = SmolLM2(require_model_file())
    load_s = time.perf_counter() - t0
    prompt = chat_prompt([{"role": "user", "content": "What is attention in a transformer?"}])
    ids = model.encode(prompt)
    rows = [common.Row("decoder", "SmolLM2(path): load the model", load_s, "s", None, "one load")]
    for label, use_cache in (("with the KV cache", True), ("without a cache", False)):
        gen = model.generate(ids, max_new_tokens=tokens, use_cache=use_cache, stop_at_eos=False)
        later = [1000 * s.seconds for s in gen.steps[1:]]
        rows.append(
            common.Row(
                "decoder",
                f"ms per token {label} ({len(ids)}-token prompt, {tokens} new tokens)",
                common.median(later),
                "ms",
                None,
                f"first step (the prompt) {1000 * gen.steps[0].seconds:.0f} ms; later steps "
                f"{common.spread(later)}; 1 thread",
            )
        )
        common.print_row(rows[-1])
    return rows


def server_rss(page_tokens: int) -> common.Row:
    """RSS of the server after every page and one generation on lesson 6's page."""
    steps: list[tuple[str, float]] = []
    with common.streamlit_server("app.py") as server, common.chromium() as browser:
        pid = server.process.pid
        steps.append(("started", common.tree_rss_mb(pid)))
        page = common.new_page(browser)
        bench_memory.visit_every_page(page, server, steps)
        bench_memory.visit(page, server.url, bench_memory.url_path(LESSON6))
        for selector, value, key in (
            ("[class*=st-key-l6_prompt] textarea", PAGE_PROMPT, "Control+Enter"),
            ("[class*=st-key-l6_tokens] input", str(page_tokens), "Enter"),
        ):
            runs = common.script_runs(page)
            box = page.locator(selector)
            box.fill(value)
            box.press(key)
            common.wait_idle(page, since=runs, timeout=common.EDIT_TIMEOUT_MS)
        runs = common.script_runs(page)
        t0 = time.perf_counter()
        page.locator("[class*=st-key-w_l6_generate] button").click()
        common.wait_idle(page, since=runs, timeout=GENERATE_TIMEOUT_MS)
        common.wait_rendered(page, timeout=common.OPEN_TIMEOUT_MS)
        seconds = time.perf_counter() - t0
        page.wait_for_timeout(bench_memory.SETTLE_MS)
        summary = page.get_by_text("new tokens with").first.inner_text()
        steps.append((f"generated {page_tokens} tokens", common.tree_rss_mb(pid)))
        print(f"  after generating: {steps[-1][1]:.0f} MB ({seconds:.0f} s)", flush=True)
        page.context.close()
    peak = max(mb for _, mb in steps)
    detail = "; ".join(f"{label} {mb:.0f}" for label, mb in steps) + " (MB)"
    return common.Row(
        "decoder",
        f"server RSS, one session, all {len(PAGES)} pages + one generation",
        peak,
        "MB",
        BUDGET_RSS_MB,
        f"{detail}; generation incl. drawing {seconds:.0f} s; the page: {summary}",
    )


def run(args: argparse.Namespace) -> list[common.Row]:
    tokens = args.tokens or (10 if args.quick else 30)
    page_tokens = args.page_tokens or (20 if args.quick else 100)
    rows = time_tokens(tokens)
    try:
        rows.append(server_rss(page_tokens))
    except Exception as error:
        rows.append(common.Row("decoder", "server RSS", None, "MB", BUDGET_RSS_MB, repr(error)))
    common.print_row(rows[-1])
    return rows


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokens", type=int, help="new tokens for the timing (30; 10 quick)")
    parser.add_argument(
        "--page-tokens", type=int, help="tokens generated on the page (100; 20 with --quick)"
    )


if __name__ == "__main__":
    common.bench_main(__doc__, run, options, quick_help="fewer tokens")
