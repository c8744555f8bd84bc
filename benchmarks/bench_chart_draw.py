"""Chart draw cost: how long headless Chromium takes to draw each of lesson 1's charts.

Streamlit draws a chart from scratch whenever its figure changes, so after an edit the browser
pays each chart's first draw (Plotly.newPlot) again. This benchmark builds lesson 1's figures
for T tokens with the project's own builders (charts/), loads the plotly.js that ships in the
`plotly` package into a blank page (nothing is downloaded), and times for each figure: the
first draw into a fresh 700 px wide div, and an update (Plotly.react) with data changed by 1 %,
median of --repeats. The floor app's bare heatmap is drawn too, for scale. Prints, never
asserts.

    python benchmarks/bench_chart_draw.py [--quick] [--tokens 5,64] [--repeats 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import importlib.resources
import json

import common  # puts the repository on sys.path
import plotly.graph_objects as go
import plotly.io as pio
import torch

import charts
from attention import pca_2d, query_walkthrough, simple_attention
from attention.embeddings import token_embedding

# First draw into a fresh div, then `repeats` updates with the data scaled by 1.01, 1.011, ...
# Returns [milliseconds of the median first draw, of the median update].
DRAW_SCRIPT = """
async ([spec, repeats]) => {
  const scaled = (data, f) => data.map((trace) => {
    const copy = {...trace};
    for (const k of ["y", "z"]) {
      if (Array.isArray(trace[k])) {
        copy[k] = trace[k].map((v) => Array.isArray(v)
          ? v.map((u) => (u == null ? u : u * f)) : (v == null ? v : v * f));
      }
    }
    return copy;
  });
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const firsts = [], updates = [];
  for (let r = 0; r < repeats; r++) {
    document.body.innerHTML = "";
    const div = document.createElement("div");
    div.style.width = "700px";
    document.body.appendChild(div);
    let t = performance.now();
    await Plotly.newPlot(div, spec.data, spec.layout);
    await new Promise(requestAnimationFrame);
    firsts.push(performance.now() - t);
    t = performance.now();
    await Plotly.react(div, scaled(spec.data, 1.01 + r / 1000), spec.layout);
    await new Promise(requestAnimationFrame);
    updates.push(performance.now() - t);
    Plotly.purge(div);
  }
  return [median(firsts), median(updates)];
}
"""


def lesson1_figures(T: int, d: int = 3) -> dict[str, go.Figure]:
    """Lesson 1's figures for tokens t0 .. t(T-1) with the app's deterministic embeddings."""
    tokens = [f"t{i}" for i in range(T)]
    x = torch.stack([token_embedding(token, d) for token in tokens])
    steps, walk = simple_attention(x), query_walkthrough(x, 0)
    projection = pca_2d(x)
    weights = {method: n.weights for method, n in walk.normalized.items()}
    figures = {
        "scores bar": charts.scores_bar(walk.attn_scores, tokens, 0),
        "weights, three ways": charts.weights_grouped_bar(weights, tokens, 0),
        "vectors, flat (PCA)": charts.vectors_figure(
            projection.points,
            tokens,
            projection.project(walk.context_vec),
            0,
            title="v",
            axis_titles=["pc 1", "pc 2"],
            from_origin=False,
        ),
        "vectors, 3-D (WebGL)": charts.vectors_figure(
            x, tokens, walk.context_vec, 0, title="v", axis_titles=["1", "2", "3"], from_origin=True
        ),
        "scores heatmap": charts.attention_heatmap(
            steps.attn_scores, tokens, title="s", value_name="score", weights=False
        ),
        "weights heatmap": charts.attention_heatmap(
            steps.attn_weights, tokens, title="w", value_name="weight"
        ),
    }
    if T <= charts.MAX_CELL_TEXT:
        figures["weights by query (slider)"] = charts.weights_by_query(steps.attn_weights, tokens)
    figures["floor app's heatmap"] = go.Figure(
        go.Heatmap(z=steps.attn_weights.tolist(), colorscale="Viridis"),
        layout={"height": max(320, min(720, 140 + 34 * T))},
    )
    return figures


def run(args: argparse.Namespace) -> list[common.Row]:
    """A row per figure and T: the median first draw (ms), with the median update."""
    repeats = args.repeats or (3 if args.quick else 7)
    plotly_js = (importlib.resources.files("plotly") / "package_data" / "plotly.min.js").read_text()
    rows = []
    with common.chromium() as browser:
        page = browser.new_page()
        page.set_content("<html><body></body></html>")
        page.add_script_tag(content=plotly_js)
        page.evaluate(DRAW_SCRIPT, [{"data": [{"type": "bar", "y": [1]}], "layout": {}}, 2])
        for T in (int(t) for t in args.tokens.split(",")):
            for name, figure in lesson1_figures(T).items():
                spec = json.loads(pio.to_json(figure, validate=False))
                first, update = page.evaluate(DRAW_SCRIPT, [spec, repeats])
                row = common.Row(
                    "chart draw",
                    f"T = {T}, {name}",
                    first,
                    "ms",
                    detail=f"first draw (Plotly.newPlot); update (Plotly.react) {update:,.0f} ms; "
                    f"medians of {repeats} in a 700 px wide div",
                )
                common.print_row(row)
                rows.append(row)
    return rows


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokens", default="5,64", help="token counts T, e.g. 5,64")
    parser.add_argument("--repeats", type=int, help="draws per chart (7; 3 with --quick)")


if __name__ == "__main__":
    common.bench_main(__doc__, run, options, quick_help="3 draws per chart instead of 7")
