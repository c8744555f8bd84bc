"""Figure builders, tested by their attributes (no browser)."""

from __future__ import annotations

import math

import pytest
import torch

import charts
from attention import SEED_TOKENS, query_walkthrough, seed_inputs, simple_attention

TOKENS = list(SEED_TOKENS)
HOSTILE = ["<b>x</b>", '<img src=x onerror="alert(1)">', "a&b", "the", "the"]


def test_heatmap_carries_values_labels_and_a_range_from_0_to_the_largest_weight():
    weights = simple_attention(seed_inputs()).attn_weights
    fig = charts.attention_heatmap(weights, TOKENS, title="weights", value_name="weight")
    heatmap = fig.data[0]
    assert torch.allclose(torch.tensor(heatmap.z, dtype=torch.float64), weights.double(), atol=1e-7)
    assert (
        heatmap.zmin == 0.0 and float(weights.max()) <= heatmap.zmax <= float(weights.max()) + 0.01
    )
    assert fig.layout.title.text == "weights"
    assert fig.layout.xaxis.title.text == "key token j: x(j)"
    assert fig.layout.yaxis.title.text == "query token i: x(i)"
    labels = [f"{i + 1}: {token}" for i, token in enumerate(TOKENS)]
    assert list(heatmap.y) == list(heatmap.x) == labels
    assert fig.layout.xaxis.type == fig.layout.yaxis.type == "category"
    assert heatmap.texttemplate == "%{z:.4f}"
    assert heatmap.hovertemplate == "query %{y}<br>key %{x}<br>weight = %{z:.4f}<extra></extra>"
    assert heatmap.customdata is None  # hover names come from the axes


def test_score_heatmap_follows_the_data_and_large_matrices_drop_cell_text():
    scores = simple_attention(seed_inputs()).attn_scores
    fig = charts.attention_heatmap(scores, TOKENS, title="s", value_name="score", weights=False)
    heatmap = fig.data[0]
    # the range is the data's, rounded outward to two significant digits, and says so
    lo, hi = float(scores.min()), float(scores.max())
    assert heatmap.zmin <= lo < heatmap.zmin + 0.1 and hi <= heatmap.zmax < hi + 0.1
    assert heatmap.colorbar.title.text == f"score<br>({heatmap.zmin:g} to {heatmap.zmax:g})"
    big = torch.rand(charts.MAX_CELL_TEXT + 1, charts.MAX_CELL_TEXT + 1)
    tokens = [f"t{i}" for i in range(charts.MAX_CELL_TEXT + 1)]
    assert (
        charts.attention_heatmap(big, tokens, title="b", value_name="w").data[0].texttemplate
        is None
    )


def test_repeated_tokens_keep_separate_rows_and_labels_are_escaped():
    x = torch.randn(len(HOSTILE), 3)
    fig = charts.attention_heatmap(
        simple_attention(x).attn_weights, HOSTILE, title="t", value_name="w"
    )
    assert len(fig.data[0].z) == len(HOSTILE)
    ticks = list(fig.data[0].y)
    assert ticks[:3] == [
        "1: &lt;b&gt;x&lt;/b&gt;",
        "2: &lt;img src=x onerror=&quot;ale…",
        "3: a&amp;b",
    ]
    assert ticks[3:] == ["4: the", "5: the"]  # one category (row) each
    assert len(set(ticks)) == len(HOSTILE)
    for text in ticks:
        assert "<" not in text and ">" not in text


def title(fig) -> str:
    """A figure's title as one line (titles are wrapped to fit a phone)."""
    return fig.layout.title.text.replace("<br>", " ")


def test_query_bars_scores_and_weights():
    walk = query_walkthrough(seed_inputs(), 1)
    fig = charts.scores_bar(walk.attn_scores, TOKENS, 1)
    assert torch.allclose(
        torch.tensor(fig.data[0].y, dtype=torch.float64), walk.attn_scores.double(), atol=1e-7
    )
    assert title(fig) == "Attention scores ω(2, j) for the query 2: Mechanism"
    assert fig.layout.yaxis.title.text == "score ω(i, j) = x(i) · x(j)"
    assert list(fig.data[0].text) == [f"{v:.4f}" for v in walk.attn_scores.tolist()]
    colors = list(fig.data[0].marker.color)
    assert colors[1] != colors[0] and len(set(colors)) == 2
    small = charts.weights_bar(walk.attn_weights, TOKENS, 1)
    assert small.layout.yaxis.range[1] == pytest.approx(float(walk.attn_weights.max()) * 1.15)
    shared = charts.weights_bar(walk.attn_weights, TOKENS, 1, y_max=0.5)
    assert shared.layout.yaxis.range[1] == pytest.approx(0.575)
    assert small.layout.title.text == "query 2: Mechanism"


