"""Lesson 2: self-attention with trainable weights (attention/trainable.py)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from golden_data import load_golden
from hypothesis import given, settings
from hypothesis import strategies as st

from attention import (
    QKVWeights,
    SelfAttentionV1,
    SelfAttentionV2,
    copy_v2_into_v1,
    dot_product_variance,
    init_qkv_weights,
    query_attention_loop,
    seed_inputs,
    trainable_attention,
    variance_curve,
)
from lessons import lesson2

GOLDEN = load_golden()
TOL = GOLDEN["tolerance"]
TRAINABLE = GOLDEN["trainable"]
D_IN = len(GOLDEN["simple"]["inputs"][0])
PROPERTY = settings(max_examples=30, deadline=None)


def assert_golden(actual: torch.Tensor, expected: list) -> None:
    expected_tensor = torch.tensor(expected, dtype=torch.float64)
    torch.testing.assert_close(actual.to(torch.float64), expected_tensor, atol=TOL, rtol=0.0)


def random_case(seed: int, T: int, d_in: int, d_out: int) -> tuple[torch.Tensor, QKVWeights]:
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(T, d_in, generator=generator)
    weights = QKVWeights(
        *(torch.randn(d_in, d_out, generator=generator) / d_in**0.5 for _ in range(3))
    )
    return inputs, weights


# --- golden values ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["W_query", "W_key", "W_value"])
def test_init_qkv_weights_reproduces_golden_matrices(name):
    weights = init_qkv_weights(D_IN, TRAINABLE["d_out"], seed=TRAINABLE["seed"])
    assert_golden(getattr(weights, name), TRAINABLE[name])


@pytest.mark.parametrize(
    ("field", "key"), [("attn_weights", "weights"), ("context_vecs", "context")]
)
def test_trainable_attention_reproduces_golden(field, key):
    weights = init_qkv_weights(D_IN, TRAINABLE["d_out"], seed=TRAINABLE["seed"])
    steps = trainable_attention(seed_inputs(), weights)
    assert_golden(getattr(steps, field), TRAINABLE[key])


def test_self_attention_v1_after_manual_seed_reproduces_golden_context():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TRAINABLE["seed"])
        module = SelfAttentionV1(D_IN, TRAINABLE["d_out"])
    with torch.no_grad():
        context_vecs = module(seed_inputs())
    assert_golden(context_vecs, TRAINABLE["context"])


# --- init_qkv_weights --------------------------------------------------------------------------


@pytest.mark.parametrize(("d_in", "d_out", "seed"), [(3, 2, 123), (5, 4, 0), (1, 7, 2024)])
def test_local_generator_matches_global_manual_seed(d_in, d_out, seed):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        expected = [torch.rand(d_in, d_out) for _ in range(3)]
    weights = init_qkv_weights(d_in, d_out, seed=seed)
    for actual, want in zip(weights, expected, strict=True):
        assert torch.equal(actual, want)


def test_init_qkv_weights_leaves_global_rng_alone():
    state = torch.get_rng_state()
    init_qkv_weights(4, 3, seed=9)
    assert torch.equal(torch.get_rng_state(), state)


def test_init_qkv_weights_rejects_empty_sizes():
    with pytest.raises(ValueError, match="at least 1"):
        init_qkv_weights(0, 2)


# --- steps of the matrix form ------------------------------------------------------------------


def test_steps_are_the_documented_products():
    inputs, weights = random_case(seed=1, T=6, d_in=4, d_out=3)
    steps = trainable_attention(inputs, weights)
    torch.testing.assert_close(steps.queries, inputs @ weights.W_query)
    torch.testing.assert_close(steps.keys, inputs @ weights.W_key)
    torch.testing.assert_close(steps.values, inputs @ weights.W_value)
    torch.testing.assert_close(steps.attn_scores, steps.queries @ steps.keys.T)
    torch.testing.assert_close(steps.scaled_scores, steps.attn_scores / math.sqrt(3))
    torch.testing.assert_close(steps.attn_weights, torch.softmax(steps.scaled_scores, dim=-1))
    torch.testing.assert_close(steps.context_vecs, steps.attn_weights @ steps.values)


def test_scale_argument_replaces_one_over_sqrt_dk():
    inputs, weights = random_case(seed=2, T=5, d_in=3, d_out=4)
    unscaled = trainable_attention(inputs, weights, scale=1.0)
    torch.testing.assert_close(unscaled.scaled_scores, unscaled.attn_scores)
    torch.testing.assert_close(unscaled.attn_weights, torch.softmax(unscaled.attn_scores, dim=-1))
    default = trainable_attention(inputs, weights)
    assert not torch.allclose(default.attn_weights, unscaled.attn_weights)


def test_wrong_weight_shape_is_rejected():
    inputs, weights = random_case(seed=3, T=4, d_in=3, d_out=2)
    bad = weights._replace(W_key=torch.zeros(4, 2))
    with pytest.raises(ValueError, match="W_key"):
        trainable_attention(inputs, bad)


# --- loop form == matrix form ------------------------------------------------------------------


@pytest.mark.parametrize("query_index", range(5))
def test_loop_matches_matrix_on_seed_example(query_index):
    weights = init_qkv_weights(D_IN, TRAINABLE["d_out"], seed=TRAINABLE["seed"])
    steps = trainable_attention(seed_inputs(), weights)
    loop = query_attention_loop(seed_inputs(), weights, query_index)
    torch.testing.assert_close(loop.query, steps.queries[query_index])
    torch.testing.assert_close(loop.attn_scores, steps.attn_scores[query_index])
    torch.testing.assert_close(loop.scaled_scores, steps.scaled_scores[query_index])
    torch.testing.assert_close(loop.attn_weights, steps.attn_weights[query_index])
    torch.testing.assert_close(loop.context_vec, steps.context_vecs[query_index])


@PROPERTY
@given(
    seed=st.integers(0, 2**31 - 1),
    T=st.integers(1, 64),
    d_in=st.integers(1, 32),
    d_out=st.integers(1, 32),
    data=st.data(),
)
def test_loop_matches_matrix_for_random_shapes(seed, T, d_in, d_out, data):
    query_index = data.draw(st.integers(0, T - 1))
    inputs, weights = random_case(seed, T, d_in, d_out)
    steps = trainable_attention(inputs, weights)
    loop = query_attention_loop(inputs, weights, query_index)
    torch.testing.assert_close(
        loop.attn_weights, steps.attn_weights[query_index], atol=1e-5, rtol=0
    )
    torch.testing.assert_close(loop.context_vec, steps.context_vecs[query_index], atol=1e-5, rtol=0)


def test_loop_rejects_query_index_out_of_range():
    weights = init_qkv_weights(D_IN, 2)
    with pytest.raises(IndexError):
        query_attention_loop(seed_inputs(), weights, 5)


# --- cross-check and properties ----------------------------------------------------------------


@PROPERTY
@given(
    seed=st.integers(0, 2**31 - 1),
    T=st.integers(1, 64),
    d_in=st.integers(1, 32),
    d_out=st.integers(1, 32),
)
def test_matches_torch_scaled_dot_product_attention(seed, T, d_in, d_out):
    inputs, weights = random_case(seed, T, d_in, d_out)
    steps = trainable_attention(inputs, weights)
    expected = F.scaled_dot_product_attention(
        steps.queries[None], steps.keys[None], steps.values[None]
    )[0]
    torch.testing.assert_close(steps.context_vecs, expected, atol=1e-5, rtol=0)
    row_sums = steps.attn_weights.sum(dim=-1)
    torch.testing.assert_close(row_sums, torch.ones(T), atol=1e-5, rtol=0)
    assert bool(((steps.attn_weights >= 0) & (steps.attn_weights <= 1)).all())


# --- SelfAttentionV1 / V2 ----------------------------------------------------------------------


def test_v2_weights_transposed_into_v1_give_identical_output():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(789)
        v2 = SelfAttentionV2(3, 2)
        v1 = SelfAttentionV1(3, 2)
    inputs = seed_inputs()
    with torch.no_grad():
        assert not torch.allclose(v1(inputs), v2(inputs))  # different before the copy
        copy_v2_into_v1(v2, v1)
        torch.testing.assert_close(v1(inputs), v2(inputs), atol=0, rtol=0)
    torch.testing.assert_close(v1.W_query.detach(), v2.W_query.weight.detach().T)


def test_v1_matches_functional_form():
    module = SelfAttentionV1(4, 3)
    inputs = torch.randn(6, 4, generator=torch.Generator().manual_seed(5))
    weights = QKVWeights(module.W_query.detach(), module.W_key.detach(), module.W_value.detach())
    with torch.no_grad():
        torch.testing.assert_close(
            module(inputs), trainable_attention(inputs, weights).context_vecs
        )


def test_copy_refuses_a_v2_with_bias():
    with pytest.raises(ValueError, match="bias"):
        copy_v2_into_v1(SelfAttentionV2(3, 2, qkv_bias=True), SelfAttentionV1(3, 2))


# --- why scale ---------------------------------------------------------------------------------


@pytest.mark.parametrize("d_k", [1, 4, 16, 64])
def test_dot_product_variance_grows_with_dk_and_scaling_brings_it_to_one(d_k):
    var_unscaled, var_scaled = dot_product_variance(d_k, samples=10_000, seed=0)
    assert var_unscaled == pytest.approx(d_k, rel=0.1)
    assert var_scaled == pytest.approx(1.0, rel=0.1)
    assert var_scaled == pytest.approx(var_unscaled / d_k, rel=1e-9)


def test_dot_product_variance_is_reproducible_per_seed():
    assert dot_product_variance(8, 500, seed=3) == dot_product_variance(8, 500, seed=3)
    assert dot_product_variance(8, 500, seed=3) != dot_product_variance(8, 500, seed=4)


def test_variance_curve_collects_each_dk():
    d_ks = [1, 2, 8, 32]
    curve = variance_curve(d_ks, samples=2_000, seed=1)
    assert curve.d_ks.tolist() == d_ks
    for i, d_k in enumerate(d_ks):
        var_unscaled, var_scaled = dot_product_variance(d_k, 2_000, seed=1)
        assert curve.var_unscaled[i].item() == pytest.approx(var_unscaled)
        assert curve.var_scaled[i].item() == pytest.approx(var_scaled)
    assert curve.var_unscaled[-1] > 10 * curve.var_unscaled[0]


def test_dot_product_variance_rejects_bad_sizes():
    with pytest.raises(ValueError):
        dot_product_variance(0, 100)
    with pytest.raises(ValueError):
        dot_product_variance(4, 1)


# --- lessons/lesson2.py -----------------------------------------------------------------------


@PROPERTY
@given(
    seed=st.integers(0, 2**31 - 1),
    T=st.integers(1, 12),
    d_in=st.integers(1, 8),
    d_out=st.integers(1, 8),
)
def test_v1_equals_v2_with_transposed_weights(seed, T, d_in, d_out):
    inputs, weights = random_case(seed, T, d_in, d_out)
    v1, v2 = lesson2.v1_and_v2(inputs, weights)
    torch.testing.assert_close(v1, v2, atol=1e-6, rtol=0)
    torch.testing.assert_close(
        v1, trainable_attention(inputs, weights).context_vecs, atol=1e-6, rtol=0
    )


def test_v1_and_v2_differ_without_the_transpose():
    inputs, weights = random_case(3, 5, 3, 3)
    wrong = QKVWeights(*(W.T for W in weights))  # v2 given W itself, not its transpose
    v1, _ = lesson2.v1_and_v2(inputs, weights)
    _, v2_wrong = lesson2.v1_and_v2(inputs, wrong)
    assert float((v1 - v2_wrong).abs().max()) > 1e-3


def test_lesson2_default_numbers_are_the_golden_ones_and_checks_pass():
    x = seed_inputs()
    result = lesson2.compute(x, init_qkv_weights(D_IN, TRAINABLE["d_out"], TRAINABLE["seed"]))
    assert_golden(result.steps.attn_weights, TRAINABLE["weights"])
    assert_golden(result.steps.context_vecs, TRAINABLE["context"])
    assert result.walk.query_index == 1  # the book walks through query 2
    assert result.walk_difference <= 1e-5 and result.v1_v2_difference <= 1e-5
    # The weights start in [0, 1) and so do the seed inputs: Q and K are not zero-mean.
    assert result.mean_query > 0.1 and result.mean_key > 0.1


def test_walk_lines_carry_the_score_of_query_2_with_key_2():
    x = seed_inputs()
    weights = init_qkv_weights(D_IN, 2, 123)
    result = lesson2.compute(x, weights)
    omega = next(line for line in lesson2.walk_lines(x, weights, result) if "ω(2, 2)" in line)
    value = float(omega.rsplit("=", 1)[1])
    assert math.isclose(value, float(result.steps.attn_scores[1, 1]), abs_tol=5e-5)


def test_scaling_a_row_up_saturates_the_softmax_and_shrinks_every_gradient():
    row = torch.tensor([0.5, 1.0, 1.5, 0.2])
    plain, sharp = lesson2.scaling(row, 1.0), lesson2.scaling(row, 16.0)
    assert float(sharp.after.max()) > 0.99 > float(plain.after.max())
    assert sharp.grad_after < plain.grad_after / 10
    assert sharp.winner_after < plain.winner_after / 10  # the winner's own gradient too
    torch.testing.assert_close(plain.before, torch.softmax(row, dim=-1))


@pytest.mark.parametrize(("d_out", "expected"), [(1, {"same"}), (2, {"down"}), (4, {"down"})])
def test_scale_question_is_answered_from_the_numbers(d_out, expected):
    x = seed_inputs()
    steps = trainable_attention(x, init_qkv_weights(D_IN, d_out, 123))
    ask = lesson2.scale_question(steps)
    assert ask.right == expected
    assert ask.right <= set(ask.options)


def test_the_classes_shown_are_the_ones_that_run():
    source = lesson2.classes_source()
    assert "class SelfAttentionV1(nn.Module):" in source
    assert "(here `SelfAttentionV1`)" in lesson2.CLASSES
    assert "nn.Linear(d_in, d_out, bias=qkv_bias)" in source
    assert '"""' not in source


