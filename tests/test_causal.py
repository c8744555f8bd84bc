"""Lesson 3: causal attention and dropout (attention/causal.py)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from golden_data import load_golden
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from attention import (
    CausalAttention,
    apply_dropout,
    causal_attention,
    causal_mask,
    init_linear_qkv,
    multi_head_attention,
    scaled_dot_product,
    seed_inputs,
)
from attention.trainable import QKVWeights
from lessons import lesson3

GOLDEN = load_golden()
TOL = GOLDEN["tolerance"]
CAUSAL = GOLDEN["causal"]
D_IN = len(GOLDEN["simple"]["inputs"][0])
PROPERTY = settings(max_examples=30, deadline=None)
SHAPES = {
    "seed": st.integers(0, 2**31 - 1),
    "T": st.integers(1, 64),
    "d_in": st.integers(1, 32),
    "d_out": st.integers(1, 32),
}


def assert_golden(actual: torch.Tensor, expected: list) -> None:
    expected_tensor = torch.tensor(expected, dtype=torch.float64)
    torch.testing.assert_close(actual.to(torch.float64), expected_tensor, atol=TOL, rtol=0.0)


def random_case(seed: int, T: int, d_in: int, d_out: int):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(T, d_in, generator=generator)
    weights = [torch.randn(d_in, d_out, generator=generator) / d_in**0.5 for _ in range(3)]
    return inputs, weights


def golden_steps():
    weights = init_linear_qkv(D_IN, CAUSAL["d_out"], seed=CAUSAL["seed"])
    return causal_attention(seed_inputs(), *weights)


# --- golden values ----------------------------------------------------------------------------


def test_causal_attention_reproduces_golden_weights():
    assert_golden(golden_steps().attn_weights, CAUSAL["weights"])


def test_causal_attention_reproduces_golden_context():
    assert_golden(golden_steps().context_vecs, CAUSAL["context"])


def test_causal_attention_module_after_manual_seed_reproduces_golden_context():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(CAUSAL["seed"])
        module = CausalAttention(D_IN, CAUSAL["d_out"], context_length=8).eval()
    batch = torch.stack([seed_inputs(), seed_inputs()])  # (2, 5, 3)
    with torch.no_grad():
        context_vecs = module(batch)
    assert context_vecs.shape == (2, 5, CAUSAL["d_out"])
    for b in range(2):
        assert_golden(context_vecs[b], CAUSAL["context"])
    assert_golden(module.last_attn_weights[0], CAUSAL["weights"])


# --- init_linear_qkv ---------------------------------------------------------------------------


def test_init_linear_qkv_is_the_transposed_linear_weights():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        linears = [nn.Linear(4, 3, bias=False) for _ in range(3)]
    weights = init_linear_qkv(4, 3, seed=5)
    for W, linear in zip(weights, linears, strict=True):
        assert W.shape == (4, 3)
        assert torch.equal(W, linear.weight.detach().T)


def test_init_linear_qkv_restores_global_rng_state():
    torch.manual_seed(0)
    expected_next = torch.rand(3)
    torch.manual_seed(0)
    init_linear_qkv(3, 2, seed=789)
    assert torch.equal(torch.rand(3), expected_next)


# --- the two ways agree ------------------------------------------------------------------------


def test_both_ways_agree_on_seed_example():
    steps = golden_steps()
    torch.testing.assert_close(steps.renormalized_weights, steps.attn_weights, atol=1e-6, rtol=0)


def test_steps_show_each_stage():
    steps = golden_steps()
    T = steps.attn_weights.shape[0]
    assert torch.equal(steps.mask, torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1))
    assert bool((steps.zeroed_weights[steps.mask] == 0).all())
    assert bool((steps.masked_scores[steps.mask] == float("-inf")).all())
    unmasked_rows = steps.zeroed_weights.sum(dim=-1)
    assert bool((unmasked_rows[:-1] < 1 - 1e-3).all())  # zeroing alone breaks the row sums
    torch.testing.assert_close(steps.zeroed_weights, steps.unmasked_weights * ~steps.mask)
    torch.testing.assert_close(steps.attn_scores, steps.queries @ steps.keys.T)


@PROPERTY
@given(**SHAPES)
def test_both_ways_agree_for_random_shapes(seed, T, d_in, d_out):
    inputs, weights = random_case(seed, T, d_in, d_out)
    steps = causal_attention(inputs, *weights)
    torch.testing.assert_close(steps.renormalized_weights, steps.attn_weights, atol=1e-5, rtol=0)


@PROPERTY
@given(**SHAPES)
def test_matches_torch_sdpa_with_is_causal(seed, T, d_in, d_out):
    inputs, weights = random_case(seed, T, d_in, d_out)
    steps = causal_attention(inputs, *weights)
    expected = F.scaled_dot_product_attention(
        steps.queries[None], steps.keys[None], steps.values[None], is_causal=True
    )[0]
    torch.testing.assert_close(steps.context_vecs, expected, atol=1e-5, rtol=0)


@PROPERTY
@given(**SHAPES)
def test_first_and_last_rows(seed, T, d_in, d_out):
    inputs, weights = random_case(seed, T, d_in, d_out)
    steps = causal_attention(inputs, *weights)
    first_row = torch.zeros(T)
    first_row[0] = 1.0
    torch.testing.assert_close(steps.attn_weights[0], first_row, atol=1e-6, rtol=0)
    # the last token sees everything, so masking changes nothing for it
    torch.testing.assert_close(
        steps.attn_weights[-1], steps.unmasked_weights[-1], atol=1e-6, rtol=0
    )
    assert bool((steps.attn_weights[steps.mask] == 0).all())
    torch.testing.assert_close(steps.attn_weights.sum(-1), torch.ones(T), atol=1e-5, rtol=0)


# --- CausalAttention module --------------------------------------------------------------------


def test_module_matches_functional_form_per_batch_item():
    module = CausalAttention(4, 3, context_length=10).eval()
    batch = torch.randn(3, 7, 4, generator=torch.Generator().manual_seed(11))
    weights = [getattr(module, n).weight.detach().T for n in ("W_query", "W_key", "W_value")]
    with torch.no_grad():
        out = module(batch)
    for b in range(3):
        expected = causal_attention(batch[b], *weights).context_vecs
        torch.testing.assert_close(out[b], expected, atol=1e-6, rtol=0)


def test_module_mask_is_a_buffer_and_context_length_is_enforced():
    module = CausalAttention(2, 2, context_length=4)
    assert "mask" in dict(module.named_buffers())
    assert "mask" not in dict(module.named_parameters())
    with pytest.raises(ValueError, match="context_length"):
        module(torch.zeros(1, 5, 2))


def test_module_dropout_only_acts_in_training():
    torch.manual_seed(0)
    module = CausalAttention(4, 4, context_length=16, dropout=0.5)
    x = torch.randn(2, 12, 4)
    with torch.no_grad():
        module.eval()
        eval_steps = module.steps(x)
        module.train()
        train_steps = module.steps(x)
    visible = ~causal_mask(12)
    assert bool((eval_steps.attn_weights[:, visible] > 0).all())
    assert bool((train_steps.attn_weights[:, visible] == 0).any())  # some weights dropped
    kept = train_steps.attn_weights != 0
    torch.testing.assert_close(
        train_steps.attn_weights[kept], eval_steps.attn_weights[kept] * 2.0, atol=1e-6, rtol=0
    )


# --- dropout -----------------------------------------------------------------------------------


def test_dropout_keeps_scaled_values_and_zeroes_the_rest():
    weights = golden_steps().unmasked_weights
    p = 0.5
    result = apply_dropout(weights, p, seed=123)
    assert result.mask_kept.dtype == torch.bool
    assert result.mask_kept.shape == weights.shape
    kept = result.mask_kept
    assert bool(kept.any()) and bool((~kept).any())
    torch.testing.assert_close(result.dropped_weights[kept], weights[kept] / (1 - p))
    assert bool((result.dropped_weights[~kept] == 0).all())


def test_dropout_p_zero_is_identity():
    weights = golden_steps().attn_weights
    result = apply_dropout(weights, 0.0, seed=7)
    assert bool(result.mask_kept.all())
    assert torch.equal(result.dropped_weights, weights)


def test_dropout_is_reproducible_per_seed():
    weights = torch.full((8, 8), 0.125)
    a, b, c = (apply_dropout(weights, 0.3, seed=s) for s in (1, 1, 2))
    assert torch.equal(a.mask_kept, b.mask_kept)
    assert not torch.equal(a.mask_kept, c.mask_kept)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_about_one_minus_p(p):
    result = apply_dropout(torch.full((200, 200), 0.5), p, seed=0)
    assert result.mask_kept.float().mean().item() == pytest.approx(1 - p, abs=0.01)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_expected_value_approaches_the_original(p):
    weights = golden_steps().unmasked_weights  # (5, 5), entries about 0.1 .. 0.25
    mean = torch.stack([apply_dropout(weights, p, seed=s).dropped_weights for s in range(2000)])
    mean = mean.mean(dim=0)
    # standard error per entry is at most 0.25 * sqrt(p / (1 - p) / 2000) < 0.006
    torch.testing.assert_close(mean, weights, atol=0.03, rtol=0)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_rejects_p_outside_zero_one(p):
    with pytest.raises(ValueError, match="p"):
        apply_dropout(torch.ones(2, 2), p, seed=0)


# --- fully masked rows are zeros, never NaN ----------------------------------------------------


def test_scaled_dot_product_fully_masked_row_is_zero_not_nan():
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(4, 3, generator=generator) for _ in range(3))
    mask = causal_mask(4)
    mask[2] = True  # query 2 may see nothing
    steps = scaled_dot_product(q, k, v, mask=mask)
    assert not bool(steps.attn_weights.isnan().any())
    assert not bool(steps.context_vecs.isnan().any())
    assert torch.equal(steps.attn_weights[2], torch.zeros(4))
    assert torch.equal(steps.context_vecs[2], torch.zeros(3))
    torch.testing.assert_close(steps.attn_weights[[0, 1, 3]].sum(-1), torch.ones(3))


def test_multi_head_fully_masked_row_is_zero_not_nan():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 4, generator=generator)
    W_query, W_key, W_value, W_out = (torch.randn(4, 4, generator=generator) for _ in range(4))
    mask = torch.zeros(2, 1, 5, 5, dtype=torch.bool)  # (B, 1, T, T) broadcast over heads
    mask[1, :, 3, :] = True  # batch 1, query 3 sees nothing
    steps = multi_head_attention(x, W_query, W_key, W_value, W_out, num_heads=2, mask=mask)
    assert not bool(steps.output.isnan().any())
    assert torch.equal(steps.attn_weights[1, :, 3], torch.zeros(2, 5))
    assert torch.equal(steps.concat_context[1, 3], torch.zeros(4))


# --- lessons/lesson3.py -----------------------------------------------------------------------


def test_lesson3_defaults_give_the_golden_numbers_and_the_checks_pass():
    weights = init_linear_qkv(D_IN, CAUSAL["d_out"], seed=lesson3.DEFAULT_SEED)
    result = lesson3.compute(seed_inputs(), weights)
    assert_golden(result.steps.attn_weights, CAUSAL["weights"])
    assert result.ways_difference <= 1e-5 and result.last_row_difference <= 1e-5
    assert result.same_rows == [4]  # only the last query sees every key
    assert lesson3.rows_question(result).right == {"last"}


def test_rows_question_with_one_token_has_first_and_last_right():
    inputs, weights = random_case(1, 1, 3, 2)
    result = lesson3.compute(inputs, QKVWeights(*weights))
    assert lesson3.rows_question(result).right == {"first", "last"}


@PROPERTY
@given(seed=SHAPES["seed"], T=st.integers(1, 16), p=st.floats(0.0, 0.9))
def test_dropout_values_stay_within_zero_and_one_over_one_minus_p(seed, T, p):
    inputs, weights = random_case(seed, T, 3, 2)
    drop = lesson3.dropout(causal_attention(inputs, *weights), p, seed)
    values = drop.result.dropped_weights
    assert float(values.min()) >= 0
    # The heatmap's colour range must reach 1 / (1 - p): a kept weight of 1 becomes that.
    assert float(values.max()) <= drop.colour_max * (1 + 1e-6)
    assert math.isclose(drop.colour_max, 1 / (1 - p))
    assert drop.kept <= drop.visible == T * (T + 1) // 2


def test_the_first_row_after_dropout_reaches_one_over_one_minus_p_when_kept():
    inputs, weights = random_case(0, 4, 3, 2)
    steps = causal_attention(inputs, *weights)
    for seed in range(20):
        drop = lesson3.dropout(steps, 0.5, seed)
        if drop.result.mask_kept[0, 0]:
            assert math.isclose(float(drop.result.dropped_weights[0, 0]), 2.0, rel_tol=1e-6)
            return
    raise AssertionError("no seed kept the first weight")


def test_masking_algebra_zeroing_then_renormalising_is_softmax_over_visible_keys():
    inputs, weights = random_case(5, 6, 3, 2)
    steps = causal_attention(inputs, *weights)
    scaled = steps.attn_scores / 2**0.5
    for i in range(6):
        visible = torch.softmax(scaled[i, : i + 1], dim=-1)
        torch.testing.assert_close(
            steps.renormalized_weights[i, : i + 1], visible, atol=1e-6, rtol=0
        )


@pytest.mark.parametrize("p", [1.0, -0.1])
def test_lesson3_dropout_refuses_p_outside_zero_to_one(p):
    inputs, weights = random_case(0, 3, 3, 2)
    steps = causal_attention(inputs, *weights)
    with pytest.raises(ValueError, match="dropout p"):
        lesson3.dropout(steps, p, 0)
