"""Property tests of simple self-attention (Hypothesis)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import attention

PROPERTY_SETTINGS = settings(deadline=None, max_examples=50)
ATOL = 1e-5
# Scores grow with d and the entries' size, so compare them relative too (float32 eps ~1.2e-7).
SCORE_RTOL = 1.3e-6

values = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, width=32)


@st.composite
def inputs(draw, max_tokens: int = 8, max_dim: int = 6) -> torch.Tensor:
    """A (T, d) float32 tensor with moderate entries."""
    T = draw(st.integers(min_value=1, max_value=max_tokens))
    d = draw(st.integers(min_value=1, max_value=max_dim))
    flat = draw(st.lists(values, min_size=T * d, max_size=T * d))
    return torch.tensor(flat, dtype=torch.float32).reshape(T, d)


@st.composite
def score_rows(draw) -> torch.Tensor:
    """A (rows, T) float32 tensor of scores in -20..20."""
    rows = draw(st.integers(min_value=1, max_value=4))
    T = draw(st.integers(min_value=1, max_value=10))
    scores = st.floats(min_value=-20.0, max_value=20.0, allow_nan=False, width=32)
    flat = draw(st.lists(scores, min_size=rows * T, max_size=rows * T))
    return torch.tensor(flat, dtype=torch.float32).reshape(rows, T)


@PROPERTY_SETTINGS
@given(inputs())
def test_softmax_rows_sum_to_one_and_lie_in_unit_interval(x):
    weights = attention.simple_attention(x).attn_weights
    T = x.shape[0]
    assert weights.shape == (T, T)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(T), atol=ATOL, rtol=0)
    assert bool(((weights >= 0) & (weights <= 1)).all())


@PROPERTY_SETTINGS
@given(score_rows(), st.floats(min_value=-50.0, max_value=50.0, allow_nan=False))
def test_softmax_is_shift_invariant(scores, shift):
    # float64 so that s + c is exact enough to isolate the property from rounding.
    scores = scores.to(torch.float64)
    shifted = attention.normalize(scores + shift, "softmax")
    torch.testing.assert_close(shifted, attention.normalize(scores, "softmax"), atol=1e-9, rtol=0)


@PROPERTY_SETTINGS
@given(score_rows(), st.floats(min_value=-5.0, max_value=5.0, allow_nan=False))
def test_softmax_is_shift_invariant_in_float32(scores, shift):
    shifted = attention.normalize(scores + shift, "softmax")
    torch.testing.assert_close(shifted, attention.normalize(scores, "softmax"), atol=ATOL, rtol=0)


@PROPERTY_SETTINGS
@given(score_rows())
def test_naive_softmax_agrees_with_softmax_for_moderate_scores(scores):
    torch.testing.assert_close(
        attention.normalize(scores, "naive_softmax"),
        attention.normalize(scores, "softmax"),
        atol=ATOL,
        rtol=0,
    )


@PROPERTY_SETTINGS
@given(inputs(), st.randoms(use_true_random=False))
def test_permuting_tokens_permutes_every_step(x, rng):
    T = x.shape[0]
    order = list(range(T))
    rng.shuffle(order)
    perm = torch.tensor(order)
    P = torch.eye(T)[perm]  # P @ x == x[perm]
    steps = attention.simple_attention(x)
    permuted = attention.simple_attention(P @ x)
    torch.testing.assert_close(
        permuted.attn_scores, P @ steps.attn_scores @ P.T, atol=ATOL, rtol=SCORE_RTOL
    )
    torch.testing.assert_close(
        permuted.attn_weights, P @ steps.attn_weights @ P.T, atol=ATOL, rtol=0
    )
    torch.testing.assert_close(permuted.context_vecs, P @ steps.context_vecs, atol=ATOL, rtol=0)


@PROPERTY_SETTINGS
@given(inputs(max_tokens=6), st.data())
def test_identical_tokens_get_identical_rows(x, data):
    T = x.shape[0]
    source = data.draw(st.integers(min_value=0, max_value=T - 1), label="source")
    position = data.draw(st.integers(min_value=0, max_value=T), label="position")
    # Insert a copy of token `source` at `position`.
    x = torch.cat([x[:position], x[source : source + 1], x[position:]])
    a = source + 1 if source >= position else source
    b = position
    torch.testing.assert_close(x[a], x[b], atol=0, rtol=0)
    steps = attention.simple_attention(x)
    torch.testing.assert_close(
        steps.attn_scores[a], steps.attn_scores[b], atol=ATOL, rtol=SCORE_RTOL
    )
    torch.testing.assert_close(steps.attn_weights[a], steps.attn_weights[b], atol=ATOL, rtol=0)
    torch.testing.assert_close(steps.context_vecs[a], steps.context_vecs[b], atol=ATOL, rtol=0)
    # And every query weighs the two copies the same.
    torch.testing.assert_close(
        steps.attn_weights[:, a], steps.attn_weights[:, b], atol=ATOL, rtol=0
    )


@PROPERTY_SETTINGS
@given(inputs(), st.sampled_from(["softmax", "naive_softmax"]))
def test_loop_form_equals_matrix_form(x, method):
    steps = attention.simple_attention(x, method)
    torch.testing.assert_close(
        attention.attn_scores_loop(x), steps.attn_scores, atol=ATOL, rtol=SCORE_RTOL
    )
    torch.testing.assert_close(
        attention.context_vecs_loop(steps.attn_weights, x), steps.context_vecs, atol=ATOL, rtol=0
    )


@PROPERTY_SETTINGS
@given(inputs())
def test_context_vectors_lie_in_the_box_of_the_inputs(x):
    # Each context vector is a convex combination of the input rows.
    context = attention.simple_attention(x).context_vecs
    low, high = x.min(dim=0).values, x.max(dim=0).values
    assert bool((context >= low - ATOL).all())
    assert bool((context <= high + ATOL).all())


@pytest.mark.parametrize("big", [100.0, 1e3, 1e4])
def test_stable_softmax_stays_finite_where_naive_softmax_overflows(big):
    scores = torch.tensor([[big, 0.0, -big], [big, big, 0.0]])
    stable = attention.normalize(scores, "softmax")
    assert torch.isfinite(stable).all()
    torch.testing.assert_close(
        stable, torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]), atol=1e-6, rtol=0
    )
    naive = attention.normalize(scores, "naive_softmax")
    assert not torch.isfinite(naive).all(dim=-1).any(), "exp(big) should overflow float32"


def test_stable_softmax_on_large_attention_inputs():
    x = torch.tensor([[100.0, 0.0], [0.0, 100.0], [70.0, 70.0]])  # scores up to 1e4
    steps = attention.simple_attention(x)
    assert float(steps.attn_scores.max()) == pytest.approx(1e4)
    assert torch.isfinite(steps.attn_weights).all()
    assert torch.isfinite(steps.context_vecs).all()
    naive = attention.simple_attention(x, "naive_softmax")
    assert not torch.isfinite(naive.attn_weights).all()
