"""Lesson 3: causal (masked) attention and dropout on the attention weights.

Shape legend: B batch, T tokens, d_in embedding size, d_out projected size (d_k = d_out).
Weights given as W_query, W_key, W_value are in the (d_in, d_out) orientation that
trainable_attention uses: queries = inputs @ W_query.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from attention.scaled import causal_mask, scaled_dot_product
from attention.simple import AttentionSteps, as_inputs
from attention.trainable import QKVWeights, trainable_attention


class CausalSteps(NamedTuple):
    """Causal attention, computed both ways the notebook shows.

    queries, keys, values: (T, d_out); attn_scores: (T, T) = Q K^T, not scaled;
    mask: (T, T) bool, True above the diagonal (the future, blocked);
    unmasked_weights: (T, T) softmax of the scaled scores with no mask (lesson 2's weights);
    zeroed_weights: (T, T) unmasked_weights with the future set to 0 (rows no longer sum to 1);
    renormalized_weights: (T, T) way (a): zeroed_weights / row sums;
    masked_scores: (T, T) scaled scores with the future set to -inf;
    attn_weights: (T, T) way (b): softmax(masked_scores);
    context_vecs: (T, d_out) = attn_weights @ values (way b).
    """

    queries: torch.Tensor
    keys: torch.Tensor
    values: torch.Tensor
    attn_scores: torch.Tensor
    mask: torch.Tensor
    unmasked_weights: torch.Tensor
    zeroed_weights: torch.Tensor
    renormalized_weights: torch.Tensor
    masked_scores: torch.Tensor
    attn_weights: torch.Tensor
    context_vecs: torch.Tensor


class DropoutResult(NamedTuple):
    """mask_kept: bool, same shape as the weights (True = kept);
    dropped_weights: kept weights * 1 / (1 - p), dropped ones 0."""

    mask_kept: torch.Tensor
    dropped_weights: torch.Tensor


def causal_attention(
    inputs: torch.Tensor,
    W_query: torch.Tensor,
    W_key: torch.Tensor,
    W_value: torch.Tensor,
) -> CausalSteps:
    """Causal self-attention: token i attends only to tokens 0..i.

    Equivalent to (way b):
        attn_scores = (inputs @ W_query) @ (inputs @ W_key).T
        masked_scores = (attn_scores / sqrt(d_k)).masked_fill(causal_mask(T), -inf)
        attn_weights = softmax(masked_scores); context_vecs = attn_weights @ (inputs @ W_value)
    Way (a), kept for the lesson: softmax without mask, zero the future, divide by row sums.
    The two agree; only for extreme scores can (a) underflow (a row of zeros) where (b) cannot.

    inputs: (T, d_in); W_query, W_key, W_value: (d_in, d_out).
    """
    x = as_inputs(inputs)
    T = x.shape[0]
    plain = trainable_attention(x, QKVWeights(W_query, W_key, W_value))
    mask = causal_mask(T)  # (T, T) bool, True = future

    # Way (a): mask after softmax, then renormalise.
    unmasked_weights = plain.attn_weights  # (T, T)
    zeroed_weights = unmasked_weights.masked_fill(mask, 0.0)  # (T, T) = unmasked * tril
    row_sums = zeroed_weights.sum(dim=-1, keepdim=True)  # (T, 1)
    # With extreme scores the whole visible part of a row can underflow to 0: keep it 0, not NaN.
    renormalized_weights = zeroed_weights / row_sums.clamp_min(torch.finfo(row_sums.dtype).tiny)

    # Way (b): -inf before softmax.
    masked = scaled_dot_product(plain.queries, plain.keys, plain.values, mask=mask)
    return CausalSteps(
        plain.queries,
        plain.keys,
        plain.values,
        plain.attn_scores,
        mask,
        unmasked_weights,
        zeroed_weights,
        renormalized_weights,
        masked.attn_scores,  # (T, T) scaled, -inf above the diagonal
        masked.attn_weights,  # (T, T)
        masked.context_vecs,  # (T, T) x (T, d_out) -> (T, d_out)
    )


def init_linear_qkv(d_in: int, d_out: int, seed: int = 789) -> QKVWeights:
    """W_query, W_key, W_value the notebook's way: torch.manual_seed(seed), then
    nn.Linear(d_in, d_out, bias=False) for query, key, value, in that order.

    Returned as linear.weight.T, i.e. (d_in, d_out) each, ready for causal_attention and
    trainable_attention. The global RNG state is restored afterwards.
    """
    if d_in < 1 or d_out < 1:
        raise ValueError(f"d_in and d_out must be at least 1, got d_in={d_in}, d_out={d_out}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        linears = [nn.Linear(d_in, d_out, bias=False) for _ in range(3)]
    W_query, W_key, W_value = (linear.weight.detach().T.contiguous() for linear in linears)
    return QKVWeights(W_query, W_key, W_value)


def apply_dropout(attn_weights: torch.Tensor, p: float, seed: int = 0) -> DropoutResult:
    """Dropout on attention weights, reproducible: each entry is kept with probability 1 - p
    (drawn from a generator seeded with `seed`) and scaled by 1 / (1 - p); the rest become 0.

    attn_weights: any shape; p in [0, 1). p = 0 returns the weights unchanged.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout p must be in [0, 1), got {p}")
    generator = torch.Generator().manual_seed(seed)
    draws = torch.rand(attn_weights.shape, generator=generator)  # same shape, uniform [0, 1)
    mask_kept = draws >= p  # P(kept) = 1 - p; all True when p = 0
    dropped_weights = torch.where(
        mask_kept, attn_weights / (1.0 - p), torch.zeros_like(attn_weights)
    )
    return DropoutResult(mask_kept, dropped_weights)


class SelfAttentionHead(nn.Module):
    """One head with nn.Linear projections and dropout on the weights, every key visible
    (CausalAttention is the same head with a causal mask).
    x: (B, T, d_in) (or (T, d_in)) -> context_vecs (B, T, d_out).
    """

    def __init__(self, d_in: int, d_out: int, dropout: float = 0.0, qkv_bias: bool = False):
        super().__init__()
        self.d_out = d_out
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.dropout = nn.Dropout(dropout)
        self.last_attn_weights: torch.Tensor | None = None

    def steps(self, x: torch.Tensor) -> AttentionSteps:
        """AttentionSteps(attn_scores (B, T, T) scaled, attn_weights (B, T, T) after dropout,
        context_vecs (B, T, d_out))."""
        keys = self.W_key(x)  # (B, T, d_in) -> (B, T, d_out)
        queries = self.W_query(x)  # (B, T, d_in) -> (B, T, d_out)
        values = self.W_value(x)  # (B, T, d_in) -> (B, T, d_out)
        # (B, T, d_out) x (B, d_out, T) -> (B, T, T); softmax; x (B, T, d_out)
        steps = scaled_dot_product(queries, keys, values, mask=self.mask_for(x.shape[-2]))
        attn_weights = self.dropout(steps.attn_weights)  # (B, T, T)
        context_vecs = attn_weights @ values  # (B, T, T) x (B, T, d_out) -> (B, T, d_out)
        return AttentionSteps(steps.attn_scores, attn_weights, context_vecs)

    def mask_for(self, T: int) -> torch.Tensor | None:
        """Which keys each of T queries may see ((T, T) bool), or None: every key."""
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = self.steps(x)
        self.last_attn_weights = steps.attn_weights.detach()
        return steps.context_vecs


class CausalAttention(SelfAttentionHead):
    """The book's CausalAttention (Raschka, ch. 3): a SelfAttentionHead with a causal mask buffer.

    x: (B, T, d_in) with T <= context_length -> context_vecs (B, T, d_out).
    forward also keeps `last_attn_weights` (B, T, T) for drawing; `steps(x)` returns
    AttentionSteps(attn_scores, attn_weights, context_vecs).
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        context_length: int,
        dropout: float = 0.0,
        qkv_bias: bool = False,
    ) -> None:
        super().__init__(d_in, d_out, dropout, qkv_bias)
        self.context_length = context_length
        self.register_buffer("mask", causal_mask(context_length))  # (ctx, ctx) bool

    def mask_for(self, T: int) -> torch.Tensor:
        """Query i sees keys 0..i: the top-left (T, T) corner of the mask buffer."""
        if self.context_length < T:
            raise ValueError(f"T={T} is longer than context_length={self.context_length}")
        return self.mask[:T, :T]  # (T, T)
