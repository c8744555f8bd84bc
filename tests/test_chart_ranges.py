"""No chart draws a value outside its colour or axis range (Hypothesis), whatever the values:
dropout-scaled weights up to 1/(1-p) with p up to 0.9, negative scores, big values, inf, NaN."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import charts
from attention import apply_dropout, seed_inputs, simple_attention

PROPERTY_SETTINGS = settings(deadline=None, max_examples=60)
SPECIAL = (math.inf, -math.inf, math.nan)


@st.composite
def matrices(draw, special: bool = True) -> torch.Tensor:
    """A (T, S) float32 tensor: moderate, negative, big, and (maybe) inf/NaN entries."""
    T = draw(st.integers(1, 9))
    S = draw(st.integers(1, 9))
    scale = draw(st.sampled_from([1e-4, 1.0, 30.0, 1e4]))
    finite = st.floats(-1.0, 1.0, allow_nan=False, width=32).map(lambda v: v * scale)
    entry = st.one_of(finite, st.sampled_from(SPECIAL)) if special else finite
    flat = draw(st.lists(entry, min_size=T * S, max_size=T * S))
    return torch.tensor(flat, dtype=torch.float32).reshape(T, S)


@st.composite
def dropped_weights(draw) -> torch.Tensor:
    """Softmax weights after dropout with p up to 0.9: kept entries reach 1/(1-p) = 10."""
    T = draw(st.integers(1, 9))
    p = draw(st.floats(0.0, 0.9))
    scores = torch.randn(T, T, generator=torch.Generator().manual_seed(draw(st.integers(0, 99))))
    return apply_dropout(
        torch.softmax(scores * 3, -1), p, draw(st.integers(0, 999))
    ).dropped_weights


def finite_z(trace) -> list[float]:
    return [v for row in trace.z for v in row if v is not None]


def finite_y(fig) -> list[float]:
    return [v for trace in fig.data for v in trace.y if v is not None]


def assert_inside(values: list[float], lo: float, hi: float) -> None:
    assert lo < hi
    assert all(lo <= v <= hi for v in values), (lo, hi, min(values), max(values))


def tokens_for(n: int) -> list[str]:
    return [f"t{i}" for i in range(n)]


@PROPERTY_SETTINGS
@given(matrices(), st.sampled_from([None, "max", "unit", "data"]), st.booleans())
def test_heatmap_values_lie_inside_the_colour_range(matrix, zrange, weights):
    T, S = matrix.shape
    fig = charts.attention_heatmap(
        matrix,
        tokens_for(T),
        key_tokens=tokens_for(S),
        title="t",
        value_name="v",
        weights=weights,
        zrange=zrange,
    )
    heatmap = fig.data[0]
    assert math.isfinite(heatmap.zmin) and math.isfinite(heatmap.zmax)
    assert_inside(finite_z(heatmap), heatmap.zmin, heatmap.zmax)
    assert len(finite_z(heatmap)) == int(matrix.isfinite().sum())  # inf/NaN are gaps


@PROPERTY_SETTINGS
@given(dropped_weights(), st.sampled_from([None, "max", "unit"]))
def test_dropout_scaled_weights_stay_inside_the_colour_range(weights, zrange):
    T = weights.shape[0]
    fig = charts.attention_heatmap(weights, tokens_for(T), title="d", value_name="w", zrange=zrange)
    assert_inside(finite_z(fig.data[0]), fig.data[0].zmin, fig.data[0].zmax)


@PROPERTY_SETTINGS
@given(matrices(special=False), matrices(special=False))
def test_a_shared_range_holds_both_tensors_and_a_too_small_one_is_widened(a, b):
    lo, hi = charts.shared_range(a, b)
    for m in (a, b):
        n = m.shape[1]
        fig = charts.attention_heatmap(
            m,
            tokens_for(m.shape[0]),
            key_tokens=tokens_for(n),
            title="s",
            value_name="v",
            weights=False,
            zrange=(lo, hi),
        )
        assert (fig.data[0].zmin, fig.data[0].zmax) == (lo, hi)  # exactly the shared range
        narrow = charts.attention_heatmap(
            m,
            tokens_for(m.shape[0]),
            key_tokens=tokens_for(n),
            title="s",
            value_name="v",
            zrange=(0.0, 1e-9),
        )
        assert_inside(finite_z(narrow.data[0]), narrow.data[0].zmin, narrow.data[0].zmax)


@PROPERTY_SETTINGS
@given(matrices(), st.integers(0, 8), st.one_of(st.none(), st.floats(0.0, 20.0)))
def test_bar_axes_hold_every_bar(matrix, query, y_max):
    T = matrix.shape[1]
    row = matrix[0]
    query = min(query, T - 1)
    tokens = tokens_for(T)
    figures = [
        charts.scores_bar(row, tokens, query),
        charts.weights_bar(row, tokens, query, y_max),
        charts.query_bar(row, tokens, query, title="t", value_name="v", y_title="v"),
        charts.weights_by_query(torch.stack([row.roll(k) for k in range(T)]), tokens, query),
        charts.weights_grouped_bar({"sum": row, "softmax": torch.softmax(row, -1)}, tokens, 0),
        charts.normalization_bars({"naive_softmax": row * 3}, tokens, title="n"),
    ]
    for fig in figures:
        lo, hi = fig.layout.yaxis.range
        assert math.isfinite(lo) and math.isfinite(hi)
        values = finite_y(fig)
        if values:
            assert_inside(values, lo, hi)
    if y_max is not None:
        assert figures[1].layout.yaxis.range[1] >= y_max


def test_seed_weights_get_a_range_that_shows_their_pattern():
    """Issue: with 0..1 the seed's weights (0.10 to 0.32) were one flat colour."""
    weights = simple_attention(seed_inputs()).attn_weights
    fig = charts.attention_heatmap(
        weights, list("abcde"), title="w", value_name="weight", zrange="max"
    )
    heatmap = fig.data[0]
    top = float(weights.max())
    assert heatmap.zmin == 0.0
    assert top <= heatmap.zmax <= top + 0.01  # the largest weight, rounded up to 2 digits
    assert heatmap.zmax == pytest.approx(0.32)
    assert heatmap.colorbar.title.text == "weight<br>(0 to 0.32)"


def test_unit_range_stays_0_to_1_unless_a_weight_exceeds_1():
    weights = simple_attention(seed_inputs()).attn_weights
    fig = charts.attention_heatmap(
        weights, list("abcde"), title="w", value_name="weight", zrange="unit"
    )
    assert (fig.data[0].zmin, fig.data[0].zmax) == (0.0, 1.0)
    assert fig.data[0].colorbar.title.text == "weight<br>(0 to 1)"
    dropped = apply_dropout(weights, 0.9, 123).dropped_weights  # kept weights x 10
    assert float(dropped.max()) > 1.0
    fig = charts.attention_heatmap(dropped, list("abcde"), title="d", value_name="weight")
    assert fig.data[0].zmax >= float(dropped.max())


def test_shared_range_rounds_outward_and_starts_at_zero_on_request():
    a, b = torch.tensor([[0.4216, 1.5]]), torch.tensor([[-0.2, 0.9]])
    assert charts.shared_range(a, b) == pytest.approx((-0.2, 1.5))
    assert charts.shared_range(a) == pytest.approx((0.4, 1.5))
    assert charts.shared_range(a, from_zero=True) == pytest.approx((0.0, 1.5))
    assert charts.shared_range(torch.tensor([math.nan, math.inf])) == (0.0, 1.0)
    lo, hi = charts.shared_range(torch.tensor([2.0, 2.0]))  # one value: a range around it
    assert lo < 2.0 < hi
