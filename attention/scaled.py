"""Scaled dot-product attention and the head split, shared by lessons 2-5.

Shape legend: T tokens (queries), S tokens (keys/values; S = T in self-attention),
d_k query/key size, d_v value size, h heads, hd head_dim, ... any leading batch dims.
"""

from __future__ import annotations

import math

import torch

from attention.simple import AttentionSteps


def scaled_dot_product(
    queries: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor | None = None,
    scale: float | None = None,
) -> AttentionSteps:
    """softmax(Q K^T * scale) V, with the intermediates kept.

    Equivalent to torch.nn.functional.scaled_dot_product_attention(queries, keys, values,
    attn_mask=~mask, scale=scale) for a boolean `mask` that is True where a pair is blocked.

    queries: (..., T, d_k), keys: (..., S, d_k), values: (..., S, d_v),
    mask: bool, broadcastable to (..., T, S), True = blocked; scale: default 1 / sqrt(d_k).
    Returns AttentionSteps(attn_scores (..., T, S) already scaled and masked,
    attn_weights (..., T, S), context_vecs (..., T, d_v)).
    A row whose every key is blocked gets all-zero weights and a zero context vector
    (not NaN).
    """
    d_k = queries.shape[-1]
    if scale is None:
        scale = 1.0 / math.sqrt(d_k)
    attn_scores = (queries @ keys.transpose(-2, -1)) * scale  # (..., T, d_k) x (..., d_k, S)
    if mask is not None:
        attn_scores = attn_scores.masked_fill(mask, float("-inf"))
    attn_weights = torch.softmax(attn_scores, dim=-1)  # (..., T, S)
    if mask is not None:
        # softmax of an all -inf row is NaN; such a row attends to nothing.
        attn_weights = torch.nan_to_num(attn_weights, nan=0.0)
    context_vecs = attn_weights @ values  # (..., T, S) x (..., S, d_v) -> (..., T, d_v)
    return AttentionSteps(attn_scores, attn_weights, context_vecs)


def causal_mask(T: int, S: int | None = None) -> torch.Tensor:
    """Boolean (T, S) mask, True above the diagonal: query i may not see key j > i."""
    S = T if S is None else S
    return torch.triu(torch.ones(T, S, dtype=torch.bool), diagonal=1)


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(..., T, h * hd) -> (..., h, T, hd)."""
    *lead, T, d_out = x.shape
    if d_out % num_heads:
        raise ValueError(f"d_out={d_out} is not divisible by num_heads={num_heads}")
    head_dim = d_out // num_heads
    x = x.view(*lead, T, num_heads, head_dim)  # (..., T, h, hd)
    return x.transpose(-3, -2)  # (..., h, T, hd)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(..., h, T, hd) -> (..., T, h * hd): the heads' outputs side by side."""
    *lead, h, T, hd = x.shape
    x = x.transpose(-3, -2).contiguous()  # (..., T, h, hd)
    return x.view(*lead, T, h * hd)
