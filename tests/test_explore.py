"""lessons/explore.py: each lesson's cell view, its plain text lines, the shuffle check for
lessons 1-4, and the head groups."""

from __future__ import annotations

import math

import pytest
import torch
from golden_data import load_golden
from hypothesis import given, settings
from hypothesis import strategies as st

from attention import (
    QKVWeights,
    causal_attention,
    init_linear_qkv,
    init_qkv_weights,
    simple_attention,
    trainable_attention,
)
from attention.analysis import HEAD_CATEGORIES, MIXED, summarize_heads
from lessons import lesson1, lesson3, lesson4
from lessons.explore import (
    FLOW_TEXT,
    TOKEN_DIMS,
    explain_lesson1,
    explain_lesson2,
    explain_lesson3,
    explain_lesson4,
    head_rule_text,
    heads_by_label,
    lesson_run,
    shuffle_check,
)

TOL = 1e-6


def seed_inputs() -> torch.Tensor:
    return torch.tensor(load_golden()["simple"]["inputs"], dtype=torch.float32)


def assert_plain(lines: list[str]) -> None:
    """Plain text: no Markdown emphasis, code marks, links or HTML."""
    for line in lines:
        assert isinstance(line, str) and line
        for mark in ("**", "`", "](", "<", ">", "$", "\n"):
            assert mark not in line, (mark, line)


# ---- the cell views equal the matrices and say each step -------------------------------------


def test_lesson1_view_every_cell_and_its_lines():
    x = seed_inputs()
    steps = simple_attention(x)
    for i in range(5):
        for j in range(5):
            view = explain_lesson1(x, i, j)
            assert abs(view.cell.attn_weight - float(steps.attn_weights[i, j])) <= TOL
            assert_plain(view.lines)
            assert view.lines[0].startswith(f"ω({i + 1}, {j + 1}) = x({i + 1}) · x({j + 1}) = ")
            assert view.lines[-1].startswith(f"a({i + 1}, {j + 1}) = ")
            assert not any("√" in line or "dropout" in line for line in view.lines)


def test_lesson2_view_scales_by_root_d_k_and_notes_dropout():
    x = seed_inputs()
    steps = trainable_attention(x, init_qkv_weights(3, 2, 123))
    view = explain_lesson2(steps, 1, 2)
    assert abs(view.cell.attn_weight - float(steps.attn_weights[1, 2])) <= TOL
    assert abs(view.cell.scaled_score - float(steps.scaled_scores[1, 2])) <= TOL
    assert_plain(view.lines)
    assert view.lines[0].startswith("ω(2, 3) = q(2) · k(3) = ")
    assert view.lines[1].startswith("s(2, 3) = ω(2, 3) / √d_k = ") and "/ √2 = " in view.lines[1]
    assert any(line.startswith("exp(s(2, 3) − max)") for line in view.lines)
    assert any(line.startswith("a(2, 3) = ") for line in view.lines)
    assert "after this step" in view.lines[-1] and "1/(1 − p)" in view.lines[-1]


def test_lesson3_view_masked_cell_and_dropout():
    x = seed_inputs()
    steps = causal_attention(x, *init_linear_qkv(3, 2, 789))
    drop = lesson3.dropout(steps, 0.5, 123)
    kept = drop.result.mask_kept
    for i in range(5):
        for j in range(5):
            view = explain_lesson3(steps, i, j, dropout_p=0.5, mask_kept=kept)
            assert abs(view.cell.attn_weight - float(steps.attn_weights[i, j])) <= TOL
            assert_plain(view.lines)
            if j > i:
                assert view.cell.masked and view.cell.masked_score == -math.inf
                assert any("−∞" in line for line in view.lines)
                assert any(
                    line.startswith(f"exp(−∞) = 0, so a({i + 1}, {j + 1}) = 0")
                    for line in view.lines
                )
            else:
                expected = float(drop.result.dropped_weights[i, j])
                assert abs(view.cell.dropped_weight - expected) <= TOL
                word = "kept" if bool(kept[i, j]) else "dropped"
                assert view.lines[-1].startswith(f"a({i + 1}, {j + 1}) was {word}")
    visible_sum = explain_lesson3(steps, 2, 0).lines
    assert any("visible keys" in line for line in visible_sum)


