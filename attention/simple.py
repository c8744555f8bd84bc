"""Lesson 1: simple self-attention with no trainable weights.

Shape legend: T = number of tokens, d = embedding dimension.

Every idea is written twice: the loop form the seed notebook uses (one dot product at a time)
and the matrix form (one matmul). The tests check that they agree.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch

Normalization = Literal["softmax", "naive_softmax", "sum"]
NORMALIZATIONS: tuple[Normalization, ...] = ("sum", "naive_softmax", "softmax")


class AttentionSteps(NamedTuple):
    """The three steps of self-attention, each a tensor.

    attn_scores: (T, T), attn_weights: (T, T), context_vecs: (T, d).
    """

    attn_scores: torch.Tensor
    attn_weights: torch.Tensor
    context_vecs: torch.Tensor

    # Short aliases, so `steps.scores` reads like the issue text.
    @property
    def scores(self) -> torch.Tensor:
        return self.attn_scores

    @property
    def weights(self) -> torch.Tensor:
        return self.attn_weights

    @property
    def context(self) -> torch.Tensor:
        return self.context_vecs


def as_inputs(inputs: torch.Tensor | list[list[float]]) -> torch.Tensor:
    """Return `inputs` as a float32 tensor of shape (T, d); reject any other rank."""
    x = torch.as_tensor(inputs, dtype=torch.float32)
    if x.dim() != 2:
        raise ValueError(f"inputs must have shape (T, d), got {tuple(x.shape)}")
    return x


def normalize(attn_scores: torch.Tensor, method: Normalization = "softmax") -> torch.Tensor:
    """Turn scores into weights over the last dimension.

    - "sum": score / sum of scores (the notebook's first try; breaks on negative or zero sums)
    - "naive_softmax": exp(score) / sum exp(score) (overflows to inf/NaN for scores near 89+)
    - "softmax": torch.softmax, which subtracts the row max first and stays exact

    attn_scores: (..., T) -> weights: (..., T)
    """
    if method == "sum":
        return attn_scores / attn_scores.sum(dim=-1, keepdim=True)
    if method == "naive_softmax":
        exp_scores = torch.exp(attn_scores)
        return exp_scores / exp_scores.sum(dim=-1, keepdim=True)
    if method == "softmax":
        return torch.softmax(attn_scores, dim=-1)
    raise ValueError(f"unknown normalization {method!r}; use one of {NORMALIZATIONS}")


def simple_attention(
    inputs: torch.Tensor, normalization: Normalization = "softmax"
) -> AttentionSteps:
    """Self-attention with no trainable weights, in matrix form.

    Equivalent to:
        attn_scores = inputs @ inputs.T
        attn_weights = normalize(attn_scores, normalization)
        context_vecs = attn_weights @ inputs

    inputs: (T, d) -> AttentionSteps(attn_scores (T, T), attn_weights (T, T), context_vecs (T, d))
    """
    x = as_inputs(inputs)
    attn_scores = x @ x.T  # (T, d) x (d, T) -> (T, T)
    attn_weights = normalize(attn_scores, normalization)  # (T, T), rows sum to 1
    context_vecs = attn_weights @ x  # (T, T) x (T, d) -> (T, d)
    return AttentionSteps(attn_scores, attn_weights, context_vecs)


def attn_scores_loop(inputs: torch.Tensor) -> torch.Tensor:
    """Scores the way the notebook first writes them: w_ij = x_i . x_j, one pair at a time.

    inputs: (T, d) -> attn_scores: (T, T)
    """
    x = as_inputs(inputs)
    T = x.shape[0]
    attn_scores = torch.empty(T, T)
    for i, x_i in enumerate(x):
        for j, x_j in enumerate(x):
            attn_scores[i, j] = torch.dot(x_i, x_j)
    return attn_scores


def context_vecs_loop(attn_weights: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Context vectors as weighted sums of rows: z_i = sum_j a_ij x_j, one row at a time.

    attn_weights: (T, T), inputs: (T, d) -> context_vecs: (T, d)
    """
    x = as_inputs(inputs)
    context_vecs = torch.zeros_like(x)
    for i in range(x.shape[0]):
        for j, x_j in enumerate(x):
            context_vecs[i] += attn_weights[i, j] * x_j
    return context_vecs


class DotProduct(NamedTuple):
    """One score w_ij = x_i . x_j with its term-by-term products.

    left: (d,) = x_i, right: (d,) = x_j, products: (d,), value: scalar.
    """

    key_index: int
    left: torch.Tensor
    right: torch.Tensor
    products: torch.Tensor
    value: float


class Normalized(NamedTuple):
    """One normalisation of the query's scores: weights (T,) and their sum."""

    method: Normalization
    weights: torch.Tensor
    total: float


class QueryWalkthrough(NamedTuple):
    """Every intermediate number for one query token, in the notebook's order.

    dot_products: T items; attn_scores: (T,); normalized: one per method;
    attn_weights: (T,) (softmax); weighted_rows: (T, d) = a_ij * x_j;
    context_vec: (d,) from the loop; matrix_context_vec: (d,) row i of the matrix form;
    max_abs_difference: largest |loop - matrix| over the d entries.
    """

    query_index: int
    dot_products: list[DotProduct]
    attn_scores: torch.Tensor
    normalized: dict[Normalization, Normalized]
    attn_weights: torch.Tensor
    weighted_rows: torch.Tensor
    context_vec: torch.Tensor
    matrix_context_vec: torch.Tensor
    max_abs_difference: float


def query_walkthrough(inputs: torch.Tensor, query_index: int) -> QueryWalkthrough:
    """Work one query through the lesson step by step, the way the notebook does for x^(2).

    inputs: (T, d); query_index in [0, T).
    """
    x = as_inputs(inputs)
    T, _d = x.shape
    if not 0 <= query_index < T:
        raise IndexError(f"query_index {query_index} is outside 0..{T - 1}")
    query = x[query_index]  # (d,)

    dot_products = []
    scores = torch.empty(T)
    for j, x_j in enumerate(x):
        products = query * x_j  # (d,) term by term
        value = torch.dot(query, x_j)
        scores[j] = value
        dot_products.append(DotProduct(j, query, x_j, products, float(value)))

    normalized = {}
    for method in NORMALIZATIONS:
        weights = normalize(scores, method)
        normalized[method] = Normalized(method, weights, float(weights.sum()))
    attn_weights = normalized["softmax"].weights

    weighted_rows = attn_weights[:, None] * x  # (T, 1) * (T, d) -> (T, d)
    context_vec = torch.zeros_like(query)
    for row in weighted_rows:
        context_vec += row

    matrix_context_vec = simple_attention(x).context_vecs[query_index]
    max_abs_difference = float((context_vec - matrix_context_vec).abs().max())
    return QueryWalkthrough(
        query_index,
        dot_products,
        scores,
        normalized,
        attn_weights,
        weighted_rows,
        context_vec,
        matrix_context_vec,
        max_abs_difference,
    )
