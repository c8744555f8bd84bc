"""Lesson 2: self-attention with trainable weights W_query, W_key, W_value.

Shape legend: T tokens, d_in embedding size, d_out projected size (d_k = d_out for queries
and keys), N samples in the why-scale experiment.

Weights here are in the notebook's (d_in, d_out) orientation: queries = inputs @ W_query.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from attention.scaled import scaled_dot_product
from attention.simple import as_inputs


class QKVWeights(NamedTuple):
    """The three projection matrices, each (d_in, d_out)."""

    W_query: torch.Tensor
    W_key: torch.Tensor
    W_value: torch.Tensor


class TrainableSteps(NamedTuple):
    """Every step of self-attention with trainable weights.

    queries, keys, values: (T, d_out); attn_scores: (T, T) = Q K^T, not yet scaled;
    scaled_scores: (T, T) = attn_scores * scale; attn_weights: (T, T), rows sum to 1;
    context_vecs: (T, d_out).
    """

    queries: torch.Tensor
    keys: torch.Tensor
    values: torch.Tensor
    attn_scores: torch.Tensor
    scaled_scores: torch.Tensor
    attn_weights: torch.Tensor
    context_vecs: torch.Tensor


class QueryLoop(NamedTuple):
    """One query worked through one key at a time.

    query: (d_out,) = q_i; attn_scores: (T,) = q_i . k_j; scaled_scores: (T,);
    attn_weights: (T,); context_vec: (d_out,) = sum_j a_ij v_j.
    """

    query_index: int
    query: torch.Tensor
    attn_scores: torch.Tensor
    scaled_scores: torch.Tensor
    attn_weights: torch.Tensor
    context_vec: torch.Tensor


class VarianceCurve(NamedTuple):
    """Variance of q . k per d_k: d_ks (K,), var_unscaled (K,) ~ d_k, var_scaled (K,) ~ 1."""

    d_ks: torch.Tensor
    var_unscaled: torch.Tensor
    var_scaled: torch.Tensor


def init_qkv_weights(d_in: int, d_out: int, seed: int = 123) -> QKVWeights:
    """W_query, W_key, W_value drawn with torch.rand, in that order, from a generator seeded
    with `seed` (the same numbers as torch.manual_seed(seed) on CPU; global state untouched).

    Returns QKVWeights, each (d_in, d_out), values in [0, 1).
    """
    if d_in < 1 or d_out < 1:
        raise ValueError(f"d_in and d_out must be at least 1, got d_in={d_in}, d_out={d_out}")
    generator = torch.Generator().manual_seed(seed)
    W_query = torch.rand(d_in, d_out, generator=generator)
    W_key = torch.rand(d_in, d_out, generator=generator)
    W_value = torch.rand(d_in, d_out, generator=generator)
    return QKVWeights(W_query, W_key, W_value)


def _check_weights(x: torch.Tensor, weights: QKVWeights) -> None:
    d_in = x.shape[-1]
    for name, W in zip(QKVWeights._fields, weights, strict=True):
        if W.dim() != 2 or W.shape[0] != d_in:
            raise ValueError(f"{name} must have shape ({d_in}, d_out), got {tuple(W.shape)}")
    if weights.W_query.shape[1] != weights.W_key.shape[1]:
        raise ValueError("W_query and W_key must have the same d_out")


def trainable_attention(
    inputs: torch.Tensor, weights: QKVWeights, scale: float | None = None
) -> TrainableSteps:
    """Self-attention with trainable weights, in matrix form.

    Equivalent to:
        queries, keys, values = inputs @ W_query, inputs @ W_key, inputs @ W_value
        attn_scores = queries @ keys.T
        attn_weights = softmax(attn_scores * scale)      # scale = 1 / sqrt(d_k)
        context_vecs = attn_weights @ values

    inputs: (T, d_in); weights: QKVWeights, each (d_in, d_out); scale: default 1 / sqrt(d_k).
    """
    x = as_inputs(inputs)
    _check_weights(x, weights)
    queries = x @ weights.W_query  # (T, d_in) x (d_in, d_out) -> (T, d_out)
    keys = x @ weights.W_key  # (T, d_in) x (d_in, d_out) -> (T, d_out)
    values = x @ weights.W_value  # (T, d_in) x (d_in, d_out) -> (T, d_out)
    attn_scores = queries @ keys.T  # (T, d_out) x (d_out, T) -> (T, T)
    steps = scaled_dot_product(queries, keys, values, scale=scale)
    return TrainableSteps(
        queries,
        keys,
        values,
        attn_scores,
        steps.attn_scores,  # (T, T) scaled
        steps.attn_weights,  # (T, T)
        steps.context_vecs,  # (T, T) x (T, d_out) -> (T, d_out)
    )


def query_attention_loop(
    inputs: torch.Tensor, weights: QKVWeights, query_index: int, scale: float | None = None
) -> QueryLoop:
    """Attention for one query the way the notebook first writes it: q_i . k_j one key at a time.

    inputs: (T, d_in); weights: QKVWeights, each (d_in, d_out); query_index in [0, T).
    """
    x = as_inputs(inputs)
    _check_weights(x, weights)
    T = x.shape[0]
    if not 0 <= query_index < T:
        raise IndexError(f"query_index {query_index} is outside 0..{T - 1}")
    d_k = weights.W_key.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(d_k)

    query = x[query_index] @ weights.W_query  # (d_in,) x (d_in, d_out) -> (d_out,)
    attn_scores = torch.empty(T)
    for j, x_j in enumerate(x):
        key_j = x_j @ weights.W_key  # (d_in,) x (d_in, d_out) -> (d_out,)
        attn_scores[j] = torch.dot(query, key_j)
    scaled_scores = attn_scores * scale
    attn_weights = torch.softmax(scaled_scores, dim=-1)  # (T,)
    context_vec = torch.zeros(weights.W_value.shape[1])
    for j, x_j in enumerate(x):
        value_j = x_j @ weights.W_value  # (d_in,) x (d_in, d_out) -> (d_out,)
        context_vec += attn_weights[j] * value_j
    return QueryLoop(query_index, query, attn_scores, scaled_scores, attn_weights, context_vec)


class SelfAttentionV1(nn.Module):
    """The notebook's SelfAttention_v1: W_* = nn.Parameter(torch.rand(d_in, d_out)).

    Draws from the global RNG like the notebook (torch.manual_seed(123) first reproduces
    init_qkv_weights(d_in, d_out, 123)). forward: x (T, d_in) -> context_vecs (T, d_out).
    """

    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.W_query = nn.Parameter(torch.rand(d_in, d_out))
        self.W_key = nn.Parameter(torch.rand(d_in, d_out))
        self.W_value = nn.Parameter(torch.rand(d_in, d_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keys = x @ self.W_key  # (T, d_in) x (d_in, d_out) -> (T, d_out)
        queries = x @ self.W_query  # (T, d_in) x (d_in, d_out) -> (T, d_out)
        values = x @ self.W_value  # (T, d_in) x (d_in, d_out) -> (T, d_out)
        attn_scores = queries @ keys.T  # (T, d_out) x (d_out, T) -> (T, T)
        attn_weights = torch.softmax(attn_scores / keys.shape[-1] ** 0.5, dim=-1)
        return attn_weights @ values  # (T, T) x (T, d_out) -> (T, d_out)


class SelfAttentionV2(nn.Module):
    """The notebook's SelfAttention_v2: nn.Linear projections (weight stored as (d_out, d_in)).

    forward: x (T, d_in) -> context_vecs (T, d_out).
    """

    def __init__(self, d_in: int, d_out: int, qkv_bias: bool = False) -> None:
        super().__init__()
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keys = self.W_key(x)  # (T, d_in) -> (T, d_out)
        queries = self.W_query(x)  # (T, d_in) -> (T, d_out)
        values = self.W_value(x)  # (T, d_in) -> (T, d_out)
        attn_scores = queries @ keys.T  # (T, d_out) x (d_out, T) -> (T, T)
        attn_weights = torch.softmax(attn_scores / keys.shape[-1] ** 0.5, dim=-1)
        return attn_weights @ values  # (T, T) x (T, d_out) -> (T, d_out)


def copy_v2_into_v1(v2: SelfAttentionV2, v1: SelfAttentionV1) -> SelfAttentionV1:
    """Copy V2's nn.Linear weights, transposed to (d_in, d_out), into V1's parameters."""
    if v2.W_query.bias is not None:
        raise ValueError("SelfAttentionV1 has no bias; use a SelfAttentionV2 with qkv_bias=False")
    with torch.no_grad():
        v1.W_query.copy_(v2.W_query.weight.T)
        v1.W_key.copy_(v2.W_key.weight.T)
        v1.W_value.copy_(v2.W_value.weight.T)
    return v1


def dot_product_variance(d_k: int, samples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Why scale by 1/sqrt(d_k): the variance of q . k for q, k ~ N(0, 1)^d_k.

    Returns (var_unscaled ~ d_k, var_scaled ~ 1), where scaled = q . k / sqrt(d_k).
    `samples` pairs (N) are drawn from a generator seeded with `seed`.
    """
    if d_k < 1 or samples < 2:
        raise ValueError(f"need d_k >= 1 and samples >= 2, got d_k={d_k}, samples={samples}")
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(samples, d_k, generator=generator, dtype=torch.float64)  # (N, d_k)
    k = torch.randn(samples, d_k, generator=generator, dtype=torch.float64)  # (N, d_k)
    dots = (q * k).sum(dim=-1)  # (N, d_k) * (N, d_k) -> (N,)
    scaled = dots / math.sqrt(d_k)  # (N,)
    return float(dots.var()), float(scaled.var())


def variance_curve(
    d_ks: list[int] | tuple[int, ...], samples: int = 10_000, seed: int = 0
) -> VarianceCurve:
    """dot_product_variance for each d_k (same seed each), as tensors of shape (K,)."""
    pairs = [dot_product_variance(d_k, samples, seed) for d_k in d_ks]
    var_unscaled = torch.tensor([p[0] for p in pairs], dtype=torch.float64)
    var_scaled = torch.tensor([p[1] for p in pairs], dtype=torch.float64)
    return VarianceCurve(torch.tensor(list(d_ks)), var_unscaled, var_scaled)
