"""Lesson 5, explored like a researcher: two heads side by side, a summary of the 72 heads,
attention rollout, what each head passes on, and word order. Pure: torch and the standard
library (the math is in attention/analysis.py; the words for rollout, norms, flow and the
head rule in lessons/explore.py).

Shape legend: L layers (6), h heads (12), T WordPiece tokens incl. [CLS] and [SEP], C hidden
size (384), N position embeddings compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch

from attention.analysis import (
    EncoderStates,
    HeadNorms,
    HeadSummary,
    OrderComparison,
    encoder_states,
    head_norms,
    order_comparison,
    position_similarity,
    rollout_layers,
    summarize_heads,
    swap_order,
    word_spans,
)
from attention.pretrained import PretrainedModel, tokenize
from lessons.explore import heads_by_label
from lessons.numbers import fmt

STEP_TITLES = [
    "Two heads side by side",
    "What each head mostly does",
    "Attention through the layers",
    "A weight and what it carries",
    "Word order",
]

COMPARE_TEXT = (
    "Pick any two heads. Their weights share one colour range (0 to the larger maximum of the "
    "two), and the third map is their difference a(i, j) of head A − a(i, j) of head B, on a "
    "scale centred at 0: purple where head A gives more weight, orange where head B does."
)

ORDER_INTRO = (
    "Without position information attention is blind to word order: in lessons 1, 2 and 4 "
    "(without a mask), shuffling the tokens only shuffles every output. Swap two words here: "
    "the model runs again on the same tokens in the new order, and the maps below compare "
    "the chosen head's weights in both."
)

POSITIONS_MIN = 32  # the position picture shows at least this many positions


class Analysis(NamedTuple):
    """Everything lesson 5's explore steps need for one sentence.

    tokens: T WordPiece strings; token_ids: T ids; spans: each word's token range [start, end)
    (a word split into WordPieces is one span); states: the forward pass with each layer's
    input (layer_inputs (L, T, C), attn_weights (L, h, T, T)); rollout: (L, T, T) float64,
    rollout after each layer (rows sum to 1); summary: the heads' shares and labels;
    groups: label -> the (layer, head) pairs with it (0-based).
    """

    tokens: list[str]
    token_ids: list[int]
    spans: list[tuple[int, int]]
    states: EncoderStates
    rollout: torch.Tensor
    summary: HeadSummary
    groups: dict[str, list[tuple[int, int]]]


def analyse(text: str, model: PretrainedModel) -> Analysis:
    """Run the encoder on `text` once and derive rollout and the head summary. Raises
    ValueError (via attention.pretrained.tokenize) for text the model cannot take."""
    encoding = tokenize(text, model)
    ids = torch.tensor(encoding.ids, dtype=torch.long)  # (T,)
    states = encoder_states(model, ids)
    tokens = list(encoding.tokens)
    summary = summarize_heads(states.attn_weights, tokens)
    return Analysis(
        tokens,
        list(encoding.ids),
        word_spans(encoding.word_ids),
        states,
        rollout_layers(states.attn_weights),
        summary,
        heads_by_label(summary),
    )


def head_name(layer: int, head: int) -> str:
    """'layer 2, head 5' for 0-based indices."""
    return f"layer {layer + 1}, head {head + 1}"


def group_label(label: str, count: int) -> str:
    """A category button's text: 'previous (3)'."""
    return f"{label} ({count})"


def shares_lines(summary: HeadSummary, layer: int, head: int) -> list[str]:
    """One head's shares per category as plain text lines, and its label."""
    shares = summary.shares[layer, head].tolist()
    names = summary.categories
    lines = [f"{name}: {fmt(share)}" for name, share in zip(names, shares, strict=True)]
    return [*lines, f"label: {summary.labels[layer][head]}"]


def heaviest_on(summary: HeadSummary, category: str) -> tuple[int, int]:
    """The (layer, head), 0-based, whose share on `category` (one of summary.categories) is
    the largest; the first such head on ties."""
    shares = summary.shares[..., summary.categories.index(category)]  # (L, h)
    layer, head = divmod(int(shares.flatten().argmax()), shares.shape[1])
    return layer, head


def head_passes_on(model: PretrainedModel, analysis: Analysis, layer: int, head: int) -> HeadNorms:
    """‖a(i, j) · v(j) W_O‖ of one head (0-based layer and head): weighted_norms (T, T)."""
    return head_norms(model, analysis.states, layer, head)


