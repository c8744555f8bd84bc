"""Lesson 1's pure module: the compute step, the text it computes, the export, the glossary."""

from __future__ import annotations

import math
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attention import attn_scores_loop, seed_inputs, simple_attention
from lessons import export, glossary, lesson1

TOL = 1e-4  # golden values are printed with 4 decimals


def seed_lesson(query: int = 0) -> lesson1.Lesson1:
    return lesson1.compute(list(lesson1.DEFAULT_TOKENS), seed_inputs(), query)


def numbers_in(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+\.\d+", text)]


def test_the_compute_step_reproduces_the_notebook(golden):
    simple = golden["simple"]
    lesson = seed_lesson(simple["query_index"])
    assert torch.allclose(lesson.walk.attn_scores, torch.tensor(simple["query_scores"]), atol=TOL)
    assert torch.allclose(lesson.steps.attn_weights, torch.tensor(simple["weights"]), atol=TOL)
    assert torch.allclose(lesson.steps.context_vecs, torch.tensor(simple["context"]), atol=TOL)
    assert torch.allclose(lesson.loop_scores, torch.tensor(simple["scores"]), atol=TOL)
    assert lesson.loop_difference <= 1e-6
    assert lesson.asymmetry <= 1e-6


def test_the_score_lines_print_each_dot_product(golden):
    simple = golden["simple"]
    lines = lesson1.score_lines(simple["tokens"], seed_lesson().walk)
    assert len(lines) == len(simple["tokens"])
    for line, expected in zip(lines, simple["query_scores"], strict=True):
        terms = re.findall(r"(-?\d+(?:\.\d+)?)×(-?\d+(?:\.\d+)?)", line)
        assert math.isclose(sum(float(a) * float(b) for a, b in terms), expected, abs_tol=TOL)
        assert math.isclose(float(line.split(" = ")[-1].split()[0]), expected, abs_tol=TOL)


def test_the_weighted_sum_ends_with_the_context_vector(golden):
    simple = golden["simple"]
    text = lesson1.weighted_sum_text(simple["tokens"], seed_inputs(), seed_lesson().walk)
    last = text.splitlines()[-1]
    assert numbers_in(last) == pytest.approx(simple["query_context"], abs=TOL)
    assert len(text.splitlines()) == len(simple["tokens"]) + 1


def test_the_weights_table_and_sums(golden):
    simple = golden["simple"]
    walk = seed_lesson().walk
    table = lesson1.weights_table(walk)
    assert table.shape == (5, len(lesson1.WEIGHT_COLUMNS))
    for column, key in enumerate(
        [
            "query_scores",
            "query_weights_sum",
            "query_weights_naive_softmax",
            "query_weights_softmax",
        ]
    ):
        assert torch.allclose(table[:, column], torch.tensor(simple[key]), atol=TOL)
    assert numbers_in(lesson1.weight_sums_text(walk)) == pytest.approx([1, 1, 1], abs=1e-6)
    assert lesson1.weight_warnings(walk) == []


def test_the_seed_query_scores_highest_with_another_key_and_the_note_says_why():
    walk = seed_lesson(0).walk
    assert lesson1.top_keys(walk) == [2]  # "drives", not "Attention" itself
    note = lesson1.highest_score_note(seed_inputs(), walk)
    x = seed_inputs()
    cos = float(x[0] @ x[2] / (x[0].norm() * x[2].norm()))
    expected = [walk.attn_scores[2], walk.attn_scores[0], x[2].norm(), x[0].norm(), cos]
    shown = numbers_in(note)
    assert shown[:2] == pytest.approx([float(v) for v in expected[:2]], abs=TOL)
    assert shown[2:4] == pytest.approx([float(v) for v in expected[2:4]], abs=0.005)
    assert shown[-1] == pytest.approx(cos, abs=0.0005)
    assert "key 3" in note and "not with itself" in note
    question = lesson1.prediction(walk)
    assert question.right == {False}
    assert numbers_in(question.answer)[:1] == pytest.approx([float(walk.attn_scores[2])], abs=TOL)


def test_when_the_query_is_longest_it_scores_highest_with_itself():
    x = torch.tensor([[2.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    walk = lesson1.compute(["a", "b", "c"], x, 0).walk
    assert lesson1.top_keys(walk) == [0]
    assert "itself" in lesson1.highest_score_note(x, walk)
    assert lesson1.prediction(walk).right == {True}


def test_a_tie_makes_both_answers_right():
    x = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    walk = lesson1.compute(["a", "a"], x, 0).walk
    assert lesson1.top_keys(walk) == [0, 1]
    assert lesson1.prediction(walk).right == {True, False}
    assert "tie" in lesson1.highest_score_note(x, walk)


def test_negative_scores_warn_about_sum_normalisation():
    x = torch.tensor([[1.0, 0.0], [-2.0, 0.5]])
    walk = lesson1.compute(["a", "b"], x, 0).walk
    assert bool((walk.normalized["sum"].weights < 0).any())
    assert lesson1.weight_warnings(walk) == [lesson1.SUM_BREAKS_TEXT]


def test_large_scores_warn_about_the_naive_softmax_only():
    x = torch.tensor([[10.0, 0.0], [9.0, 1.0]])  # scores near 100: exp overflows in float32
    walk = lesson1.compute(["a", "b"], x, 0).walk
    assert lesson1.weight_warnings(walk) == [lesson1.OVERFLOW_TEXT]
    assert bool(walk.attn_weights.isfinite().all())


def test_float32_softmax_rounds_to_exactly_one_and_zero():
    _scores, weights = lesson1.rounding_example()
    assert weights[0] == 1.0 and weights[-1] == 0.0
    assert 0.0 < weights[1] < 1e-8
    shown = lesson1.rounding_text()
    assert "1.0" in shown and "0.0" in shown


def test_the_loop_and_matrix_code_shown_compute_the_scores():
    x = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    namespace = {"torch": torch, "inputs": x, "T": x.shape[0]}
    exec(lesson1.LOOP_CODE, namespace)
    assert torch.allclose(namespace["attn_scores"], attn_scores_loop(x))
    exec(lesson1.MATRIX_CODE, namespace)
    assert torch.allclose(namespace["attn_scores"], simple_attention(x).attn_scores)
    del namespace["attn_scores"]
    exec(lesson1.SCORES_CODE, namespace)  # the block the page shows: both, in order
    assert torch.allclose(namespace["attn_scores"], attn_scores_loop(x))


@pytest.mark.parametrize("T", [1, 2, 3, 5, 8, 64])
def test_the_shuffle_is_a_fixed_permutation_that_moves_tokens(T):
    order = lesson1.shuffled_order(T)
    assert sorted(order) == list(range(T))
    assert order == lesson1.shuffled_order(T)
    if T >= 2:
        assert order != list(range(T))


@settings(deadline=None, max_examples=40)
@given(
    st.integers(min_value=1, max_value=10).flatmap(
        lambda T: st.lists(
            st.lists(st.floats(-3, 3, allow_nan=False, width=32), min_size=3, max_size=3),
            min_size=T,
            max_size=T,
        )
    )
)
def test_shuffled_outputs_are_the_permuted_originals(rows):
    x = torch.tensor(rows, dtype=torch.float32)
    tokens = [f"t{i}" for i in range(len(rows))]
    lesson = lesson1.compute(tokens, x, 0)
    shuffle = lesson.shuffle
    assert shuffle.max_difference <= lesson1.SHUFFLE_TOL * max(1.0, float(x.abs().max()) ** 2)
    assert shuffle.tokens == [tokens[i] for i in shuffle.order]
    assert lesson1.shuffled_tokens_line(shuffle).split() == shuffle.tokens


def test_a_broken_shuffle_is_caught():
    """The check compares with the permuted originals, so a wrong permutation shows up."""
    x = seed_inputs()
    steps = simple_attention(x)
    wrong = steps._replace(context_vecs=steps.context_vecs.flip(0))
    assert lesson1.shuffle_check(lesson1.DEFAULT_TOKENS, x, wrong).max_difference > 0.01


def test_the_vector_view_is_raw_for_d2_and_3d_and_pca_otherwise():
    walk2 = lesson1.compute(["a", "b"], torch.tensor([[1.0, 0.0], [0.0, 1.0]]), 0).walk
    assert lesson1.vector_view(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), walk2, False).from_origin
    x = seed_inputs()
    walk = seed_lesson().walk
    assert lesson1.vector_view(x, walk, True).points.shape == (5, 3)
    flat = lesson1.vector_view(x, walk, False)
    assert flat.points.shape == (5, 2) and not flat.from_origin


def test_the_export_lives_in_lesson1_and_export_still_serves_it():
    x = seed_inputs()
    tokens = list(lesson1.DEFAULT_TOKENS)
    data = lesson1.lesson1_data(tokens, x, simple_attention(x))
    assert export.to_json(export.lesson1_data(tokens, x, simple_attention(x))) == export.to_json(
        data
    )
    assert export.pytorch_snippet(data) == lesson1.pytorch_script(data)
    assert [m.name for m in data.matrices] == [
        "inputs",
        "attn_scores",
        "attn_weights",
        "context_vecs",
    ]


def test_the_glossary_explains_the_lessons_jargon():
    terms = [entry.term for entry in glossary.ENTRIES]
    assert terms == sorted(terms, key=str.lower)
    for word in [
        "query",
        "d_k",
        "WordPiece",
        "nn.Linear",
        "eval mode",
        "view",
        "softmax",
        "embedding",
        "context vector",
        "head",
        "causal mask",
        "dropout",
        "LayerNorm",
        "residual connection",
        "feed-forward",
        "GELU",
        "one-hot",
        "contrastive objective",
    ]:
        assert any(word in term for term in terms), word
    assert glossary.lookup("softmax").term == "softmax"
    with pytest.raises(KeyError):
        glossary.lookup("no such word")