@pytest.mark.parametrize("causal", [True, False])
def test_lesson4_view_every_head_and_cell(causal):
    x = seed_inputs()
    settings_ = lesson4.Settings(num_heads=2, head_dim=2, seed=123, causal=causal)
    split = lesson4.compute(x, settings_).split
    for head in range(2):
        for i in range(5):
            for j in range(5):
                view = explain_lesson4(split, head, i, j, causal=causal)
                assert abs(view.cell.attn_weight - float(split.attn_weights[head, i, j])) <= TOL
                assert view.cell.masked == (causal and j > i)
                assert view.lines[0] == f"head {head + 1}: q and k are this head's columns"
                assert_plain(view.lines)


def test_long_vectors_and_rows_are_elided():
    torch.manual_seed(0)
    x = torch.rand(20, 12)
    view = explain_lesson1(x, 3, 4)
    assert "more" in view.lines[0] and view.lines[0].count("×") == 5
    sum_line = next(line for line in view.lines if line.startswith("sum over"))
    assert "… 15 more …" in sum_line


# ---- shuffle: every output permutes with the tokens (lessons 1, 2, 4 without mask) -----------


def test_lesson1_shuffle_generalises_lesson1s_own_check():
    x = seed_inputs()
    tokens = load_golden()["simple"]["tokens"]
    own = lesson1.shuffle_check(tokens, x, simple_attention(x))
    check = shuffle_check(lesson_run(1), x, TOKEN_DIMS[1])
    assert check.order == own.order
    assert abs(check.max_difference - own.max_difference) <= TOL
    assert all(check.permutes.values()) and check.max_difference <= TOL
    assert torch.equal(check.shuffled.attn_weights, own.steps.attn_weights)


inputs = st.tuples(st.integers(2, 7), st.integers(1, 4)).flatmap(
    lambda s: st.lists(st.floats(-3, 3, width=32), min_size=s[0] * s[1], max_size=s[0] * s[1]).map(
        lambda v: torch.tensor(v, dtype=torch.float32).view(*s)
    )
)
orders = st.integers(0, 10_000)


def random_order(T: int, seed: int) -> list[int]:
    return torch.randperm(T, generator=torch.Generator().manual_seed(seed)).tolist()


@settings(deadline=None, max_examples=30)
@given(inputs, orders)
def test_lessons_1_and_2_every_output_permutes(x, seed):
    T, d_in = x.shape
    order = random_order(T, seed)
    one = shuffle_check(lesson_run(1), x, TOKEN_DIMS[1], order)
    assert one.max_difference <= TOL * max(1.0, float(x.abs().max()) ** 2 * d_in)
    weights = init_qkv_weights(d_in, 3, seed)
    two = shuffle_check(lesson_run(2, weights), x, TOKEN_DIMS[2], order)
    assert set(two.gaps) == set(TOKEN_DIMS[2])
    for name, gap in two.gaps.items():
        assert gap <= 1e-5, name  # scores up to ~3 * 3 * d_in in float32: a few ulps


@settings(deadline=None, max_examples=15)
@given(inputs, orders)
def test_lesson4_without_mask_every_output_permutes(x, seed):
    T, _ = x.shape
    order = random_order(T, seed)
    run = lesson_run(4, settings=lesson4.Settings(num_heads=2, head_dim=2, seed=seed, causal=False))
    check = shuffle_check(run, x, TOKEN_DIMS[4], order)
    for name, gap in check.gaps.items():
        assert gap <= 1e-5, name


@settings(deadline=None, max_examples=20)
@given(inputs, orders)
def test_lesson3_projections_permute_even_with_the_mask(x, seed):
    T, d_in = x.shape
    weights = init_linear_qkv(d_in, 2, seed)
    check = shuffle_check(lesson_run(3, weights), x, TOKEN_DIMS[3], random_order(T, seed))
    for name in ("queries", "keys", "values", "attn_scores", "unmasked_weights"):
        assert check.gaps[name] <= 1e-5, name


