"""Two settings side by side: one colour range for both, the difference centred at 0."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import charts
from attention import SEED_TOKENS, causal_attention, init_linear_qkv, seed_inputs
from attention import trainable_attention as trainable
from attention.trainable import init_qkv_weights
from charts import style
from charts.compare import DIFFERENCE_COLORSCALE, compare_heatmaps, comparison, symmetric_range

TOKENS = list(SEED_TOKENS)


def z_tensor(fig) -> torch.Tensor:
    """A heatmap's z as a float64 tensor, None (gaps) as NaN."""
    return torch.tensor(
        [[math.nan if v is None else v for v in row] for row in fig.data[0].z],
        dtype=torch.float64,
    )


def holds(fig, tensor: torch.Tensor) -> bool:
    finite = tensor[tensor.isfinite()].double()
    trace = fig.data[0]
    return bool(((finite >= trace.zmin) & (finite <= trace.zmax)).all())


def seed_pair() -> tuple[torch.Tensor, torch.Tensor]:
    """Lesson 2's scaled vs unscaled weights on the seed example."""
    x = seed_inputs()
    w = init_qkv_weights(3, 2, 123)
    return trainable(x, w).attn_weights, trainable(x, w, scale=1.0).attn_weights


def test_difference_is_a_minus_b_centred_at_zero_on_a_symmetric_range():
    a, b = seed_pair()
    _first, _second, third = compare_heatmaps(a, b, TOKENS, ("scaled", "unscaled"))
    assert torch.allclose(z_tensor(third), a.double() - b.double(), atol=1e-12, rtol=0)
    trace = third.data[0]
    assert trace.zmid == 0
    assert trace.zmin == -trace.zmax and trace.zmax > 0
    assert trace.colorscale == go.Heatmap(colorscale=DIFFERENCE_COLORSCALE).colorscale
    assert holds(third, a.double() - b.double())
    assert third.layout.title.text == "Difference: scaled − unscaled"


def test_both_settings_share_one_range_that_holds_every_value():
    a, b = seed_pair()
    first, second, _ = compare_heatmaps(a, b, TOKENS, ("scaled", "unscaled"))
    assert (first.data[0].zmin, first.data[0].zmax) == (second.data[0].zmin, second.data[0].zmax)
    assert first.data[0].zmin == 0  # weights start at 0
    assert holds(first, a) and holds(second, b) and holds(first, b)
    assert torch.allclose(z_tensor(first), a.double(), atol=1e-7)
    assert torch.allclose(z_tensor(second), b.double(), atol=1e-7)


def test_scores_with_minus_inf_leave_gaps_and_keep_the_ranges_finite():
    steps = causal_attention(seed_inputs(), *init_linear_qkv(3, 2, 789))
    a, b = steps.masked_scores, steps.attn_scores
    first, _second, third = compare_heatmaps(
        a, b, TOKENS, ("masked", "unmasked", "masked − unmasked"), value_name="score", weights=False
    )
    z = third.data[0].z
    assert z[0][1] is None and z[1][0] is not None  # -inf - finite: a gap, not a colour
    assert all(math.isfinite(v) for v in (third.data[0].zmin, third.data[0].zmax))
    assert holds(first, a) and holds(first, b) and holds(third, a - b)
    assert first.data[0].zmin < 0 or b.min() >= 0
    assert third.layout.title.text == "masked − unmasked"


@settings(deadline=None, max_examples=40)
@given(
    st.integers(1, 7).flatmap(
        lambda T: st.tuples(
            st.lists(st.floats(-50, 50), min_size=T * T, max_size=T * T),
            st.lists(st.floats(-50, 50), min_size=T * T, max_size=T * T),
            st.just(T),
        )
    )
)
def test_random_matrices_difference_and_ranges(data):
    values_a, values_b, T = data
    a = torch.tensor(values_a, dtype=torch.float32).view(T, T)
    b = torch.tensor(values_b, dtype=torch.float32).view(T, T)
    tokens = [f"t{i}" for i in range(T)]
    first, second, third = compare_heatmaps(a, b, tokens, ("a", "b"), weights=False)
    difference = a.double() - b.double()
    assert torch.allclose(z_tensor(third), difference, atol=1e-12, rtol=0)
    assert third.data[0].zmid == 0 and third.data[0].zmin == -third.data[0].zmax
    assert holds(third, difference)
    for fig in (first, second):
        assert holds(fig, a) and holds(fig, b)