def test_grouped_bars_have_three_methods_with_patterns_and_numbers():
    walk = query_walkthrough(seed_inputs(), 0)
    weights = {method: n.weights for method, n in walk.normalized.items()}
    fig = charts.weights_grouped_bar(weights, TOKENS, 0)
    assert [bar.name for bar in fig.data] == [
        "sum normalisation",
        "naive softmax",
        "softmax (stable)",
    ]
    assert len({bar.marker.pattern.shape for bar in fig.data}) == 3
    assert fig.data[0].text[0] == "0.1897"
    assert fig.layout.barmode == "group"


def test_non_finite_values_become_gaps_not_errors():
    scores = torch.tensor([1000.0, 0.0, -5.0])
    naive = torch.exp(scores) / torch.exp(scores).sum()
    fig = charts.query_bar(naive, ["a", "b", "c"], 0, title="t", value_name="w", y_title="w")
    assert fig.data[0].y[0] is None
    assert not math.isnan(fig.data[0].y[1])


def test_vectors_figure_3d_2d():
    x = seed_inputs()
    z = simple_attention(x).context_vecs[0]
    fig3 = charts.vectors_figure(
        x, TOKENS, z, 0, title="v", axis_titles=["a", "b", "c"], from_origin=True
    )
    assert fig3.data[-1].type == "scatter3d"
    assert [fig3.data[-1][a][0] for a in "xyz"] == [float(v) for v in z.double()]
    assert len(fig3.data) == 3  # the lines from the origin, the inputs, z
    assert list(fig3.data[0].x).count(None) == len(TOKENS)
    assert fig3.layout.scene.xaxis.title.text == "a"
    fig2 = charts.vectors_figure(
        x[:, :2], TOKENS, z[:2], 0, title="v", axis_titles=["p1", "p2"], from_origin=False
    )
    assert fig2.data[-1].type == "scatter" and len(fig2.data) == 2
    assert fig2.layout.xaxis.title.text == "p1"
    assert list(fig2.data[0].text) == TOKENS


def test_normalization_bars_name_every_gap():
    from attention import normalize  # imported here to keep this test self-contained

    scores = torch.tensor([2.0, -1.0, 0.0, 3.0, -4.0])  # adds up to exactly 0
    weights = {method: normalize(scores, method) for method in ("sum", "naive_softmax", "softmax")}
    fig = charts.normalization_bars(weights, ["x1", "x2", "x3", "x4", "x5"], title="row")
    assert fig.layout.title.text == "row"
    assert fig.layout.xaxis.title.text == "entry j of the row"
    assert fig.layout.yaxis.title.text == "weight"
    assert [trace.name for trace in fig.data] == [
        "sum normalisation",
        "naive softmax",
        "softmax (stable)",
    ]
    assert list(fig.data[0].y) == [None] * 5  # inf, -inf, NaN, inf, -inf: no bars
    assert list(fig.data[0].text) == [""] * 5
    torch.testing.assert_close(
        torch.tensor(fig.data[2].y, dtype=torch.float64), torch.softmax(scores.double(), -1)
    )
    assert fig.data[2].text[3] == f"{float(weights['softmax'][3]):.4f}"
    assert "%{y:.4f}" in fig.data[2].hovertemplate
    marks = [(a.text, a.x) for a in fig.layout.annotations]
    assert [text for text, _ in marks] == ["inf", "-inf", "NaN", "inf", "-inf"]
    # Each word stands under its own (sum normalisation, the first) bar of its group.
    assert all(j - 0.5 < x < j for j, (_, x) in enumerate(marks))
    finite = charts.normalization_bars(
        {"softmax": torch.softmax(scores, -1)}, ["a", "b", "c", "d", "e"], title="ok"
    )
    assert not finite.layout.annotations
    many = charts.normalization_bars(
        {"softmax": torch.softmax(torch.arange(9.0), -1)}, "abcdefghi", title="9"
    )
    assert many.data[0].text is None and "%{y:.4f}" in many.data[0].hovertemplate