def test_the_largest_factor_saturates_the_seed_example_and_shrinks_its_gradients():
    steps = trainable_attention(seed_inputs(), init_qkv_weights(D_IN, 2, 123))
    rows = [lesson2.scaling(row, lesson2.MAX_FACTOR) for row in steps.scaled_scores]
    saturated = [top for top in rows if float(top.after.max()) > 0.8]
    assert len(saturated) >= 4
    assert all(top.grad_after < top.grad_before for top in saturated)
    assert all(top.winner_after < top.winner_before for top in saturated)
    early = lesson2.scaling(steps.scaled_scores[0], 4.0)
    assert early.grad_after > early.grad_before  # not saturated yet at a factor of 4
    assert early.needed is not None and early.needed <= lesson2.DEFAULT_FACTOR
    shown = lesson2.scaling(steps.scaled_scores[0], early.needed)
    assert shown.grad_after < shown.grad_before


def test_the_default_factor_shrinks_the_largest_derivative_of_every_seed_row():
    steps = trainable_attention(seed_inputs(), init_qkv_weights(D_IN, 2, 123))
    for row in steps.scaled_scores:
        scale = lesson2.scaling(row, lesson2.DEFAULT_FACTOR)
        assert scale.grad_after < scale.grad_before
        smaller = lesson2.scaling(row, scale.needed - lesson2.FACTOR_STEP)
        assert smaller.grad_after >= smaller.grad_before  # needed is the first such factor


def test_every_smaller_is_checked_entry_by_entry():
    row = torch.tensor([0.3, 0.45, 0.5, 0.2])  # at factor 2 the winner's a(1 - a) grows
    jacobian = lambda a: torch.diag(a) - torch.outer(a, a)  # noqa: E731
    for factor in (2.0, 8.0, 64.0):
        scale = lesson2.scaling(row, factor)
        grew = bool((jacobian(scale.after).abs() > jacobian(scale.before).abs()).any())
        assert scale.every_smaller is not grew


def test_mean_sentence_follows_the_measured_means():
    x = seed_inputs()
    weights = init_qkv_weights(D_IN, 2, 123)
    seed_text = lesson2.mean_sentence(lesson2.compute(x, weights), x)
    assert "seed inputs" in seed_text and "not zero-mean" in seed_text
    centred = QKVWeights(*(w - 0.5 for w in weights))
    inputs = x - x.mean(dim=0)
    result = lesson2.compute(inputs, centred)
    assert abs(result.mean_query) <= lesson2.MEAN_CLOSE >= abs(result.mean_key)
    text = lesson2.mean_sentence(result, inputs)
    assert "seed inputs" not in text and "not zero-mean" not in text
