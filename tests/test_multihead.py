"""Lesson 4: multi-head attention (attention/multihead.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from attention import (
    MultiHeadAttention,
    MultiHeadAttentionWrapper,
    causal_mask,
    from_wrapper,
    init_multihead,
    multi_head_attention,
    seed_inputs,
)

PROPERTY = settings(max_examples=30, deadline=None)
ATOL = 1e-5


def random_linear_weights(seed: int, d_in: int, d_out: int, bias: bool) -> dict:
    """Weights in nn.Linear orientation (out, in), moderate values."""
    generator = torch.Generator().manual_seed(seed)
    weights = {
        name: torch.randn(d_out, d_in, generator=generator) / d_in**0.5
        for name in ("W_query", "W_key", "W_value")
    }
    weights["W_out"] = torch.randn(d_out, d_out, generator=generator) / d_out**0.5
    for name in ("b_query", "b_key", "b_value", "b_out"):
        weights[name] = torch.randn(d_out, generator=generator) / 4 if bias else None
    return weights


def torch_mha_with(weights: dict, d_model: int, num_heads: int) -> nn.MultiheadAttention:
    """torch.nn.MultiheadAttention holding `weights` (in_proj = cat(W_query, W_key, W_value))."""
    bias = weights["b_query"] is not None
    reference = nn.MultiheadAttention(d_model, num_heads, bias=bias, batch_first=True).eval()
    with torch.no_grad():
        reference.in_proj_weight.copy_(
            torch.cat([weights["W_query"], weights["W_key"], weights["W_value"]])
        )
        reference.out_proj.weight.copy_(weights["W_out"])
        if bias:
            reference.in_proj_bias.copy_(
                torch.cat([weights["b_query"], weights["b_key"], weights["b_value"]])
            )
            reference.out_proj.bias.copy_(weights["b_out"])
    return reference


def run_functional(x, weights, num_heads, mask=None):
    return multi_head_attention(
        x,
        weights["W_query"],
        weights["W_key"],
        weights["W_value"],
        weights["W_out"],
        num_heads,
        b_query=weights["b_query"],
        b_key=weights["b_key"],
        b_value=weights["b_value"],
        b_out=weights["b_out"],
        mask=mask,
    )


# --- functional form vs torch.nn.MultiheadAttention --------------------------------------------


@PROPERTY
@given(
    seed=st.integers(0, 2**31 - 1),
    B=st.integers(1, 3),
    T=st.integers(1, 64),
    num_heads=st.integers(1, 8),
    head_dim=st.integers(1, 4),
    bias=st.booleans(),
    causal=st.booleans(),
)
def test_functional_matches_torch_multihead_attention(
    seed, B, T, num_heads, head_dim, bias, causal
):
    d_model = num_heads * head_dim  # nn.MultiheadAttention needs d_in == d_out
    weights = random_linear_weights(seed, d_model, d_model, bias)
    x = torch.randn(B, T, d_model, generator=torch.Generator().manual_seed(seed + 1))
    mask = causal_mask(T) if causal else None
    steps = run_functional(x, weights, num_heads, mask)
    reference = torch_mha_with(weights, d_model, num_heads)
    with torch.no_grad():
        expected, expected_weights = reference(
            x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False
        )
    assert steps.output.shape == (B, T, d_model)
    assert steps.attn_weights.shape == (B, num_heads, T, T)
    torch.testing.assert_close(steps.output, expected, atol=ATOL, rtol=0)
    torch.testing.assert_close(steps.attn_weights, expected_weights, atol=ATOL, rtol=0)


def test_padding_mask_matches_torch_key_padding_mask():
    num_heads, d_model, B, T = 2, 6, 2, 5
    weights = random_linear_weights(3, d_model, d_model, bias=True)
    x = torch.randn(B, T, d_model, generator=torch.Generator().manual_seed(4))
    key_padding = torch.zeros(B, T, dtype=torch.bool)
    key_padding[1, 3:] = True  # batch item 1 has two padding tokens
    steps = run_functional(x, weights, num_heads, mask=key_padding[:, None, None, :])
    with torch.no_grad():
        expected, expected_weights = torch_mha_with(weights, d_model, num_heads)(
            x, x, x, key_padding_mask=key_padding, average_attn_weights=False
        )
    torch.testing.assert_close(steps.output, expected, atol=ATOL, rtol=0)
    torch.testing.assert_close(steps.attn_weights, expected_weights, atol=ATOL, rtol=0)
    assert bool((steps.attn_weights[1, :, :, 3:] == 0).all())


@PROPERTY
@given(
    seed=st.integers(0, 2**31 - 1),
    T=st.integers(1, 64),
    d_in=st.integers(1, 32),
    num_heads=st.integers(1, 8),
    head_dim=st.integers(1, 4),
    causal=st.booleans(),
)
def test_functional_heads_match_torch_sdpa_for_any_d_in(seed, T, d_in, num_heads, head_dim, causal):
    d_out = num_heads * head_dim
    weights = random_linear_weights(seed, d_in, d_out, bias=True)
    x = torch.randn(T, d_in, generator=torch.Generator().manual_seed(seed + 1))
    steps = run_functional(x, weights, num_heads, causal_mask(T) if causal else None)
    context = F.scaled_dot_product_attention(
        steps.queries, steps.keys, steps.values, is_causal=causal
    )  # (h, T, hd)
    expected_concat = context.transpose(0, 1).reshape(T, d_out)  # (T, h * hd)
    torch.testing.assert_close(steps.concat_context, expected_concat, atol=ATOL, rtol=0)
    expected_output = F.linear(expected_concat, weights["W_out"], weights["b_out"])
    torch.testing.assert_close(steps.output, expected_output, atol=ATOL, rtol=0)


def test_head_i_uses_rows_i_of_the_projections():
    num_heads, head_dim, d_in, T = 3, 2, 4, 6
    weights = random_linear_weights(8, d_in, num_heads * head_dim, bias=True)
    x = torch.randn(T, d_in, generator=torch.Generator().manual_seed(9))
    steps = run_functional(x, weights, num_heads)
    for i in range(num_heads):
        rows = slice(i * head_dim, (i + 1) * head_dim)
        q = F.linear(x, weights["W_query"][rows], weights["b_query"][rows])  # (T, hd)
        k = F.linear(x, weights["W_key"][rows], weights["b_key"][rows])  # (T, hd)
        v = F.linear(x, weights["W_value"][rows], weights["b_value"][rows])  # (T, hd)
        attn_weights = torch.softmax(q @ k.T / head_dim**0.5, dim=-1)  # (T, T)
        torch.testing.assert_close(steps.queries[i], q)
        torch.testing.assert_close(steps.attn_weights[i], attn_weights)
        torch.testing.assert_close(steps.concat_context[:, rows], attn_weights @ v)


def test_unbatched_input_equals_batch_of_one():
    weights = random_linear_weights(10, 3, 4, bias=True)
    x = seed_inputs()  # (5, 3)
    unbatched = run_functional(x, weights, 2, causal_mask(5))
    batched = run_functional(x[None], weights, 2, causal_mask(5))
    for a, b in zip(unbatched, batched, strict=True):
        torch.testing.assert_close(a, b[0])
    assert unbatched.attn_weights.shape == (2, 5, 5)
    assert unbatched.queries.shape == (2, 5, 2)


def test_functional_rejects_bad_arguments():
    weights = random_linear_weights(0, 3, 4, bias=False)
    x = seed_inputs()
    with pytest.raises(ValueError, match="divisible"):
        run_functional(x, weights, 3)
    with pytest.raises(ValueError, match="d_in"):
        run_functional(torch.zeros(5, 2), weights, 2)
    with pytest.raises(TypeError, match="bool"):
        run_functional(x, weights, 2, mask=torch.zeros(5, 5))


# --- MultiHeadAttention module ------------------------------------------------------------------


def module_weights(module: MultiHeadAttention) -> dict:
    bias = module.W_query.bias is not None
    return {
        "W_query": module.W_query.weight.detach(),
        "W_key": module.W_key.weight.detach(),
        "W_value": module.W_value.weight.detach(),
        "W_out": module.out_proj.weight.detach(),
        "b_query": module.W_query.bias.detach() if bias else None,
        "b_key": module.W_key.bias.detach() if bias else None,
        "b_value": module.W_value.bias.detach() if bias else None,
        "b_out": module.out_proj.bias.detach(),
    }


@PROPERTY
@given(
    seed=st.integers(0, 2**31 - 1),
    B=st.integers(1, 3),
    T=st.integers(1, 64),
    num_heads=st.integers(1, 8),
    head_dim=st.integers(1, 4),
    qkv_bias=st.booleans(),
    causal=st.booleans(),
)
def test_module_matches_torch_multihead_attention(
    seed, B, T, num_heads, head_dim, qkv_bias, causal
):
    d_model = num_heads * head_dim
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = MultiHeadAttention(d_model, d_model, num_heads, qkv_bias=qkv_bias, causal=causal)
    module.eval()
    weights = module_weights(module)
    if not qkv_bias:  # torch's module has one bias switch for in_proj and out_proj
        for name in ("b_query", "b_key", "b_value"):
            weights[name] = torch.zeros(d_model)
    reference = torch_mha_with(weights, d_model, num_heads)
    x = torch.randn(B, T, d_model, generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        output = module(x)
        expected, expected_weights = reference(
            x,
            x,
            x,
            attn_mask=causal_mask(T) if causal else None,
            need_weights=True,
            average_attn_weights=False,
        )
    torch.testing.assert_close(output, expected, atol=ATOL, rtol=0)
    torch.testing.assert_close(module.last_steps.attn_weights, expected_weights, atol=ATOL, rtol=0)


def test_module_forward_keeps_last_steps_and_matches_steps():
    module = init_multihead(3, num_heads=2, head_dim=2, seed=1, causal=True)
    x = torch.stack([seed_inputs(), seed_inputs().flip(0)])  # (2, 5, 3)
    with torch.no_grad():
        output = module(x)
        steps = module.steps(x)
    assert module.last_steps is not None
    for kept, fresh in zip(module.last_steps, steps, strict=True):
        assert torch.equal(kept, fresh)
    assert torch.equal(output, steps.output)
    assert steps.concat_context.shape == (2, 5, 4)
    torch.testing.assert_close(steps.output, module.out_proj(steps.concat_context))


def test_module_dropout_acts_only_in_training():
    module = init_multihead(4, num_heads=2, head_dim=4, seed=2, causal=False, dropout=0.5)
    x = torch.randn(2, 16, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        eval_steps = module.steps(x)
        module.train()
        torch.manual_seed(0)
        train_steps = module.steps(x)
    assert bool((eval_steps.attn_weights > 0).all())
    dropped = train_steps.attn_weights == 0
    assert bool(dropped.any()) and not bool(dropped.all())
    kept = ~dropped
    torch.testing.assert_close(
        train_steps.attn_weights[kept], eval_steps.attn_weights[kept] * 2.0, atol=1e-6, rtol=0
    )
    assert not torch.allclose(train_steps.output, eval_steps.output)


def test_module_rejects_heads_that_do_not_divide_d_out():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(4, 6, num_heads=4)
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttentionWrapper(4, 6, num_heads=4)


# --- wrapper vs MultiHeadAttention --------------------------------------------------------------


@PROPERTY
@given(
    seed=st.integers(0, 2**31 - 1),
    B=st.integers(1, 3),
    T=st.integers(1, 64),
    d_in=st.integers(1, 32),
    num_heads=st.integers(1, 8),
    head_dim=st.integers(1, 4),
    qkv_bias=st.booleans(),
    causal=st.booleans(),
)
def test_wrapper_and_multihead_agree(seed, B, T, d_in, num_heads, head_dim, qkv_bias, causal):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        wrapper = MultiHeadAttentionWrapper(
            d_in, num_heads * head_dim, num_heads, qkv_bias=qkv_bias, causal=causal
        ).eval()
    module = from_wrapper(wrapper)
    x = torch.randn(B, T, d_in, generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        wrapped = wrapper.steps(x)
        combined = module.steps(x)
    for name, a, b in zip(wrapped._fields, wrapped, combined, strict=True):
        torch.testing.assert_close(a, b, atol=ATOL, rtol=0, msg=name)


def test_wrapper_keeps_per_head_weights_and_uses_causal_heads():
    wrapper = MultiHeadAttentionWrapper(3, 4, num_heads=2)
    assert len(wrapper.heads) == 2
    assert wrapper.heads[1].W_query.weight.shape == (2, 3)  # (head_dim, d_in)
    with torch.no_grad():
        steps = wrapper.steps(seed_inputs()[None])
    future = causal_mask(5)
    assert bool((steps.attn_weights[..., future] == 0).all())
    open_wrapper = MultiHeadAttentionWrapper(3, 4, num_heads=2, causal=False)
    with torch.no_grad():
        open_steps = open_wrapper.steps(seed_inputs()[None])
    assert bool((open_steps.attn_weights > 0).all())


def test_from_wrapper_leaves_global_rng_alone():
    wrapper = MultiHeadAttentionWrapper(3, 4, num_heads=2)
    torch.manual_seed(0)
    expected_next = torch.rand(3)
    torch.manual_seed(0)
    from_wrapper(wrapper)
    assert torch.equal(torch.rand(3), expected_next)


# --- init_multihead ------------------------------------------------------------------------------


def test_init_multihead_is_seeded_sized_and_leaves_global_rng_alone():
    torch.manual_seed(0)
    expected_next = torch.rand(3)
    torch.manual_seed(0)
    a = init_multihead(5, num_heads=3, head_dim=2, seed=42, causal=False)
    assert torch.equal(torch.rand(3), expected_next)
    b = init_multihead(5, num_heads=3, head_dim=2, seed=42, causal=False)
    c = init_multihead(5, num_heads=3, head_dim=2, seed=43, causal=False)
    assert a.d_out == 6 and a.head_dim == 2 and a.num_heads == 3
    assert a.W_query.weight.shape == (6, 5)
    assert not a.training and not a.causal
    assert torch.equal(a.W_query.weight, b.W_query.weight)
    assert not torch.equal(a.W_query.weight, c.W_query.weight)
