"""Lesson 4: multi-head attention (attention/multihead.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from attention import (
    SEED_TOKENS,
    MultiHeadAttention,
    MultiHeadAttentionWrapper,
    causal_mask,
    from_wrapper,
    init_multihead,
    multi_head_attention,
    seed_inputs,
)
from lessons import lesson4
from lessons.lesson4 import Settings as Lesson4Settings

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


# --- lessons/lesson4.py: the code the page shows is the code that runs ------------------------

LESSON4_CASES = [
    pytest.param(
        lesson4_settings,
        id=f"{lesson4_settings.num_heads}x{lesson4_settings.head_dim}"
        f"-{'causal' if lesson4_settings.causal else 'full'}",
    )
    for lesson4_settings in (
        Lesson4Settings(),  # the page's defaults
        Lesson4Settings(causal=False),
        Lesson4Settings(1, 3, 123, True),
        Lesson4Settings(3, 2, 123, False),
        Lesson4Settings(4, 1, 7, True),
        Lesson4Settings(8, 2, 42, False),
    )
]


def lesson4_numbers(result) -> dict[str, torch.Tensor]:
    """The numbers lesson 4's page shows: build 2's weights per head, concat and output."""
    return {
        "attn_weights": result.split.attn_weights,
        "concat_context": result.split.concat_context,
        "output": result.split.output,
    }


@pytest.mark.parametrize("lesson4_settings", LESSON4_CASES)
def test_lesson4_shown_code_computes_the_pages_numbers(lesson4_settings):
    x = seed_inputs()
    result = lesson4.compute(x, lesson4_settings)
    # The page shows result.code; run it again here in a fresh namespace.
    scope = {"torch": torch, "inputs": x, **result.weights._asdict()}
    exec(compile(result.code, "<shown code>", "exec"), scope)
    for name, expected in lesson4_numbers(result).items():
        torch.testing.assert_close(scope[name], expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(getattr(result.stacked, name), expected, atol=1e-5, rtol=0)
    assert result.code_difference <= 1e-5 and result.builds_difference <= 1e-5


@pytest.mark.parametrize("lesson4_settings", LESSON4_CASES)
def test_lesson4_script_runs_and_prints_the_pages_numbers(lesson4_settings, capsys):
    x = seed_inputs()
    result = lesson4.compute(x, lesson4_settings)
    data = lesson4.lesson_data(list(SEED_TOKENS), x, result)
    script = lesson4.script(data)
    assert result.code in script  # the same lines as on the page
    scope: dict = {"__name__": "__main__"}
    exec(compile(script, "<lesson 4 script>", "exec"), scope)
    printed = capsys.readouterr().out
    for name, expected in lesson4_numbers(result).items():
        torch.testing.assert_close(scope[name], expected, atol=1e-5, rtol=0)
    # Printed: one block per head, then concat_context and output, 4 decimals.
    blocks = parse_blocks(printed)
    heads = [f"attn_weights head {h + 1}" for h in range(lesson4_settings.num_heads)]
    assert list(blocks) == [*heads, "concat_context", "output"]
    for h, name in enumerate(heads):
        torch.testing.assert_close(
            blocks[name], result.split.attn_weights[h].double(), atol=5.1e-5, rtol=0
        )
    torch.testing.assert_close(blocks["output"], result.split.output.double(), atol=5.1e-5, rtol=0)


def parse_blocks(text: str) -> dict[str, torch.Tensor]:
    """The script's printout: a line "name (R x C)" then R numbered rows of numbers."""
    blocks: dict[str, list[list[float]]] = {}
    name = None
    for line in text.splitlines():
        if line.endswith(")") and " (" in line and not line[:1].isspace():
            name = line.rsplit(" (", 1)[0]
            blocks[name] = []
        elif name is not None and line.strip():
            blocks[name].append([float(v) for v in line.split()[1:]])
    return {key: torch.tensor(rows, dtype=torch.float64) for key, rows in blocks.items()}


def test_lesson4_code_has_the_mask_exactly_when_causal():
    on = lesson4.code_lines(Lesson4Settings(causal=True), 5, 3)
    off = lesson4.code_lines(Lesson4Settings(causal=False), 5, 3)
    assert any("masked_fill" in line for line in on)
    assert not any("mask" in line.split("#")[0] for line in off)
    # Keys and values are split into heads too, not only the queries.
    for name in ("queries", "keys", "values"):
        assert any(line.startswith(f"{name} = {name}.view(") for line in on)


def test_lesson4_weights_are_build_twos_in_x_at_w_orientation():
    x = seed_inputs()
    result = lesson4.compute(x, Lesson4Settings(3, 2, 5, False))
    w = result.weights
    assert w.W_query.shape == (3, 6) and w.W_out.shape == (6, 6) and w.b_out.shape == (6,)
    queries = (x @ w.W_query).view(5, 3, 2).transpose(0, 1)
    torch.testing.assert_close(queries, result.split.queries, atol=1e-6, rtol=0)


def test_lesson4_heads_question_answer_follows_the_weights():
    weights = torch.full((2, 3, 3), 0.1)
    weights[0, -1, 1] = weights[1, -1, 1] = 0.8
    assert lesson4.heads_question(weights).right == {"same"}
    weights[1, -1] = torch.tensor([0.7, 0.2, 0.1])
    ask = lesson4.heads_question(weights)
    assert ask.right == {"different"} and set(ask.options) == {"same", "different"}
    assert lesson4.heads_question(weights[:1]) is None


@pytest.mark.parametrize("bad", [Lesson4Settings(0, 2), Lesson4Settings(2, 0)])
def test_lesson4_refuses_empty_heads(bad):
    with pytest.raises(ValueError, match="at least 1"):
        lesson4.compute(seed_inputs(), bad)


def test_lesson4_weights_max_holds_every_head():
    result = lesson4.compute(seed_inputs(), Lesson4Settings(4, 2, 9, False))
    top = lesson4.weights_max(result)
    assert all(float(w.max()) <= top for w in result.split.attn_weights)
    assert any(float(w.max()) == top for w in result.split.attn_weights)
