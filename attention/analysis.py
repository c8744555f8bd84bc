"""Tools to explore attention like a researcher: one cell's arithmetic, word-order checks, and
for the pretrained model attention rollout, the norm of what each head passes on, a rule-based
summary of the heads and the position embeddings. The math only: no user-interface import.

Shape legend: T tokens (queries; keys too, self-attention), d (or d_k) the size of the vectors
a score multiplies, L layers, h heads, hd head size, C hidden size, K summary categories,
N position embeddings compared.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

import torch

from attention.pretrained import PretrainedModel, embed, encoder_layer

# ---- one cell's arithmetic (lessons 1-4) -------------------------------------------------------


class CellArithmetic(NamedTuple):
    """How one attention weight a(i, j) comes about, every number named (0-based indices).

    left: (d,) the query side x(i) or q(i); right: (d,) the key side x(j) or k(j);
    products: (d,) left[c] * right[c]; score: ω(i, j) = sum of products;
    scale: the factor the score is multiplied by (1 / √d_k, or 1 with no scaling);
    scaled_score: s(i, j) = score * scale; masked: True when the mask hides key j from query i;
    masked_score: scaled_score, or -inf when masked; row_hidden: (T,) bool, the keys the mask
    hides from query i; row_max: the largest visible s(i, l);
    row_exp_terms: (T,) exp(s(i, l) - row_max), 0 where masked; exp_term: row_exp_terms[j];
    row_exp_sum: the row's sum of exps; attn_weight: a(i, j) = exp_term / row_exp_sum
    (0 when the whole row is hidden); dropout_p: the dropout rate applied after the softmax
    (None when the lesson has none); kept: whether dropout kept this weight (None if unknown);
    dropped_weight: a(i, j) / (1 - p) if kept, 0 if dropped (None if unknown).
    All numbers are computed in float64 from the tensors given.
    """

    query_index: int
    key_index: int
    left: torch.Tensor
    right: torch.Tensor
    products: torch.Tensor
    score: float
    scale: float
    scaled_score: float
    masked: bool
    masked_score: float
    row_hidden: torch.Tensor
    row_max: float
    row_exp_terms: torch.Tensor
    exp_term: float
    row_exp_sum: float
    attn_weight: float
    dropout_p: float | None
    kept: bool | None
    dropped_weight: float | None


def cell_arithmetic(
    queries: torch.Tensor,
    keys: torch.Tensor,
    query_index: int,
    key_index: int,
    *,
    scale: float = 1.0,
    mask: torch.Tensor | None = None,
    dropout_p: float | None = None,
    kept: bool | None = None,
) -> CellArithmetic:
    """The whole computation of a(i, j) for query i and key j, term by term.

    Equivalent to (in float64):
        s = (queries[i] @ keys.T) * scale; s[mask[i]] = -inf
        a(i, j) = exp(s[j] - max s) / sum_l exp(s[l] - max s)

    queries: (T, d) (lesson 1: the inputs x; lessons 2-4: q, one head's in lesson 4);
    keys: (S, d) (lesson 1: the inputs again; else k); scale: 1 (lesson 1) or 1 / √d_k;
    mask: bool (T, S), True = hidden (causal_mask), or None; dropout_p: the rate used after
    the softmax (lesson 3), kept: that cell's draw (DropoutResult.mask_kept[i, j]).
    """
    q = torch.as_tensor(queries).detach().to(torch.float64)  # (T, d)
    k = torch.as_tensor(keys).detach().to(torch.float64)  # (S, d)
    T, S = q.shape[0], k.shape[0]
    if not (0 <= query_index < T and 0 <= key_index < S):
        raise IndexError(f"cell ({query_index}, {key_index}) is outside {T} x {S}")
    left, right = q[query_index], k[key_index]  # (d,), (d,)
    products = left * right  # (d,) term by term
    score = float(products.sum())
    row_scores = (k @ left) * scale  # (S, d) x (d,) -> (S,)
    hidden = (
        torch.zeros(S, dtype=torch.bool) if mask is None else mask[query_index].to(torch.bool)
    )  # (S,)
    row_scores = row_scores.masked_fill(hidden, float("-inf"))
    # The key's own score is the sum of its printed products (as row_scores holds, to rounding).
    scaled_score = score * scale
    row_scores[key_index] = float("-inf") if bool(hidden[key_index]) else scaled_score
    visible = ~hidden
    if bool(visible.any()):
        row_max = float(row_scores[visible].max())
        row_exp_terms = torch.exp(row_scores - row_max).masked_fill(hidden, 0.0)  # (S,)
    else:
        row_max = float("-inf")
        row_exp_terms = torch.zeros(S, dtype=torch.float64)
    row_exp_sum = float(row_exp_terms.sum())
    exp_term = float(row_exp_terms[key_index])
    attn_weight = exp_term / row_exp_sum if row_exp_sum > 0 else 0.0
    dropped_weight = None
    if dropout_p is not None and kept is not None:
        dropped_weight = attn_weight / (1.0 - dropout_p) if kept else 0.0
    return CellArithmetic(
        query_index,
        key_index,
        left,
        right,
        products,
        score,
        scale,
        scaled_score,
        bool(hidden[key_index]),
        float(row_scores[key_index]),
        hidden,
        row_max,
        row_exp_terms,
        exp_term,
        row_exp_sum,
        attn_weight,
        dropout_p,
        kept,
        dropped_weight,
    )


def scale_for(d_k: int) -> float:
    """The scaling factor of lessons 2-4: 1 / √d_k."""
    return 1.0 / math.sqrt(d_k)


# ---- word order (lessons 1-4) ------------------------------------------------------------------


def permute_tokens(tensor: torch.Tensor, order: Sequence[int], token_dims: Sequence[int]):
    """The tensor with its token dimensions reordered: entry r of each listed dim becomes the old
    entry order[r]. E.g. token_dims=(0, 1) for a (T, T) matrix, (0,) for (T, d) vectors,
    (-2, -1) for per-head (h, T, T) weights."""
    index = torch.as_tensor(list(order), dtype=torch.long)
    for dim in token_dims:
        tensor = tensor.index_select(dim, index)
    return tensor


def max_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest |a - b|, where equal entries (-inf and -inf too) count 0 and a NaN counts as
    inf. 0 for empty tensors."""
    a, b = a.detach().double(), b.detach().double()
    same = a == b
    gap = (a - b).abs().masked_fill(same, 0.0).nan_to_num(nan=math.inf, posinf=math.inf)
    return float(gap.max()) if gap.numel() else 0.0


# ---- attention rollout (lesson 5) --------------------------------------------------------------


def rollout_layers(attn_weights: torch.Tensor, residual: float = 0.5) -> torch.Tensor:
    """Attention rollout (Abnar & Zuidema, 2020) after each layer.

    Per layer l: A_l = mean over heads, Â_l = (1 - residual) A_l + residual I, each row divided
    by its sum; rollout after layer l = Â_l @ ... @ Â_1. Computed in float64.
    attn_weights: (L, h, T, T) -> (L, T, T) float64; entry [l, i, j]: the share of token j's
    input in token i's vector after layer l+1, under rollout's assumptions (attention and the
    residual connection mix the tokens linearly; everything else is ignored).
    """
    weights = attn_weights.detach().to(torch.float64)
    L, _h, T, _ = weights.shape
    identity = torch.eye(T, dtype=torch.float64)
    mixed = (1.0 - residual) * weights.mean(dim=1) + residual * identity  # (L, T, T)
    mixed = mixed / mixed.sum(dim=-1, keepdim=True)  # rows sum to 1
    result = torch.empty(L, T, T, dtype=torch.float64)
    current = identity
    for layer in range(L):
        current = mixed[layer] @ current  # (T, T) x (T, T) -> (T, T)
        result[layer] = current
    return result


def attention_rollout(attn_weights: torch.Tensor, residual: float = 0.5) -> torch.Tensor:
    """Rollout through every layer: Â_L @ ... @ Â_1 (see rollout_layers).

    attn_weights: (L, h, T, T) -> (T, T) float64, rows sum to 1; row i is token i's bars."""
    return rollout_layers(attn_weights, residual)[-1]


# ---- the pretrained model's inner numbers (lesson 5) ---------------------------------------------


class EncoderStates(NamedTuple):
    """The forward pass with what analysis needs: layer_inputs (L, T, C), the hidden states
    entering each layer (layer 1's is the embedding output); attn_weights (L, h, T, T);
    last_hidden_state (T, C)."""

    layer_inputs: torch.Tensor
    attn_weights: torch.Tensor
    last_hidden_state: torch.Tensor


def encoder_states(model: PretrainedModel, token_ids: torch.Tensor) -> EncoderStates:
    """Run the encoder like attention.pretrained.encoder_forward (same functions), keeping each
    layer's input. token_ids: (T,) int64."""
    cfg = model.config
    with torch.inference_mode():
        x = embed(model, token_ids)  # (T, C)
        inputs, weights = [], []
        for layer in model.layers:
            inputs.append(x)
            x, attn_weights = encoder_layer(layer, x, cfg.num_heads, cfg.layer_norm_eps)
            weights.append(attn_weights)  # (h, T, T)
    return EncoderStates(
        torch.stack(inputs).clone(), torch.stack(weights).clone(), x.clone()
    )  # (L, T, C), (L, h, T, T), (T, C)


class HeadNorms(NamedTuple):
    """What one head passes on (Kobayashi et al., 2020).

    attn_weights: (T, T) a(i, j); transformed: (T, C) f(x_j) = v_j W_O^h, the part of the
    output projection fed by this head (value bias included, output bias excluded);
    transformed_norms: (T,) ‖f(x_j)‖; weighted_norms: (T, T) ‖a(i, j) f(x_j)‖ =
    a(i, j) ‖f(x_j)‖, what token j contributes to token i through this head.
    """

    attn_weights: torch.Tensor
    transformed: torch.Tensor
    transformed_norms: torch.Tensor
    weighted_norms: torch.Tensor


def head_norms(model: PretrainedModel, states: EncoderStates, layer: int, head: int) -> HeadNorms:
    """‖a(i, j) v_j W_O^h‖ for one layer (0-based) and head (0-based).

    v_j = x_j W_value^T + b_value restricted to the head's hd columns; W_O^h: the hd columns of
    W_out that read this head's output (nn.Linear orientation, (C, C)).
    """
    weights = model.layers[layer]
    h = model.config.num_heads
    C = model.config.hidden_size
    hd = C // h
    cols = slice(head * hd, (head + 1) * hd)
    x = states.layer_inputs[layer]  # (T, C)
    values = x @ weights.W_value[cols].T + weights.b_value[cols]  # (T, C) x (C, hd) -> (T, hd)
    transformed = values @ weights.W_out[:, cols].T  # (T, hd) x (hd, C) -> (T, C)
    norms = transformed.norm(dim=-1)  # (T,)
    attn = states.attn_weights[layer, head]  # (T, T)
    return HeadNorms(attn, transformed, norms, attn * norms[None, :])  # (T, T) * (1, T)


# ---- a summary of the heads (lesson 5) -----------------------------------------------------------

HEAD_CATEGORIES = ("previous", "next", "same", "[CLS]", "[SEP]", "punctuation")
MIXED = "mixed"
HEAD_THRESHOLD = 0.5


def is_punctuation(token: str) -> bool:
    """A token made only of punctuation characters (Unicode category P*), '##' prefix ignored."""
    text = token.removeprefix("##")
    return bool(text) and all(unicodedata.category(c).startswith("P") for c in text)


class HeadSummary(NamedTuple):
    """What each head mostly does, by a stated rule (see summarize_heads).

    categories: the K names; shares: (L, h, K) float64; labels: L lists of h names (a category
    or "mixed"); threshold: the share a category needs for its label.
    """

    categories: tuple[str, ...]
    shares: torch.Tensor
    labels: list[list[str]]
    threshold: float


def category_shares(attn_weights: torch.Tensor, tokens: Sequence[str]) -> torch.Tensor:
    """Each head's mean weight on each category, averaged over queries.

    attn_weights: (..., T, T) -> (..., K), K = len(HEAD_CATEGORIES):
    previous: mean over queries i >= 1 of a(i, i-1); next: mean over i <= T-2 of a(i, i+1);
    same: mean over all i of a(i, i); [CLS] / [SEP] / punctuation: mean over all i of the weight
    on the keys whose token is "[CLS]" / "[SEP]" / punctuation (is_punctuation). The shares can
    overlap (query 2's previous token is [CLS]); each is between 0 and 1.
    """
    w = attn_weights.detach().to(torch.float64)
    T = w.shape[-1]
    if len(tokens) != T:
        raise ValueError(f"{len(tokens)} tokens for {T} positions")
    diag = torch.diagonal(w, dim1=-2, dim2=-1)  # (..., T)
    below = torch.diagonal(w, offset=-1, dim1=-2, dim2=-1)  # (..., T-1): a(i, i-1)
    above = torch.diagonal(w, offset=1, dim1=-2, dim2=-1)  # (..., T-1): a(i, i+1)
    zero = torch.zeros(w.shape[:-2], dtype=torch.float64)

    def on(keys: list[bool]) -> torch.Tensor:
        chosen = torch.tensor(keys, dtype=torch.bool)  # (T,)
        return w[..., chosen].sum(dim=-1).mean(dim=-1)  # (..., T, n) -> (..., T) -> (...)

    shares = [
        below.mean(dim=-1) if T > 1 else zero,
        above.mean(dim=-1) if T > 1 else zero,
        diag.mean(dim=-1),
        on([t == "[CLS]" for t in tokens]),
        on([t == "[SEP]" for t in tokens]),
        on([is_punctuation(t) and t not in ("[CLS]", "[SEP]") for t in tokens]),
    ]
    return torch.stack(shares, dim=-1)  # (..., K)


def label_of(shares: Sequence[float], threshold: float = HEAD_THRESHOLD) -> str:
    """The category with the largest share if that share exceeds `threshold`, else "mixed".
    A tie goes to the category listed first in HEAD_CATEGORIES."""
    best = max(range(len(shares)), key=lambda k: (shares[k], -k))
    return HEAD_CATEGORIES[best] if shares[best] > threshold else MIXED


def summarize_heads(
    attn_weights: torch.Tensor, tokens: Sequence[str], threshold: float = HEAD_THRESHOLD
) -> HeadSummary:
    """Label every head by what it mostly attends to (category_shares, then label_of).

    attn_weights: (L, h, T, T); tokens: T strings. Returns HeadSummary with shares (L, h, K).
    """
    shares = category_shares(attn_weights, tokens)  # (L, h, K)
    labels = [[label_of(head.tolist(), threshold) for head in layer] for layer in shares]
    return HeadSummary(HEAD_CATEGORIES, shares, labels, threshold)


# ---- word order in the pretrained model (lesson 5) ----------------------------------------------


def word_spans(word_ids: Sequence[int | None]) -> list[tuple[int, int]]:
    """Each word's token range [start, end), in order, from the tokenizer's word_ids (None for
    [CLS] and [SEP]); a word split into several WordPieces is one span."""
    spans: list[tuple[int, int]] = []
    previous = None
    for position, word in enumerate(word_ids):
        if word is None:
            previous = None
            continue
        if word == previous:
            spans[-1] = (spans[-1][0], position + 1)
        else:
            spans.append((position, position + 1))
        previous = word
    return spans


def swap_order(spans: Sequence[tuple[int, int]], first: int, second: int, T: int) -> list[int]:
    """The token order with two words swapped: (T,) indices, position p holding old token
    order[p]. spans: each word's token range [start, end) in order, not overlapping; first,
    second: the two words (0-based indices into spans). Tokens outside the spans keep their
    places relative to the blocks ([CLS] first, [SEP] last)."""
    if first == second:
        return list(range(T))
    a, b = sorted((first, second))
    (a0, a1), (b0, b1) = spans[a], spans[b]
    if not (0 <= a0 < a1 <= b0 < b1 <= T):
        raise ValueError(f"word spans {spans[a]} and {spans[b]} do not fit {T} tokens in order")
    return [
        *range(a0),
        *range(b0, b1),
        *range(a1, b0),
        *range(a0, a1),
        *range(b1, T),
    ]


class OrderComparison(NamedTuple):
    """The same tokens in two orders.

    order: (T,) position p of the other sentence holds original token order[p];
    original: (L, h, T, T); other: (L, h, T, T) the other order's weights, rows and columns
    put back in the original tokens' order; difference: other - original (L, h, T, T).
    Without position embeddings the difference would be 0 up to rounding.
    """

    order: list[int]
    original: torch.Tensor
    other: torch.Tensor
    difference: torch.Tensor


def order_comparison(
    model: PretrainedModel,
    token_ids: Sequence[int],
    order: Sequence[int],
    original: torch.Tensor | None = None,
) -> OrderComparison:
    """Run the encoder on the tokens in `order` and compare its weights with token_ids' token by
    token. token_ids: T ids; order: a permutation of range(T); original: token_ids' weights
    (L, h, T, T) if already computed (else the encoder runs on them too)."""
    T = len(token_ids)
    if sorted(order) != list(range(T)):
        raise ValueError("order must be a permutation of the token positions")
    ids = torch.tensor(list(token_ids), dtype=torch.long)  # (T,)
    index = torch.tensor(list(order), dtype=torch.long)  # (T,)
    if original is None:
        original = encoder_states(model, ids).attn_weights  # (L, h, T, T)
    permuted = encoder_states(model, ids[index]).attn_weights  # (L, h, T, T), new order
    back = index.argsort()  # original token -> its position in the other order
    other = permute_tokens(permuted, back.tolist(), (-2, -1))  # (L, h, T, T) original order
    return OrderComparison(list(order), original, other, other - original)


def position_similarity(model: PretrainedModel, n: int) -> torch.Tensor:
    """Cosine similarity of the model's first n position embeddings: (N, N), N = n.

    Entry [p, r] = cos(P_p, P_r) for the learned vectors added to the tokens at positions p and
    r (0-based; position 0 is [CLS]'s)."""
    P = model.embeddings.position[:n].detach().to(torch.float64)  # (N, C)
    unit = P / P.norm(dim=-1, keepdim=True).clamp_min(1e-12)  # (N, C)
    return unit @ unit.T  # (N, C) x (C, N) -> (N, N)
