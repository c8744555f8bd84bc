"""The core reproduces every number the seed notebook prints (tests/data/seed.json)."""

from __future__ import annotations

import json

import pytest
import torch
from golden_data import GOLDEN_PATH, SHARED_GOLDEN_PATH

import attention

GOLDEN_ENTRIES = (
    "query_scores",
    "query_weights_sum",
    "query_weights_naive_softmax",
    "query_weights_softmax",
    "query_context",
    "scores",
    "weights",
    "context",
)


def assert_golden(actual: torch.Tensor, expected: list, tolerance: float) -> None:
    expected_tensor = torch.tensor(expected, dtype=torch.float64)
    torch.testing.assert_close(actual.to(torch.float64), expected_tensor, atol=tolerance, rtol=0.0)


def test_repo_copy_matches_shared_golden_file():
    if not SHARED_GOLDEN_PATH.exists():
        pytest.skip(f"shared golden file not present at {SHARED_GOLDEN_PATH}; nothing to compare")
    shared = json.loads(SHARED_GOLDEN_PATH.read_text(encoding="utf-8"))
    repo_copy = json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))
    assert repo_copy == shared, f"{GOLDEN_PATH} is out of date; copy {SHARED_GOLDEN_PATH} over it"


def test_golden_file_has_every_value_the_tests_use(golden):
    assert golden["tolerance"] == pytest.approx(5e-5)
    for key in ("tokens", "inputs", "query_index", *GOLDEN_ENTRIES):
        assert key in golden["simple"], key
    assert set(golden["softmax_example"]) == {"scores", "softmax"}


def test_app_default_is_the_seed_example(golden):
    simple = golden["simple"]
    assert list(attention.SEED_TOKENS) == simple["tokens"]
    x = attention.seed_inputs()
    assert x.dtype == torch.float32
    assert x.shape == (len(simple["tokens"]), 3)
    # The golden inputs are the float32 values written out exactly, so compare exactly.
    assert x.tolist() == simple["inputs"]


def test_query_walkthrough_reproduces_golden_query(golden):
    simple, tol = golden["simple"], golden["tolerance"]
    walk = attention.query_walkthrough(attention.seed_inputs(), simple["query_index"])
    assert walk.query_index == simple["query_index"]
    assert_golden(walk.attn_scores, simple["query_scores"], tol)
    assert_golden(torch.tensor([dp.value for dp in walk.dot_products]), simple["query_scores"], tol)
    assert_golden(walk.normalized["sum"].weights, simple["query_weights_sum"], tol)
    assert_golden(
        walk.normalized["naive_softmax"].weights, simple["query_weights_naive_softmax"], tol
    )
    assert_golden(walk.normalized["softmax"].weights, simple["query_weights_softmax"], tol)
    assert_golden(walk.attn_weights, simple["query_weights_softmax"], tol)
    assert_golden(walk.context_vec, simple["query_context"], tol)
    assert_golden(walk.matrix_context_vec, simple["query_context"], tol)


@pytest.mark.parametrize(
    ("method", "key"),
    [
        ("sum", "query_weights_sum"),
        ("naive_softmax", "query_weights_naive_softmax"),
        ("softmax", "query_weights_softmax"),
    ],
)
def test_simple_attention_row_reproduces_golden_query(golden, method, key):
    simple, tol = golden["simple"], golden["tolerance"]
    steps = attention.simple_attention(attention.seed_inputs(), method)
    q = simple["query_index"]
    assert_golden(steps.attn_scores[q], simple["query_scores"], tol)
    assert_golden(steps.attn_weights[q], simple[key], tol)


def test_simple_attention_row_reproduces_golden_query_context(golden):
    simple, tol = golden["simple"], golden["tolerance"]
    steps = attention.simple_attention(attention.seed_inputs())
    assert_golden(steps.context_vecs[simple["query_index"]], simple["query_context"], tol)


def test_simple_attention_reproduces_golden_matrices(golden):
    simple, tol = golden["simple"], golden["tolerance"]
    steps = attention.simple_attention(attention.seed_inputs())
    assert_golden(steps.attn_scores, simple["scores"], tol)
    assert_golden(steps.attn_weights, simple["weights"], tol)
    assert_golden(steps.context_vecs, simple["context"], tol)
    # The short aliases point at the same tensors.
    assert steps.scores is steps.attn_scores
    assert steps.weights is steps.attn_weights
    assert steps.context is steps.context_vecs


def test_loop_form_reproduces_golden_matrices(golden):
    simple, tol = golden["simple"], golden["tolerance"]
    x = attention.seed_inputs()
    scores = attention.attn_scores_loop(x)
    assert_golden(scores, simple["scores"], tol)
    weights = attention.normalize(scores, "softmax")
    assert_golden(weights, simple["weights"], tol)
    assert_golden(attention.context_vecs_loop(weights, x), simple["context"], tol)


@pytest.mark.parametrize("method", ["softmax", "naive_softmax"])
def test_softmax_example(golden, method):
    example, tol = golden["softmax_example"], golden["tolerance"]
    weights = attention.normalize(torch.tensor(example["scores"]), method)
    assert_golden(weights, example["softmax"], tol)