def test_symmetric_range_of_all_zeros_and_of_no_finite_value():
    assert symmetric_range(torch.zeros(3, 3)) == (-1.0, 1.0)
    assert symmetric_range(torch.full((2, 2), math.nan)) == (-1.0, 1.0)
    lo, hi = symmetric_range(torch.tensor([[-0.3189, 0.1]]))
    assert lo == -hi and hi >= 0.3189


def test_compare_rejects_different_shapes_and_wrong_titles():
    with pytest.raises(ValueError, match="compare"):
        comparison(torch.zeros(2, 2), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="titles"):
        compare_heatmaps(torch.zeros(2, 2), torch.zeros(2, 2), ["a", "b"], ("only one",))


def test_tokens_are_escaped_and_alt_text_is_plain():
    tokens = ["<b>x</b>", "&", "a", "b", "c"]
    a, b = seed_pair()
    figures = compare_heatmaps(a, b, tokens, ("scaled", "unscaled"))
    for fig in figures:
        assert "&lt;b&gt;x&lt;/b&gt;" in fig.data[0].y[0]
        assert "<b>" not in "".join(fig.data[0].x)
        text = charts.alt_text(fig)
        assert len(text) > 20
    third = charts.alt_text(figures[2])
    assert "centred at 0" in third and "difference of weights" in third


@pytest.mark.parametrize("index", [0, 1, 2])
def test_present_mode_and_template(index):
    a, b = seed_pair()
    normal = compare_heatmaps(a, b, TOKENS, ("a", "b"))[index]
    present = compare_heatmaps(a, b, TOKENS, ("a", "b"), present=True)[index]
    assert normal.layout.font.size is None
    assert present.layout.font.size == charts.CHART_FONT_PX
    assert present.layout.title.font.size == charts.TITLE_FONT_PX
    assert present.layout.height > normal.layout.height
    assert present.data[0].textfont.size == charts.CHART_FONT_PX
    assert present.data[0].colorbar.tickfont.size == charts.CHART_FONT_PX
    assert normal.layout.template.data.scatter
    assert (
        normal.layout.template.to_plotly_json() == pio.templates["plotly"].to_plotly_json()
        or normal.layout.template.layout.to_plotly_json() == style.template()["layout"]
    )


def test_cell_numbers_are_signed_and_hidden_for_big_matrices():
    a, b = seed_pair()
    third = compare_heatmaps(a, b, TOKENS, ("a", "b"))[2]
    assert "+" in third.data[0].texttemplate and "+" in third.data[0].hovertemplate
    big = torch.rand(20, 20)
    third = compare_heatmaps(big, big.flip(0), [str(i) for i in range(20)], ("a", "b"))[2]
    assert third.data[0].texttemplate is None


def test_cell_click_layer_covers_every_cell_and_outlines_the_chosen_one():
    from charts.heatmaps import CLICK_TRACE, attention_heatmap, with_cell_click

    matrix = torch.rand(4, 4)
    figure = attention_heatmap(matrix, list("abcd"), title="t", value_name="weight")
    with_cell_click(figure, (2, 1))
    heat, points = figure.data
    assert points.name == CLICK_TRACE and points.marker.opacity == 0
    # point i * S + j sits on cell (i, j) and carries its value for the hover
    for index in range(16):
        i, j = divmod(index, 4)
        assert (points.y[index], points.x[index]) == (heat.y[i], heat.x[j])
        assert points.customdata[index] == pytest.approx(float(matrix[i, j]), abs=1e-6)
    row, column, cell = figure.layout.shapes
    assert (row.y0, row.y1, row.x0, row.x1) == (1.5, 2.5, -0.5, 3.5)
    assert (column.x0, column.x1, column.y0, column.y1) == (0.5, 1.5, -0.5, 3.5)
    assert (cell.x0, cell.y0) == (0.5, 1.5)
    assert "customdata" in points.hovertemplate and "%{z" not in points.hovertemplate


def test_cell_click_layer_without_a_cell_has_no_outline():
    from charts.heatmaps import attention_heatmap, with_cell_click

    figure = with_cell_click(
        attention_heatmap(torch.rand(3, 3), list("abc"), title="t", value_name="weight")
    )
    assert len(figure.data) == 2 and not figure.layout.shapes
