"""Cross-check the attention core against torch.nn.functional.scaled_dot_product_attention."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import attention
from attention.scaled import causal_mask, merge_heads, scaled_dot_product, split_heads

ATOL = 1e-5


def random_inputs(T: int, d: int, seed: int, *lead: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*lead, T, d, generator=generator) * 0.5


def sdpa(q, k, v, **kwargs) -> torch.Tensor:
    return F.scaled_dot_product_attention(q, k, v, **kwargs)


SHAPES = [(1, 1), (1, 64), (256, 1), (256, 64), (2, 2), (5, 3), (17, 8), (64, 32), (100, 13)]


@pytest.mark.parametrize(("T", "d"), SHAPES)
def test_simple_attention_matches_sdpa_with_unit_scale(T, d):
    x = random_inputs(T, d, seed=T * 1000 + d)
    steps = attention.simple_attention(x)
    assert steps.context_vecs.shape == (T, d)
    torch.testing.assert_close(steps.context_vecs, sdpa(x, x, x, scale=1.0), atol=ATOL, rtol=0)


def test_simple_attention_matches_sdpa_on_the_seed():
    x = attention.seed_inputs()
    torch.testing.assert_close(
        attention.simple_attention(x).context_vecs, sdpa(x, x, x, scale=1.0), atol=ATOL, rtol=0
    )


@settings(deadline=None, max_examples=40)
@given(
    T=st.integers(min_value=1, max_value=256),
    d=st.integers(min_value=1, max_value=64),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
)
def test_simple_attention_matches_sdpa_for_any_shape(T, d, seed):
    x = random_inputs(T, d, seed)
    torch.testing.assert_close(
        attention.simple_attention(x).context_vecs, sdpa(x, x, x, scale=1.0), atol=ATOL, rtol=0
    )


@pytest.mark.parametrize(("T", "d"), [(1, 1), (5, 3), (7, 16), (64, 64)])
def test_scaled_dot_product_default_scale_matches_sdpa(T, d):
    q, k, v = (random_inputs(T, d, seed, 2) for seed in (1, 2, 3))
    steps = scaled_dot_product(q, k, v)
    torch.testing.assert_close(steps.context_vecs, sdpa(q, k, v), atol=ATOL, rtol=0)
    torch.testing.assert_close(
        steps.attn_scores, q @ k.transpose(-2, -1) / math.sqrt(d), atol=ATOL, rtol=0
    )
    torch.testing.assert_close(steps.attn_weights.sum(-1), torch.ones(2, T), atol=ATOL, rtol=0)


@pytest.mark.parametrize(("T", "d_k", "d_v"), [(1, 1, 1), (5, 2, 2), (6, 8, 3), (128, 16, 32)])
def test_causal_scaled_dot_product_matches_sdpa_is_causal(T, d_k, d_v):
    q = random_inputs(T, d_k, 10, 2, 3)  # (batch, heads, T, d_k)
    k = random_inputs(T, d_k, 11, 2, 3)
    v = random_inputs(T, d_v, 12, 2, 3)
    mask = causal_mask(T)
    steps = scaled_dot_product(q, k, v, mask=mask)
    torch.testing.assert_close(steps.context_vecs, sdpa(q, k, v, is_causal=True), atol=ATOL, rtol=0)
    torch.testing.assert_close(
        steps.context_vecs, sdpa(q, k, v, attn_mask=~mask), atol=ATOL, rtol=0
    )
    # No weight on the future, and each row still sums to 1.
    assert bool((steps.attn_weights.masked_select(mask.expand_as(steps.attn_weights)) == 0).all())
    torch.testing.assert_close(steps.attn_weights.sum(-1), torch.ones(2, 3, T), atol=ATOL, rtol=0)


def test_causal_mask_shape_and_values():
    torch.testing.assert_close(
        causal_mask(3),
        torch.tensor([[False, True, True], [False, False, True], [False, False, False]]),
        atol=0,
        rtol=0,
    )
    assert causal_mask(2, 4).shape == (2, 4)
    assert causal_mask(2, 4).tolist() == [[False, True, True, True], [False, False, True, True]]


def test_scaled_dot_product_custom_scale_matches_sdpa():
    q, k, v = (random_inputs(9, 4, seed) for seed in (4, 5, 6))
    steps = scaled_dot_product(q, k, v, scale=0.3)
    torch.testing.assert_close(steps.context_vecs, sdpa(q, k, v, scale=0.3), atol=ATOL, rtol=0)


def test_fully_blocked_row_gives_zero_weights_not_nan():
    q, k, v = (random_inputs(3, 2, seed) for seed in (7, 8, 9))
    mask = torch.tensor([[True, True, True], [False, True, True], [False, False, False]])
    steps = scaled_dot_product(q, k, v, mask=mask)
    assert not torch.isnan(steps.attn_weights).any()
    torch.testing.assert_close(steps.attn_weights[0], torch.zeros(3), atol=0, rtol=0)
    torch.testing.assert_close(steps.context_vecs[0], torch.zeros(2), atol=0, rtol=0)
    torch.testing.assert_close(steps.attn_weights[1], torch.tensor([1.0, 0.0, 0.0]), atol=0, rtol=0)


@pytest.mark.parametrize(
    ("lead", "T", "h", "hd"), [((), 5, 2, 3), ((2,), 4, 4, 1), ((2, 3), 1, 1, 8)]
)
def test_split_and_merge_heads_round_trip(lead, T, h, hd):
    x = torch.randn(*lead, T, h * hd, generator=torch.Generator().manual_seed(0))
    heads = split_heads(x, h)
    assert heads.shape == (*lead, h, T, hd)
    for head in range(h):
        torch.testing.assert_close(
            heads[..., head, :, :], x[..., head * hd : (head + 1) * hd], atol=0, rtol=0
        )
    torch.testing.assert_close(merge_heads(heads), x, atol=0, rtol=0)


def test_split_heads_rejects_indivisible_width():
    with pytest.raises(ValueError, match="divisible"):
        split_heads(torch.zeros(3, 10), 4)


def test_multi_head_attention_via_split_merge_matches_sdpa_per_head():
    x = random_inputs(6, 8, 21, 2)  # (batch, T, h * hd)
    heads = split_heads(x, 4)  # (batch, h, T, hd)
    merged = merge_heads(scaled_dot_product(heads, heads, heads).context_vecs)
    expected = torch.cat(
        [
            sdpa(
                x[..., i * 2 : (i + 1) * 2],
                x[..., i * 2 : (i + 1) * 2],
                x[..., i * 2 : (i + 1) * 2],
            )
            for i in range(4)
        ],
        dim=-1,
    )
    torch.testing.assert_close(merged, expected, atol=ATOL, rtol=0)