def norms_sentence(norms: HeadNorms, layer: int, head: int) -> str:
    """What the chosen head gives to [CLS] and to [SEP] and what that carries. Names
    positions, never token text (the page renders Markdown)."""
    T = norms.attn_weights.shape[0]
    carried = norms.weighted_norms  # (T, T)
    total = float(carried.sum())
    parts = []
    for name, key in (("[CLS]", 0), ("[SEP]", T - 1)):
        weight = 100 * float(norms.attn_weights[:, key].mean())
        passed = 100 * float(carried[:, key].sum()) / total if total > 0 else 0.0
        length = fmt(float(norms.transformed_norms[key]))
        parts.append(
            f"{name} (token {key + 1}) gets {fmt(weight, 1)} % of the weight and "
            f"{fmt(passed, 1)} % of what the head passes on (its ‖v(j) W_O‖ is {length})"
        )
    median = fmt(float(norms.transformed_norms.median()))
    return (
        f"In {head_name(layer, head)}, on average over the queries: "
        + "; ".join(parts)
        + f". The median token's ‖v(j) W_O‖ is {median}. What a head passes on is measured "
        "here as the norms ‖a(i, j) · v(j) W_O‖ added up over a row: a sum of norms, not the "
        "norm of the head's output."
    )


# ---- word order -------------------------------------------------------------------------------


def word_labels(tokens: Sequence[str], spans: Sequence[tuple[int, int]]) -> list[str]:
    """Each word as '3: mechanism' (its WordPieces joined, '##' dropped), 1-based word number.
    For plain-text widgets only."""
    return [
        f"{n + 1}: " + "".join(t.removeprefix("##") for t in tokens[a:b])
        for n, (a, b) in enumerate(spans)
    ]


def swapped_tokens(tokens: Sequence[str], order: Sequence[int]) -> list[str]:
    """The tokens in the other order: position p holds tokens[order[p]]."""
    return [tokens[p] for p in order]


def swap_words(
    model: PretrainedModel, analysis: Analysis, first: int, second: int
) -> OrderComparison:
    """The sentence with words `first` and `second` (0-based indices into analysis.spans)
    swapped: both weight tensors (L, h, T, T) in the original token order and their difference."""
    T = len(analysis.tokens)
    order = swap_order(analysis.spans, first, second, T)
    return order_comparison(model, analysis.token_ids, order, analysis.states.attn_weights)


def positions_shown(T: int) -> int:
    """How many position embeddings the picture compares: N = max(T, POSITIONS_MIN)."""
    return max(T, POSITIONS_MIN)


class PositionFigures(NamedTuple):
    """The position embeddings' cosine similarity (N, N) and the mean similarity of positions
    p and p + k for each k in distances (over every p with p + k < N)."""

    similarity: torch.Tensor
    distances: tuple[int, ...]
    mean_at: tuple[float, ...]


def position_figures(model: PretrainedModel, n: int) -> PositionFigures:
    """position_similarity(model, n) and its mean cosine at a few distances (those below n)."""
    similarity = position_similarity(model, n)  # (N, N)
    distances = tuple(k for k in (1, 2, 5, 20) if k < n)
    means = tuple(float(torch.diagonal(similarity, k).mean()) for k in distances)
    return PositionFigures(similarity, distances, means)


def order_text(comparison: OrderComparison, layer: int, head: int) -> str:
    """How much the chosen head's weights change when the two words swap places."""
    change = comparison.difference[layer, head].abs()  # (T, T)
    largest_all = float(comparison.difference.abs().max())
    if largest_all == 0.0:
        return "The two orders give the same tokens in the same places: nothing changes."
    return (
        f"In {head_name(layer, head)} a weight changes by up to {fmt(float(change.max()))} "
        f"(over all 72 heads: up to {fmt(largest_all)}). The maps are compared token by token: "
        "row i and column j are the same tokens in both, wherever the swap put them."
    )


def positions_text(figures: PositionFigures) -> str:
    """Why the weights change: the position embeddings, with their measured similarities."""
    N = figures.similarity.shape[0]
    pairs = ", ".join(
        f"{fmt(m)} for positions {k} apart"
        for k, m in zip(figures.distances, figures.mean_at, strict=True)
    )
    return (
        "Why: before the first layer the model adds to each token's word embedding a learned "
        "**position embedding**, one vector of 384 numbers per place (512 places). Swapped words "
        "get each other's position vectors, so their inputs x(i), and from there every q(i), "
        "k(j) and weight, change. The picture compares the first "
        f"{N} position vectors by cosine similarity (1: same direction, 0: unrelated). "
        f"On average it is {pairs}: in this model, places close together have more similar "
        "position vectors than places far apart."
    )
