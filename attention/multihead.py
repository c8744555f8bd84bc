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
from torch import nn

from attention.causal import CausalAttention, SelfAttentionHead
from attention.scaled import causal_mask, merge_heads, scaled_dot_product, split_heads

DEFAULT_CONTEXT_LENGTH = 1024


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


def head_dim_of(d_out: int, num_heads: int) -> int:
    """head_dim = d_out / num_heads; a ValueError unless num_heads >= 1 divides d_out."""
    if num_heads < 1 or d_out % num_heads:
        raise ValueError(f"d_out={d_out} is not divisible by num_heads={num_heads}")
    return d_out // num_heads


class _MultiHead(nn.Module):
    """What both multi-head builds share: their sizes, the causal flag, the output projection
    out_proj (d_out, d_out), and a forward that keeps the last steps for drawing."""

    def __init__(self, d_in: int, d_out: int, num_heads: int, causal: bool) -> None:
        super().__init__()
        self.d_in, self.d_out, self.num_heads = d_in, d_out, num_heads
        self.head_dim = head_dim_of(d_out, num_heads)
        self.causal = causal
        self.out_proj = nn.Linear(d_out, d_out)
        self.last_steps: MultiHeadSteps | None = None

    def steps(self, x: torch.Tensor) -> MultiHeadSteps:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = self.steps(x)
        self.last_steps = MultiHeadSteps(*(t.detach() for t in steps))
        return steps.output


class MultiHeadAttentionWrapper(_MultiHead):
    """h single heads side by side, outputs concatenated, then out_proj (d_out, d_out).

    Unlike the notebook's wrapper, d_out is the total size: each head has head_dim =
    d_out // num_heads, so the result has the same shape as MultiHeadAttention's.
    Per-head weights: `heads[i].W_query.weight` (hd, d_in), likewise W_key, W_value.
    x: (B, T, d_in) (or (T, d_in)) -> output (B, T, d_out).
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        num_heads: int,
        dropout: float = 0.0,
        qkv_bias: bool = False,
        causal: bool = True,
        context_length: int = DEFAULT_CONTEXT_LENGTH,
    ) -> None:
        super().__init__(d_in, d_out, num_heads, causal)
        self.qkv_bias, self.dropout_p = qkv_bias, dropout
        heads: list[nn.Module] = [
            CausalAttention(d_in, self.head_dim, context_length, dropout, qkv_bias)
            if causal
            else SelfAttentionHead(d_in, self.head_dim, dropout, qkv_bias)
            for _ in range(num_heads)
        ]
        self.heads = nn.ModuleList(heads)

    def steps(self, x: torch.Tensor) -> MultiHeadSteps:
        """MultiHeadSteps with queries, keys, values and attn_weights stacked on a head axis."""
        per_head = [head.steps(x) for head in self.heads]  # h x AttentionSteps
        queries = torch.stack([head.W_query(x) for head in self.heads], dim=-3)  # (B, h, T, hd)
        keys = torch.stack([head.W_key(x) for head in self.heads], dim=-3)  # (B, h, T, hd)
        values = torch.stack([head.W_value(x) for head in self.heads], dim=-3)  # (B, h, T, hd)
        attn_weights = torch.stack([s.attn_weights for s in per_head], dim=-3)  # (B, h, T, T)
        # h x (B, T, hd) -> (B, T, h * hd)
        concat_context = torch.cat([s.context_vecs for s in per_head], dim=-1)
        output = self.out_proj(concat_context)  # (B, T, d_out) -> (B, T, d_out)
        return MultiHeadSteps(output, attn_weights, concat_context, queries, keys, values)


class MultiHeadAttention(_MultiHead):
    """Multi-head attention with one W_query, W_key, W_value each, split into heads.

    W_query, W_key, W_value: nn.Linear(d_in, d_out), out_proj: nn.Linear(d_out, d_out);
    d_out = num_heads * head_dim. Runs `multi_head_attention` on its own weights.
    x: (B, T, d_in) (or (T, d_in)) -> output (B, T, d_out); `steps(x)` returns every
    intermediate as MultiHeadSteps and forward keeps the last ones in `last_steps`.
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        num_heads: int,
        dropout: float = 0.0,
        qkv_bias: bool = False,
        causal: bool = True,
    ) -> None:
        super().__init__(d_in, d_out, num_heads, causal)
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.dropout = nn.Dropout(dropout)

    def steps(self, x: torch.Tensor) -> MultiHeadSteps:
        """Every intermediate; attn_weights are after dropout (only differs in training)."""
        T = x.shape[-2]  # x: (B, T, d_in)
        mask = causal_mask(T) if self.causal else None  # (T, T) bool, True = future
        use_dropout = self.training and self.dropout.p > 0
        return _multi_head_core(
            x,
            self.W_query.weight,  # (d_out, d_in)
            self.W_key.weight,  # (d_out, d_in)
            self.W_value.weight,  # (d_out, d_in)
            self.out_proj.weight,  # (d_out, d_out)
            self.num_heads,
            self.W_query.bias,
            self.W_key.bias,
            self.W_value.bias,
            self.out_proj.bias,
            mask,
            attn_dropout=self.dropout if use_dropout else None,
        )


