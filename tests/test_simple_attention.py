"""Unit tests for lesson 1's core: normalisations, loop vs matrix, walkthrough, embeddings, PCA."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
import torch
from golden_data import REPO_ROOT

import attention
from attention.embeddings import MAX_DIM

ATOL = 1e-6


# --- normalize -------------------------------------------------------------------------------


def test_normalize_sum_by_hand():
    weights = attention.normalize(torch.tensor([1.0, 3.0]), "sum")
    torch.testing.assert_close(weights, torch.tensor([0.25, 0.75]), atol=ATOL, rtol=0)


def test_normalize_sum_breaks_on_zero_sum():
    weights = attention.normalize(torch.tensor([1.0, -1.0]), "sum")
    assert not torch.isfinite(weights).any()


def test_normalize_sum_can_give_negative_weights():
    weights = attention.normalize(torch.tensor([2.0, -1.0]), "sum")
    torch.testing.assert_close(weights, torch.tensor([2.0, -1.0]), atol=ATOL, rtol=0)


@pytest.mark.parametrize("method", ["naive_softmax", "softmax"])
def test_normalize_softmax_by_hand(method):
    # exp(0) = 1 and exp(ln 3) = 3, so the weights are 1/4 and 3/4.
    weights = attention.normalize(torch.tensor([0.0, math.log(3.0)]), method)
    torch.testing.assert_close(weights, torch.tensor([0.25, 0.75]), atol=ATOL, rtol=0)


@pytest.mark.parametrize("method", ["naive_softmax", "softmax"])
def test_normalize_softmax_equal_scores_are_uniform(method):
    weights = attention.normalize(torch.full((4,), 7.5), method)
    torch.testing.assert_close(weights, torch.full((4,), 0.25), atol=ATOL, rtol=0)


@pytest.mark.parametrize("method", ["sum", "naive_softmax", "softmax"])
def test_normalize_works_row_by_row_on_the_last_dimension(method):
    scores = torch.tensor([[1.0, 3.0], [2.0, 2.0]])
    weights = attention.normalize(scores, method)
    assert weights.shape == (2, 2)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(2), atol=ATOL, rtol=0)
    torch.testing.assert_close(weights[1], torch.tensor([0.5, 0.5]), atol=ATOL, rtol=0)
    for row in range(2):
        torch.testing.assert_close(
            weights[row], attention.normalize(scores[row], method), atol=ATOL, rtol=0
        )


@pytest.mark.parametrize("method", ["max", "", "Softmax", None])
def test_normalize_unknown_method_raises(method):
    with pytest.raises(ValueError, match="unknown normalization"):
        attention.normalize(torch.tensor([1.0, 2.0]), method)


def test_normalizations_lists_the_three_methods():
    assert set(attention.NORMALIZATIONS) == {"sum", "naive_softmax", "softmax"}


# --- loop form == matrix form ------------------------------------------------------------------


@pytest.mark.parametrize(("T", "d"), [(1, 1), (2, 3), (5, 3), (7, 16)])
def test_loop_scores_equal_matrix_scores(T, d):
    x = torch.randn(T, d, generator=torch.Generator().manual_seed(T * 100 + d))
    steps = attention.simple_attention(x)
    loop = attention.attn_scores_loop(x)
    assert loop.shape == (T, T)
    torch.testing.assert_close(loop, steps.attn_scores, atol=1e-5, rtol=1.3e-6)
    torch.testing.assert_close(loop, x @ x.T, atol=1e-5, rtol=1.3e-6)


@pytest.mark.parametrize(("T", "d"), [(1, 1), (2, 3), (5, 3), (7, 16)])
def test_loop_context_equals_matrix_context(T, d):
    x = torch.randn(T, d, generator=torch.Generator().manual_seed(T * 100 + d))
    steps = attention.simple_attention(x)
    loop = attention.context_vecs_loop(steps.attn_weights, x)
    assert loop.shape == (T, d)
    torch.testing.assert_close(loop, steps.context_vecs, atol=1e-5, rtol=0)


def test_simple_attention_accepts_nested_lists():
    steps = attention.simple_attention([[1.0, 0.0], [0.0, 1.0]], "sum")
    torch.testing.assert_close(steps.attn_scores, torch.eye(2), atol=0, rtol=0)
    torch.testing.assert_close(steps.attn_weights, torch.eye(2), atol=0, rtol=0)
    torch.testing.assert_close(steps.context_vecs, torch.eye(2), atol=0, rtol=0)


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4)])
def test_simple_attention_rejects_other_ranks(shape):
    with pytest.raises(ValueError, match=r"\(T, d\)"):
        attention.simple_attention(torch.ones(shape))


# --- query_walkthrough -------------------------------------------------------------------------


def test_walkthrough_dot_products_of_seed_query_0():
    x = attention.seed_inputs()
    walk = attention.query_walkthrough(x, 0)
    first = walk.dot_products[0]
    assert first.key_index == 0
    expected_products = torch.tensor([0.12 * 0.12, 0.45 * 0.45, 0.67 * 0.67])
    torch.testing.assert_close(first.products, expected_products, atol=1e-6, rtol=0)
    assert first.value == pytest.approx(0.6658, abs=5e-5)
    assert float(first.products.sum()) == pytest.approx(first.value, abs=1e-6)
    torch.testing.assert_close(first.left, x[0], atol=0, rtol=0)
    torch.testing.assert_close(first.right, x[0], atol=0, rtol=0)


@pytest.mark.parametrize("query_index", range(5))
def test_walkthrough_every_dot_product_sums_its_products(query_index):
    x = attention.seed_inputs()
    walk = attention.query_walkthrough(x, query_index)
    assert [dp.key_index for dp in walk.dot_products] == list(range(5))
    for j, dp in enumerate(walk.dot_products):
        torch.testing.assert_close(dp.left, x[query_index], atol=0, rtol=0)
        torch.testing.assert_close(dp.right, x[j], atol=0, rtol=0)
        torch.testing.assert_close(dp.products, x[query_index] * x[j], atol=1e-7, rtol=0)
        assert float(dp.products.sum()) == pytest.approx(dp.value, abs=1e-6)
        assert float(walk.attn_scores[j]) == pytest.approx(dp.value, abs=1e-6)


@pytest.mark.parametrize("query_index", range(5))
def test_walkthrough_normalized_sums_and_context(query_index):
    x = attention.seed_inputs()
    walk = attention.query_walkthrough(x, query_index)
    steps = attention.simple_attention(x)
    assert set(walk.normalized) == set(attention.NORMALIZATIONS)
    for method, normalized in walk.normalized.items():
        assert normalized.method == method
        assert normalized.total == pytest.approx(1.0, abs=1e-5)
        assert float(normalized.weights.sum()) == pytest.approx(normalized.total, abs=1e-7)
        torch.testing.assert_close(
            normalized.weights, attention.normalize(walk.attn_scores, method), atol=1e-7, rtol=0
        )
    torch.testing.assert_close(walk.attn_scores, steps.attn_scores[query_index], atol=1e-6, rtol=0)
    torch.testing.assert_close(
        walk.attn_weights, steps.attn_weights[query_index], atol=1e-6, rtol=0
    )
    torch.testing.assert_close(
        walk.weighted_rows, walk.attn_weights[:, None] * x, atol=1e-7, rtol=0
    )
    torch.testing.assert_close(walk.context_vec, walk.weighted_rows.sum(0), atol=1e-6, rtol=0)
    torch.testing.assert_close(walk.context_vec, steps.context_vecs[query_index], atol=1e-6, rtol=0)
    torch.testing.assert_close(
        walk.matrix_context_vec, steps.context_vecs[query_index], atol=0, rtol=0
    )
    expected_difference = float((walk.context_vec - walk.matrix_context_vec).abs().max())
    assert walk.max_abs_difference == pytest.approx(expected_difference, abs=0)
    assert walk.max_abs_difference < 1e-6


def test_walkthrough_on_other_shapes():
    x = torch.randn(4, 7, generator=torch.Generator().manual_seed(3))
    walk = attention.query_walkthrough(x, 3)
    assert len(walk.dot_products) == 4
    assert walk.weighted_rows.shape == (4, 7)
    assert walk.context_vec.shape == (7,)
    torch.testing.assert_close(
        walk.context_vec, attention.simple_attention(x).context_vecs[3], atol=1e-5, rtol=0
    )


@pytest.mark.parametrize("query_index", [-1, 5, 100])
def test_walkthrough_bad_query_index_raises(query_index):
    with pytest.raises(IndexError):
        attention.query_walkthrough(attention.seed_inputs(), query_index)


# --- token_embedding / embed_tokens ------------------------------------------------------------

TOKENS = ("Attention", "cat", "", "naïve", "日本語", "🙂", "a b", "A")


@pytest.mark.parametrize("token", TOKENS)
def test_token_embedding_is_deterministic_within_a_process(token):
    first = attention.token_embedding(token, MAX_DIM)
    second = attention.token_embedding(token, MAX_DIM)
    assert first.dtype == torch.float32
    assert first.shape == (MAX_DIM,)
    torch.testing.assert_close(first, second, atol=0, rtol=0)


def test_token_embedding_is_deterministic_across_processes():
    code = (
        "import json, sys\n"
        "from attention import token_embedding\n"
        "tokens = json.loads(sys.argv[1])\n"
        "vectors = [token_embedding(t, 16).tolist() for t in tokens]\n"
        "print(json.dumps({'hash': hash(tokens[0]), 'vectors': vectors}))\n"
    )
    here = [attention.token_embedding(t, MAX_DIM).tolist() for t in TOKENS]
    # Any seed unlike this process's own: string hashes then differ between the two processes.
    hash_seed = "54321" if os.environ.get("PYTHONHASHSEED") == "12345" else "12345"
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(TOKENS)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
        check=True,
    )
    child = json.loads(result.stdout)
    assert child["hash"] != hash(TOKENS[0]), "the child process should hash strings differently"
    assert child["vectors"] == here


def test_different_tokens_get_different_vectors():
    vectors = {t: tuple(attention.token_embedding(t, MAX_DIM).tolist()) for t in TOKENS}
    assert len(set(vectors.values())) == len(TOKENS)


@pytest.mark.parametrize("token", TOKENS)
def test_token_embedding_values_in_range_with_two_decimals(token):
    values = attention.token_embedding(token, MAX_DIM).to(torch.float64)
    assert bool(((values >= -1.0) & (values <= 1.0)).all())
    hundredths = values * 100
    torch.testing.assert_close(hundredths, hundredths.round(), atol=1e-4, rtol=0)


@pytest.mark.parametrize("token", TOKENS)
def test_token_embedding_is_prefix_stable_across_d(token):
    full = attention.token_embedding(token, MAX_DIM)
    for d in range(1, MAX_DIM + 1):
        vector = attention.token_embedding(token, d)
        assert vector.shape == (d,)
        torch.testing.assert_close(vector, full[:d], atol=0, rtol=0)


@pytest.mark.parametrize("d", [0, -1, MAX_DIM + 1, 100])
def test_token_embedding_rejects_bad_d(d):
    assert MAX_DIM == 16
    with pytest.raises(ValueError):
        attention.token_embedding("cat", d)


def test_embed_tokens_shape_and_rows():
    tokens = ["the", "cat", "sat", "on", "the", "mat"]
    x = attention.embed_tokens(tokens, 5)
    assert x.shape == (6, 5)
    assert x.dtype == torch.float32
    torch.testing.assert_close(x[0], x[4], atol=0, rtol=0)
    assert not torch.equal(x[0], x[1])
    for i, token in enumerate(tokens):
        torch.testing.assert_close(x[i], attention.token_embedding(token, 5), atol=0, rtol=0)


def test_embed_tokens_accepts_tuples_and_empty():
    torch.testing.assert_close(
        attention.embed_tokens(("a", "b"), 3), attention.embed_tokens(["a", "b"], 3), atol=0, rtol=0
    )
    assert attention.embed_tokens([], 4).shape == (0, 4)


# --- pca_2d ------------------------------------------------------------------------------------


def pairwise_distances(points: torch.Tensor) -> torch.Tensor:
    return torch.cdist(points.to(torch.float64), points.to(torch.float64))


@pytest.mark.parametrize(("N", "d"), [(5, 3), (10, 16), (3, 2), (8, 1), (1, 4), (2, 5)])
def test_pca_shapes_and_explained(N, d):
    x = torch.randn(N, d, generator=torch.Generator().manual_seed(N * 31 + d))
    projection = attention.pca_2d(x)
    assert projection.points.shape == (N, 2)
    assert projection.explained.shape == (2,)
    assert torch.isfinite(projection.points).all()
    explained = projection.explained
    assert bool(((explained >= 0) & (explained <= 1)).all())
    assert float(explained.sum()) <= 1.0 + 1e-6
    assert float(explained[0]) >= float(explained[1])


def test_pca_recovers_planar_data_up_to_rotation():
    gen = torch.Generator().manual_seed(7)
    plane = torch.randn(12, 2, generator=gen, dtype=torch.float64) * torch.tensor([3.0, 1.0])
    basis, _ = torch.linalg.qr(torch.randn(6, 2, generator=gen, dtype=torch.float64))  # (6, 2)
    offset = torch.randn(1, 6, generator=gen, dtype=torch.float64)
    x = plane @ basis.T + offset  # 12 points on a 2-D plane inside 6-D space
    projection = attention.pca_2d(x)
    torch.testing.assert_close(
        pairwise_distances(projection.points), pairwise_distances(x), atol=1e-4, rtol=0
    )
    assert float(projection.explained.sum()) == pytest.approx(1.0, abs=1e-5)
    # Centred at the mean.
    torch.testing.assert_close(projection.points.mean(0), torch.zeros(2), atol=1e-5, rtol=0)


def test_pca_of_the_seed_inputs_keeps_most_variance():
    projection = attention.pca_2d(attention.seed_inputs())
    assert projection.points.shape == (5, 2)
    assert 0.5 < float(projection.explained[0]) <= 1.0
    assert float(projection.explained.sum()) <= 1.0 + 1e-6


def test_pca_is_deterministic_and_sign_fixed():
    x = torch.randn(9, 4, generator=torch.Generator().manual_seed(11))
    first, second = attention.pca_2d(x), attention.pca_2d(x.clone())
    torch.testing.assert_close(first.points, second.points, atol=0, rtol=0)
    torch.testing.assert_close(first.explained, second.explained, atol=0, rtol=0)


def test_pca_of_one_dimensional_data():
    x = torch.tensor([[1.0], [3.0], [6.0]])
    projection = attention.pca_2d(x)
    torch.testing.assert_close(
        projection.points[:, 0], torch.tensor([-2.3333, -0.3333, 2.6667]), atol=1e-4, rtol=0
    )
    torch.testing.assert_close(projection.points[:, 1], torch.zeros(3), atol=0, rtol=0)
    torch.testing.assert_close(projection.explained, torch.tensor([1.0, 0.0]), atol=1e-6, rtol=0)


def test_pca_of_a_single_point():
    projection = attention.pca_2d(torch.tensor([[0.3, -0.2, 0.9]]))
    torch.testing.assert_close(projection.points, torch.zeros(1, 2), atol=0, rtol=0)
    torch.testing.assert_close(projection.explained, torch.zeros(2), atol=0, rtol=0)


def test_pca_of_identical_points():
    projection = attention.pca_2d(torch.ones(4, 3))
    torch.testing.assert_close(projection.points, torch.zeros(4, 2), atol=0, rtol=0)
    torch.testing.assert_close(projection.explained, torch.zeros(2), atol=0, rtol=0)