def test_weights_by_query_has_a_slider_over_every_row():
    weights = simple_attention(seed_inputs()).attn_weights
    fig = charts.weights_by_query(weights, TOKENS, 2)
    assert len(fig.data) == len(TOKENS)
    for i, bar in enumerate(fig.data):
        assert torch.allclose(
            torch.tensor(bar.y, dtype=torch.float64), weights[i].double(), atol=1e-7
        )
        assert bar.visible is (i == 2)
        assert bar.name == f"query {i + 1}: {TOKENS[i]}"
        assert list(bar.marker.pattern.shape).count("x") == 1  # the query's own bar
        assert bar.marker.pattern.shape[i] == "x"
        assert bar.text[0] == f"{float(weights[i, 0]):.4f}"
    (slider,) = fig.layout.sliders
    assert slider.active == 2
    assert [step.label for step in slider.steps] == ["1", "2", "3", "4", "5"]
    assert slider.steps[4].args[0]["visible"] == [False, False, False, False, True]
    assert slider.steps[4].args[1]["title.text"].replace("<br>", " ").endswith("5: Embedding</b>")
    assert fig.layout.yaxis.range[1] == pytest.approx(float(weights.max()) * 1.15)
    assert title(fig) == "Attention weights of the query 3: drives"


def test_tokens_stay_out_of_hover_templates():
    """Plotly substitutes %{...} in a hovertemplate, so token text must never be part of one:
    the templates are the same whatever the tokens are."""
    x = torch.randn(3, 2)
    steps = simple_attention(x)
    walk = query_walkthrough(x, 0)

    def templates(tokens: list[str]) -> list[str]:
        figures = [
            charts.attention_heatmap(steps.attn_weights, tokens, title="t", value_name="w"),
            charts.weights_by_query(steps.attn_weights, tokens),
            charts.scores_bar(walk.attn_scores, tokens, 0),
            charts.weights_grouped_bar(
                {m: n.weights for m, n in walk.normalized.items()}, tokens, 0
            ),
            charts.mask_heatmap(torch.ones(3, 3, dtype=torch.bool).triu(1), tokens, title="m"),
        ]
        return [trace.hovertemplate for fig in figures for trace in fig.data]

    assert templates(["%{y}", "%{x}<b>", "a"]) == templates(["p", "q", "r"])


def test_margins_fit_the_longest_label():
    short = charts.attention_heatmap(torch.eye(2), ["a", "b"], title="t", value_name="w")
    long = charts.attention_heatmap(torch.eye(2), ["a", "x" * 24], title="t", value_name="w")
    assert long.layout.margin.l > short.layout.margin.l + 100
    # escaped characters count once: "&lt;" is one character on screen
    escaped = charts.attention_heatmap(torch.eye(2), ["<<<<", "b"], title="t", value_name="w")
    four = charts.attention_heatmap(torch.eye(2), ["aaaa", "b"], title="t", value_name="w")
    assert escaped.layout.margin.l == four.layout.margin.l


@pytest.mark.parametrize("T", [5, 32, 33, 64])
def test_cell_lines_only_while_cells_are_large(T):
    """Lines between cells up to charts.style.MAX_CELL_GAPS tokens; beyond, none (plotly.js
    then draws one pixel per cell, several times faster)."""
    tokens = [f"t{i}" for i in range(T)]
    weights = torch.softmax(torch.randn(T, T), dim=-1)
    figures = [
        charts.attention_heatmap(weights, tokens, title="A", value_name="weight"),
        charts.mask_heatmap(torch.ones(T, T).triu(1).bool(), tokens, title="mask"),
    ]
    for figure in figures:
        trace = figure.data[0]
        expected = 1 if T <= charts.style.MAX_CELL_GAPS else None
        assert (trace.xgap, trace.ygap) == (expected, expected)