def from_wrapper(wrapper: MultiHeadAttentionWrapper) -> MultiHeadAttention:
    """A MultiHeadAttention that computes what `wrapper` computes.

    Head i's (hd, d_in) weights become rows i*hd .. (i+1)*hd of the (d_out, d_in) W_query
    (likewise W_key, W_value and the biases); out_proj is copied as is.
    """
    with torch.random.fork_rng(devices=[]):  # the random init is overwritten below
        mha = MultiHeadAttention(
            wrapper.d_in,
            wrapper.d_out,
            wrapper.num_heads,
            dropout=wrapper.dropout_p,
            qkv_bias=wrapper.qkv_bias,
            causal=wrapper.causal,
        )
    with torch.no_grad():
        for name in ("W_query", "W_key", "W_value"):
            target: nn.Linear = getattr(mha, name)
            heads = [getattr(head, name) for head in wrapper.heads]
            target.weight.copy_(torch.cat([h.weight for h in heads], dim=0))  # (h * hd, d_in)
            if target.bias is not None:
                target.bias.copy_(torch.cat([h.bias for h in heads], dim=0))  # (h * hd,)
        mha.out_proj.load_state_dict(wrapper.out_proj.state_dict())
    mha.train(wrapper.training)
    return mha


def _seeded(build: Callable[[int], _MultiHead], num_heads: int, head_dim: int, seed: int):
    """build(d_out) under torch.manual_seed(seed), in eval mode, d_out = num_heads * head_dim.
    Inside torch.random.fork_rng: the global RNG state is the same afterwards."""
    if num_heads < 1 or head_dim < 1:
        raise ValueError(f"num_heads and head_dim must be at least 1, got {num_heads}, {head_dim}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = build(num_heads * head_dim)
    return module.eval()


def init_multihead(
    d_in: int,
    num_heads: int,
    head_dim: int,
    seed: int = 123,
    causal: bool = True,
    qkv_bias: bool = False,
    dropout: float = 0.0,
) -> MultiHeadAttention:
    """A seeded MultiHeadAttention with d_out = num_heads * head_dim, in eval mode."""
    return _seeded(
        lambda d_out: MultiHeadAttention(d_in, d_out, num_heads, dropout, qkv_bias, causal),
        num_heads,
        head_dim,
        seed,
    )


def init_wrapper(
    d_in: int,
    num_heads: int,
    head_dim: int,
    seed: int = 123,
    causal: bool = True,
    qkv_bias: bool = False,
) -> MultiHeadAttentionWrapper:
    """A seeded stack of `num_heads` single heads (d_out = num_heads * head_dim), in eval mode."""
    return _seeded(
        lambda d_out: MultiHeadAttentionWrapper(
            d_in, d_out, num_heads, qkv_bias=qkv_bias, causal=causal
        ),
        num_heads,
        head_dim,
        seed,
    )
