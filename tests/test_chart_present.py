"""Presentation size, the template and the text alternatives, built into every figure."""

from __future__ import annotations

import plotly.io as pio
import pytest
import torch

import charts
from attention import SEED_TOKENS, query_walkthrough, seed_inputs, simple_attention
from charts import style

TOKENS = list(SEED_TOKENS)


def builders():
    """Every public builder, called on the seed example: name -> (present -> figure)."""
    x = seed_inputs()
    steps = simple_attention(x)
    walk = query_walkthrough(x, 0)
    weights = {m: n.weights for m, n in walk.normalized.items()}
    d_ks = torch.tensor([1, 4, 16, 64])
    mask = torch.ones(5, 5, dtype=torch.bool).triu(1)
    heads = torch.softmax(torch.randn(2, 3, 5, 5), -1)
    return {
        "attention_heatmap": lambda p: charts.attention_heatmap(
            steps.attn_weights, TOKENS, title="w", value_name="weight", present=p
        ),
        "mask_heatmap": lambda p: charts.mask_heatmap(mask, TOKENS, title="m", present=p),
        "scores_bar": lambda p: charts.scores_bar(walk.attn_scores, TOKENS, 0, present=p),
        "weights_bar": lambda p: charts.weights_bar(walk.attn_weights, TOKENS, 0, present=p),
        "query_bar": lambda p: charts.query_bar(
            walk.attn_scores, TOKENS, 0, title="q", value_name="s", y_title="s", present=p
        ),
        "weights_by_query": lambda p: charts.weights_by_query(
            steps.attn_weights, TOKENS, present=p
        ),
        "grouped_bars": lambda p: charts.grouped_bars(
            {"a": walk.attn_scores}, TOKENS, title="g", y_title="v", present=p
        ),
        "weights_grouped_bar": lambda p: charts.weights_grouped_bar(weights, TOKENS, 0, present=p),
        "normalization_bars": lambda p: charts.normalization_bars(
            weights, TOKENS, title="n", present=p
        ),
        "variance_chart": lambda p: charts.variance_chart(
            d_ks, d_ks.double(), torch.ones(4), present=p
        ),
        "vectors_figure": lambda p: charts.vectors_figure(
            x,
            TOKENS,
            steps.context_vecs[0],
            0,
            title="v",
            axis_titles="abc",
            from_origin=True,
            present=p,
        ),
        "head_grid": lambda p: charts.head_grid(heads, present=p),
        "attention_lines": lambda p: charts.attention_lines(
            steps.attn_weights, TOKENS, 0, title="l", present=p
        ),
    }


BUILDERS = builders()


@pytest.mark.parametrize("name", BUILDERS)
def test_present_makes_every_text_projector_size_and_the_figure_taller(name):
    normal, present = BUILDERS[name](False), BUILDERS[name](True)
    assert normal.layout.font.size is None  # the app's theme decides
    assert present.layout.font.size == charts.CHART_FONT_PX == 18
    assert present.layout.title.font.size == charts.TITLE_FONT_PX == 24
    assert present.layout.hoverlabel.font.size >= 18
    assert present.layout.height > normal.layout.height
    assert present.layout.margin.l >= normal.layout.margin.l
    assert present.layout.margin.b >= normal.layout.margin.b
    for axis in (present.layout.xaxis, present.layout.yaxis):
        if axis.title.text:
            assert axis.tickfont.size == 18 and axis.title.font.size == 18
    for trace in present.data:
        if trace.type in ("bar", "heatmap"):
            assert trace.textfont.size == 18
        if trace.type == "heatmap" and trace.showscale is not False:
            assert trace.colorbar.tickfont.size == 18
    for note in present.layout.annotations:
        assert note.font.size == 18
    for slider in present.layout.sliders:
        assert slider.font.size == 18
        assert slider.pad.t > normal.layout.sliders[0].pad.t


@pytest.mark.parametrize("name", BUILDERS)
def test_every_figure_sets_its_template_and_a_text_alternative(name):
    fig = BUILDERS[name](False)
    assert fig.layout.template.data.scatter  # set explicitly, not Plotly's default
    assert (
        fig.layout.template.to_plotly_json() == pio.templates["plotly"].to_plotly_json()
        or fig.layout.template.layout.to_plotly_json() == style.template()["layout"]
    )
    text = charts.alt_text(fig)
    assert len(text) > 20 and "<" not in text
    # the alternative is never part of what Plotly renders or substitutes
    templates = [getattr(t, "hovertemplate", None) or "" for t in fig.data]
    assert not any("meta" in t for t in templates)


def test_the_template_follows_streamlit_when_it_is_registered():
    registered = "streamlit" in pio.templates
    template = style.template()
    if registered:
        colorway = pio.templates["streamlit"].layout.colorway
        assert tuple(template["layout"]["colorway"]) == tuple(colorway)
    else:
        assert template["layout"] == {}
    ((scatter,),) = template["data"].values()  # only the scatter defaults
    assert scatter["marker"] == {"line": {"width": 0}}
    assert style.template() is template  # built once


def test_titles_wrap_at_spaces_and_never_inside_a_label():
    lines = style.wrap_title("Attention weights a(1, j) for the query 1: Attention &amp; more")
    assert all(len(line.replace("&amp;", "&")) <= style.TITLE_CHARS for line in lines)
    assert any("1: Attention" in line for line in lines)
    assert " ".join(lines) == "Attention weights a(1, j) for the query 1: Attention &amp; more"


def test_alt_text_names_each_querys_top_key_with_its_weight():
    weights = simple_attention(seed_inputs()).attn_weights
    fig = charts.attention_heatmap(weights, TOKENS, title="w", value_name="weight", zrange="max")
    text = charts.alt_text(fig)
    for i in range(len(TOKENS)):
        j = int(weights[i].argmax())
        assert f"{i + 1}: {TOKENS[i]} → {j + 1}: {TOKENS[j]} ({float(weights[i, j]):.4f})" in text
    assert "colour range 0 to 0.32" in text
    # "Attention" gives its largest weight to "drives", not to itself (issue: dot product)
    assert "1: Attention → 3: drives" in text


def test_alt_text_of_a_big_heatmap_names_the_largest_weight_overall():
    T = 20
    weights = torch.full((T, T), 0.01)
    weights[7, 13] = 0.9
    fig = charts.attention_heatmap(
        weights, [f"t{i}" for i in range(T)], title="w", value_name="weight", zrange="max"
    )
    assert "query 8: t7, key 14: t13 (0.9000)" in charts.alt_text(fig)


def test_alt_text_keeps_tokens_as_typed_and_bars_name_their_extremes():
    tokens = ["<b>x</b>", "a&b", "c"]
    fig = charts.scores_bar(torch.tensor([0.5, 2.0, -1.0]), tokens, 0)
    text = charts.alt_text(fig)
    assert "query 1: <b>x</b>" not in fig.layout.title.text  # Plotly text is escaped ...
    assert "Largest: key 2: a&b (2.0000); smallest: key 3: c (-1.0000)" in text  # ... alt is not


def test_alt_text_says_when_a_row_is_all_zero_after_dropout():
    weights = torch.tensor([[0.0, 0.0], [0.0, 2.0]])
    text = charts.alt_text(
        charts.attention_heatmap(weights, ["a", "b"], title="d", value_name="weight")
    )
    assert "1: a: all keys 0.0000" in text and "2: b → 2: b (2.0000)" in text