def test_the_seed_example_outputs_permute_exactly_except_under_the_causal_mask():
    x = seed_inputs()
    two = shuffle_check(lesson_run(2, init_qkv_weights(3, 2, 123)), x, TOKEN_DIMS[2])
    assert all(two.permutes.values()) and two.max_difference <= TOL
    three = shuffle_check(lesson_run(3, init_linear_qkv(3, 2, 789)), x, TOKEN_DIMS[3])
    assert three.permutes["queries"] and three.permutes["unmasked_weights"]
    assert not three.permutes["attn_weights"] and three.gaps["attn_weights"] > 1e-3
    assert not three.permutes["context_vecs"]
    four = shuffle_check(lesson_run(4), x, TOKEN_DIMS[4])  # the lesson's default: causal
    assert four.permutes["values"] and not four.permutes["attn_weights"]
    no_mask = lesson4.Settings(causal=False)
    assert all(shuffle_check(lesson_run(4, settings=no_mask), x, TOKEN_DIMS[4]).permutes.values())


def test_lesson_run_needs_weights_and_a_known_lesson():
    with pytest.raises(ValueError, match="QKVWeights"):
        lesson_run(2)
    with pytest.raises(ValueError):
        lesson_run(5)
    weights = QKVWeights(*(torch.eye(3) for _ in range(3)))
    x = seed_inputs()
    assert torch.equal(
        lesson_run(3, weights)(x).attn_weights, causal_attention(x, *weights).attn_weights
    )


# ---- lesson 5 words --------------------------------------------------------------------------


def test_heads_by_label_groups_every_head_once():
    T = 4
    prev = torch.zeros(T, T)
    prev[0, 0] = 1
    for i in range(1, T):
        prev[i, i - 1] = 1
    uniform = torch.full((T, T), 1 / T)
    weights = torch.stack([torch.stack([prev, uniform, prev])])  # (1, 3, T, T)
    summary = summarize_heads(weights, ["[CLS]", "a", "b", "[SEP]"])
    groups = heads_by_label(summary)
    assert list(groups) == [*HEAD_CATEGORIES, MIXED]
    assert groups["previous"] == [(0, 0), (0, 2)] and groups[MIXED] == [(0, 1)]
    assert sum(len(v) for v in groups.values()) == 3


def test_rule_and_flow_texts_state_their_numbers():
    assert "0.5" in head_rule_text(0.5) and MIXED in head_rule_text(0.5)
    assert "16,384" in FLOW_TEXT and f"{128 * 128:,}" == "16,384"
    assert f"{7 * 128}" in FLOW_TEXT and f"{6 * 128 * 128:,}" in FLOW_TEXT


def test_a_scale_that_is_not_one_over_root_d_k_is_written_as_a_product():
    from attention.analysis import cell_arithmetic
    from lessons.explore import cell_lines

    x = seed_inputs()
    cell = cell_arithmetic(x, x, 0, 1, scale=0.25)
    assert cell_lines(cell)[1].startswith("s(1, 2) = ω(1, 2) / √d_k = ")  # 0.25 = 1/√16
    cell = cell_arithmetic(x, x, 0, 1, scale=0.3)
    assert cell_lines(cell)[1].startswith("s(1, 2) = ω(1, 2) × 0.3 = ")


def test_shuffle_rows_and_verdict_follow_the_check():
    from lessons.explore import OUTPUT_NAMES, shuffle_rows, shuffle_verdict

    weights = init_qkv_weights(3, 2, 123)
    check = shuffle_check(lesson_run(3, weights), seed_inputs(), TOKEN_DIMS[3])
    rows = shuffle_rows(check)
    assert len(rows["output"]) == len(TOKEN_DIMS[3])
    for name, moved, gap in zip(check.gaps, rows["moved"], rows["difference"], strict=True):
        assert (moved == "yes") == (check.gaps[name] <= TOL)
        assert float(gap) == pytest.approx(check.gaps[name], rel=0.06, abs=1e-12)
    moved, changed = shuffle_verdict(check, causal=True)
    assert OUTPUT_NAMES["queries"] in moved and OUTPUT_NAMES["attn_weights"] in changed


def test_unscaled_weights_are_the_softmax_of_the_raw_scores():
    from lessons.explore import unscaled_weights

    scores = torch.randn(5, 5)
    weights = unscaled_weights(scores)
    assert torch.allclose(weights.sum(-1), torch.ones(5), atol=1e-6)
    expected = scores.exp() / scores.exp().sum(-1, keepdim=True)
    assert torch.allclose(weights, expected, atol=1e-6)
