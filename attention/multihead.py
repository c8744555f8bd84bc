"""Lesson 4: multi-head attention.

Shape legend: B batch, T tokens, d_in input size, d_out = h * hd, h num_heads,
hd head_dim, d_model output size of the out projection (d_model = d_out here).
Weights are in nn.Linear orientation: W (out, in), so a projection is x @ W.T + b.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F

from attention.scaled import merge_heads, scaled_dot_product, split_heads


class MultiHeadSteps(NamedTuple):
    """Every intermediate of multi-head attention.

    output: (..., T, d_model) after the out projection;
    attn_weights: (..., h, T, T) one weight matrix per head;
    concat_context: (..., T, d_out) the heads' context vectors side by side, before out_proj;
    queries, keys, values: (..., h, T, hd) split into heads.
    """

    output: torch.Tensor
    attn_weights: torch.Tensor
    concat_context: torch.Tensor
    queries: torch.Tensor
    keys: torch.Tensor
    values: torch.Tensor


def multi_head_attention(
    x: torch.Tensor,
    W_query: torch.Tensor,
    W_key: torch.Tensor,
    W_value: torch.Tensor,
    W_out: torch.Tensor,
    num_heads: int,
    b_query: torch.Tensor | None = None,
    b_key: torch.Tensor | None = None,
    b_value: torch.Tensor | None = None,
    b_out: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
) -> MultiHeadSteps:
    """Multi-head self-attention with explicit weights, every step kept.

    Equivalent to:
        Q, K, V = x @ W_query.T + b_query, x @ W_key.T + b_key, x @ W_value.T + b_value
        split each into h heads of size hd; per head softmax(Q K^T / sqrt(hd)) V
        output = concat(heads) @ W_out.T + b_out

    x: (T, d_in) or (B, T, d_in);
    W_query, W_key, W_value: (d_out, d_in); W_out: (d_model, d_out); d_out = h * hd;
    b_query, b_key, b_value: (d_out,) or None; b_out: (d_model,) or None;
    mask: bool, broadcastable to (..., h, T, T), True = blocked (e.g. causal_mask(T), or a
    padding mask of shape (B, 1, 1, T)); None = every token sees every token.
    A query row whose every key is blocked gets zero weights (not NaN).
    """
    return _multi_head_core(
        x, W_query, W_key, W_value, W_out, num_heads, b_query, b_key, b_value, b_out, mask
    )


def _multi_head_core(
    x: torch.Tensor,
    W_query: torch.Tensor,
    W_key: torch.Tensor,
    W_value: torch.Tensor,
    W_out: torch.Tensor,
    num_heads: int,
    b_query: torch.Tensor | None,
    b_key: torch.Tensor | None,
    b_value: torch.Tensor | None,
    b_out: torch.Tensor | None,
    mask: torch.Tensor | None,
    attn_dropout: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> MultiHeadSteps:
    """multi_head_attention, plus an optional dropout on the weights (used by the module)."""
    if x.dim() not in (2, 3):
        raise ValueError(f"x must have shape (T, d_in) or (B, T, d_in), got {tuple(x.shape)}")
    d_out, d_in = W_query.shape
    if x.shape[-1] != d_in:
        raise ValueError(f"x has d_in={x.shape[-1]} but W_query expects d_in={d_in}")
    if num_heads < 1 or d_out % num_heads:
        raise ValueError(f"d_out={d_out} is not divisible by num_heads={num_heads}")
    if mask is not None and mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor (True = blocked), got {mask.dtype}")

    queries = F.linear(x, W_query, b_query)  # (..., T, d_in) x (d_in, d_out) -> (..., T, d_out)
    keys = F.linear(x, W_key, b_key)  # (..., T, d_in) x (d_in, d_out) -> (..., T, d_out)
    values = F.linear(x, W_value, b_value)  # (..., T, d_in) x (d_in, d_out) -> (..., T, d_out)

    queries = split_heads(queries, num_heads)  # (..., T, d_out) -> (..., h, T, hd)
    keys = split_heads(keys, num_heads)  # (..., T, d_out) -> (..., h, T, hd)
    values = split_heads(values, num_heads)  # (..., T, d_out) -> (..., h, T, hd)

    # (..., h, T, hd) x (..., h, hd, T) -> (..., h, T, T); softmax; x (..., h, T, hd)
    steps = scaled_dot_product(queries, keys, values, mask=mask)
    attn_weights = steps.attn_weights  # (..., h, T, T)
    context_vecs = steps.context_vecs  # (..., h, T, T) x (..., h, T, hd) -> (..., h, T, hd)
    if attn_dropout is not None:
        attn_weights = attn_dropout(attn_weights)  # (..., h, T, T)
        context_vecs = attn_weights @ values  # (..., h, T, T) x (..., h, T, hd) -> (..., h, T, hd)

    concat_context = merge_heads(context_vecs)  # (..., h, T, hd) -> (..., T, d_out)
    output = F.linear(concat_context, W_out, b_out)  # (..., T, d_out) -> (..., T, d_model)
    return MultiHeadSteps(output, attn_weights, concat_context, queries, keys, values)
