"""Explore like a researcher: one cell's arithmetic as text, the word-order (shuffle) check for
lessons 1-4, and the words that go with lesson 5's rollout, head summary and attention flow.
Pure Python and torch (no Streamlit, no Plotly).

Shape legend: T tokens, d the size of the vectors a score multiplies, h heads, L layers.
Positions on screen are 1-based: q(2) is the second token's query. Token text never enters
the lines made here (they name positions only), so they are safe to show as plain code text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import torch

from attention.analysis import (
    HEAD_CATEGORIES,
    MIXED,
    CellArithmetic,
    HeadSummary,
    cell_arithmetic,
    max_gap,
    permute_tokens,
    scale_for,
)
from attention.causal import CausalSteps, causal_attention
from attention.multihead import MultiHeadSteps
from attention.simple import simple_attention
from attention.trainable import QKVWeights, TrainableSteps, trainable_attention
from lessons import lesson4
from lessons.lesson1 import SHUFFLE_TOL, shuffled_order
from lessons.numbers import elide, fmt_any, fmt_factor

# ---- one cell's arithmetic ---------------------------------------------------------------------


class CellView(NamedTuple):
    """A cell's arithmetic (attention.analysis.CellArithmetic) and the plain text lines that
    show it (for st.code: no Markdown, no token text)."""

    cell: CellArithmetic
    lines: list[str]


def _pair(i: int, j: int) -> str:
    return f"({i + 1}, {j + 1})"


def _sum_text(values: Sequence[float], hidden: Sequence[bool]) -> str:
    """'0.8 + 0.9 + 1.0000' over the visible entries, elided when long."""
    parts = [fmt_any(v) for v, h in zip(values, hidden, strict=True) if not h]
    return " + ".join(elide(parts))


def cell_lines(cell: CellArithmetic, *, vectors: str = "qk", head: int | None = None) -> list[str]:
    """The computation of a(i, j) as plain text lines with the current numbers.

    vectors: "x" (lesson 1: ω(i, j) = x(i) · x(j), no scaling) or "qk" (lessons 2-4:
    ω(i, j) = q(i) · k(j), then s(i, j) = ω(i, j) / √d_k); head: 0-based head (lesson 4)."""
    i, j = cell.query_index, cell.key_index
    left, right = ("x", "x") if vectors == "x" else ("q", "k")
    ij = _pair(i, j)
    lines = []
    if head is not None:
        lines.append(f"head {head + 1}: q and k are this head's columns")
    products = " + ".join(
        elide(
            [
                f"{fmt_factor(a)}×{fmt_factor(b)}"
                for a, b in zip(cell.left.tolist(), cell.right.tolist(), strict=True)
            ]
        )
    )
    lines.append(f"ω{ij} = {left}({i + 1}) · {right}({j + 1}) = {products} = {fmt_any(cell.score)}")
    name = "ω"
    if vectors != "x":
        d_k = round(1.0 / cell.scale**2) if cell.scale > 0 else 0
        if d_k >= 1 and math.isclose(cell.scale, scale_for(d_k), rel_tol=1e-12):
            how = f"ω{ij} / √d_k = {fmt_any(cell.score)} / √{d_k}"
        else:
            how = f"ω{ij} × {cell.scale:g} = {fmt_any(cell.score)} × {cell.scale:g}"
        lines.append(f"s{ij} = {how} = {fmt_any(cell.scaled_score)}")
        name = "s"
    hidden = cell.row_hidden.tolist()
    if cell.masked:
        lines += [
            f"causal mask: key {j + 1} comes after query {i + 1}, so {name}{ij} becomes −∞",
            f"exp(−∞) = 0, so a{ij} = 0: query {i + 1} does not see key {j + 1}",
        ]
    elif math.isinf(cell.row_max):
        lines.append(f"every key is hidden from query {i + 1}: a{ij} = 0")
    else:
        lines += [
            f"softmax over row {i + 1} subtracts its largest score first (this does not "
            f"change a{ij}): max = {fmt_any(cell.row_max)}",
            f"exp({name}{ij} − max) = exp({fmt_any(cell.masked_score)} − {fmt_any(cell.row_max)}) "
            f"= {fmt_any(cell.exp_term)}",
            f"sum over the row's {'visible ' if any(hidden) else ''}keys l: "
            f"Σ exp({name}({i + 1}, l) − max) = "
            f"{_sum_text(cell.row_exp_terms.tolist(), hidden)} = {fmt_any(cell.row_exp_sum)}",
            f"a{ij} = {fmt_any(cell.exp_term)} / {fmt_any(cell.row_exp_sum)} "
            f"= {fmt_any(cell.attn_weight)}",
        ]
    lines += dropout_lines(cell, vectors)
    return lines


def dropout_lines(cell: CellArithmetic, vectors: str) -> list[str]:
    """Where dropout acts: after the softmax, on the weights."""
    if cell.dropout_p is None:
        if vectors == "x":
            return []
        return [
            "dropout, when used (lesson 3), acts after this step: each weight is kept with "
            "probability 1 − p and multiplied by 1/(1 − p), or dropped (set to 0)"
        ]
    p = cell.dropout_p
    if p == 0:
        return ["dropout p = 0: every weight is kept as it is"]
    factor = 1.0 / (1.0 - p)
    lines = [
        f"dropout (p = {p:g}) acts after the softmax: each weight is kept with probability "
        f"1 − p and multiplied by 1/(1 − p) = {fmt_any(factor)}, or dropped (set to 0)"
    ]
    ij = _pair(cell.query_index, cell.key_index)
    if cell.kept is True:
        lines.append(
            f"a{ij} was kept: {fmt_any(cell.attn_weight)} × {fmt_any(factor)} "
            f"= {fmt_any(cell.dropped_weight)}"
        )
    elif cell.kept is False:
        lines.append(f"a{ij} was dropped: 0")
    return lines


def explain_lesson1(inputs: torch.Tensor, query_index: int, key_index: int) -> CellView:
    """Lesson 1's cell: ω(i, j) = x(i) · x(j), softmax (stable), no scaling. inputs: (T, d)."""
    cell = cell_arithmetic(inputs, inputs, query_index, key_index)
    return CellView(cell, cell_lines(cell, vectors="x"))


def explain_lesson2(steps: TrainableSteps, query_index: int, key_index: int) -> CellView:
    """Lesson 2's cell from its steps (queries, keys (T, d_k)): scaled by 1/√d_k, no mask."""
    d_k = steps.keys.shape[-1]
    cell = cell_arithmetic(steps.queries, steps.keys, query_index, key_index, scale=scale_for(d_k))
    return CellView(cell, cell_lines(cell))


def explain_lesson3(
    steps: CausalSteps,
    query_index: int,
    key_index: int,
    *,
    dropout_p: float | None = None,
    mask_kept: torch.Tensor | None = None,
) -> CellView:
    """Lesson 3's cell: scaled, causal mask (−∞ above the diagonal), then dropout if given.

    mask_kept: (T, T) bool, DropoutResult.mask_kept of the page's dropout (with dropout_p)."""
    d_k = steps.keys.shape[-1]
    kept = None if mask_kept is None else bool(mask_kept[query_index, key_index])
    cell = cell_arithmetic(
        steps.queries,
        steps.keys,
        query_index,
        key_index,
        scale=scale_for(d_k),
        mask=steps.mask,
        dropout_p=dropout_p,
        kept=kept,
    )
    return CellView(cell, cell_lines(cell))


def explain_lesson4(
    steps: MultiHeadSteps, head: int, query_index: int, key_index: int, *, causal: bool
) -> CellView:
    """Lesson 4's cell for one head (0-based): that head's q and k (steps.queries/keys
    (h, T, hd)), scaled by 1/√head_dim, causal mask if the lesson's setting says so."""
    queries, keys = steps.queries[head], steps.keys[head]  # (T, hd) each
    T, hd = queries.shape
    mask = torch.ones(T, T, dtype=torch.bool).triu(1) if causal else None
    cell = cell_arithmetic(queries, keys, query_index, key_index, scale=scale_for(hd), mask=mask)
    return CellView(cell, cell_lines(cell, head=head))


# ---- word order: the shuffle check for lessons 1-4 -------------------------------------------

# Which dimensions of each output are token positions (the rest are features or heads).
# Lesson 3's mask is left out on purpose: it belongs to the positions, not to the tokens.
TOKEN_DIMS: dict[int, dict[str, tuple[int, ...]]] = {
    1: {"attn_scores": (0, 1), "attn_weights": (0, 1), "context_vecs": (0,)},
    2: {
        "queries": (0,),
        "keys": (0,),
        "values": (0,),
        "attn_scores": (0, 1),
        "scaled_scores": (0, 1),
        "attn_weights": (0, 1),
        "context_vecs": (0,),
    },
    3: {
        "queries": (0,),
        "keys": (0,),
        "values": (0,),
        "attn_scores": (0, 1),
        "unmasked_weights": (0, 1),
        "zeroed_weights": (0, 1),
        "renormalized_weights": (0, 1),
        "masked_scores": (0, 1),
        "attn_weights": (0, 1),
        "context_vecs": (0,),
    },
    4: {
        "queries": (-2,),
        "keys": (-2,),
        "values": (-2,),
        "attn_weights": (-2, -1),
        "concat_context": (0,),
        "output": (0,),
    },
}


class ShuffleCheck(NamedTuple):
    """A lesson run on its tokens in another order, compared output by output.

    order: T indices (shuffled position r holds original token order[r]); shuffled: the
    lesson's outputs on the shuffled inputs; gaps: output name -> largest |shuffled - permuted
    original|; permutes: output name -> gap <= SHUFFLE_TOL (the output just moved with the
    tokens); max_difference: the largest gap.
    """

    order: list[int]
    shuffled: NamedTuple
    gaps: dict[str, float]
    permutes: dict[str, bool]
    max_difference: float


def shuffle_check(
    run: Callable[[torch.Tensor], NamedTuple],
    inputs: torch.Tensor,
    token_dims: Mapping[str, Sequence[int]],
    order: Sequence[int] | None = None,
) -> ShuffleCheck:
    """Run `run` on inputs (T, d) and on the inputs in `order` (default
    lessons.lesson1.shuffled_order(T), the order lesson 1 uses), and compare each output named
    in token_dims with the original output permuted along its token dimensions.

    Generalises lessons.lesson1.shuffle_check (lesson 1 only) to any lesson's outputs."""
    T = inputs.shape[0]
    order = shuffled_order(T) if order is None else list(order)
    index = torch.tensor(order, dtype=torch.long)
    with torch.no_grad():
        original = run(inputs)
        shuffled = run(inputs[index])
    gaps = {
        name: max_gap(getattr(shuffled, name), permute_tokens(getattr(original, name), order, dims))
        for name, dims in token_dims.items()
    }
    return ShuffleCheck(
        list(order),
        shuffled,
        gaps,
        {name: gap <= SHUFFLE_TOL for name, gap in gaps.items()},
        max(gaps.values(), default=0.0),
    )


def lesson_run(
    lesson: int, weights: QKVWeights | None = None, settings: lesson4.Settings | None = None
) -> Callable[[torch.Tensor], NamedTuple]:
    """The computation of lesson 1-4 as a function of the inputs (T, d_in): lesson 1
    simple_attention; 2 trainable_attention(weights); 3 causal_attention(weights); 4 build 2
    (lesson4.compute(...).split, MultiHeadSteps) with `settings`."""
    if lesson == 1:
        return simple_attention
    if lesson in (2, 3):
        if weights is None:
            raise ValueError(f"lesson {lesson} needs its QKVWeights")
        if lesson == 2:
            return lambda x: trainable_attention(x, weights)
        return lambda x: causal_attention(x, *weights)
    if lesson == 4:
        chosen = lesson4.Settings() if settings is None else settings
        return lambda x: lesson4.compute(x, chosen).split
    raise ValueError(f"no shuffle check for lesson {lesson}")


# The outputs a shuffle check reports, in the words the pages use.
OUTPUT_NAMES = {
    "queries": "queries Q",
    "keys": "keys K",
    "values": "values V",
    "attn_scores": "scores Ω",
    "scaled_scores": "scaled scores",
    "unmasked_weights": "weights without the mask",
    "zeroed_weights": "weights, future set to 0",
    "renormalized_weights": "weights, rows divided by their sums",
    "masked_scores": "masked scores",
    "attn_weights": "weights A",
    "context_vecs": "context vectors Z",
    "concat_context": "concatenated context vectors",
    "output": "output",
}


def shuffle_rows(check: ShuffleCheck) -> dict[str, list[str]]:
    """The check as table columns: each output, its largest difference from the permuted
    original, and whether it just moved with the tokens (difference within SHUFFLE_TOL)."""
    names = list(check.gaps)
    return {
        "output": [OUTPUT_NAMES.get(name, name) for name in names],
        "difference": [f"{check.gaps[name]:.1e}" for name in names],
        "moved": ["yes" if check.permutes[name] else "no" for name in names],
    }


def shuffle_verdict(check: ShuffleCheck, causal: bool) -> tuple[list[str], list[str]]:
    """(outputs that moved with the tokens, outputs that did not), by OUTPUT_NAMES; with
    `causal` the second list is what the mask changed."""
    moved = [OUTPUT_NAMES.get(n, n) for n, ok in check.permutes.items() if ok]
    changed = [OUTPUT_NAMES.get(n, n) for n, ok in check.permutes.items() if not ok]
    return moved, changed


def unscaled_weights(scores: torch.Tensor) -> torch.Tensor:
    """softmax(Ω) without the division by √d_k, row by row: (T, T) -> (T, T)."""
    return torch.softmax(scores, dim=-1)


# ---- lesson 5: the words that go with the analyses ---------------------------------------------

ROLLOUT_TEXT = (
    "Attention rollout (Abnar & Zuidema, 2020) follows the weights through all 6 layers. For "
    "each layer it averages the 12 heads' weights A, adds the residual connection as "
    "0.5·A + 0.5·I (I: each token keeps itself), makes every row sum to 1 again, and "
    "multiplies the layers' matrices: row i says how much of each input token ends up in token "
    "i's last vector, if the tokens were mixed only by attention and the residual connection, "
    "linearly. That assumption ignores the value vectors, the output projection, the "
    "feed-forward layers and the LayerNorms, so rollout is not an explanation of the model's "
    "output: it is one way to add up attention across layers."
)

NORMS_TEXT = (
    "A weight says how much a query looks at a key, not how much that key passes on. Kobayashi "
    "et al. (2020) measure what a head passes on: the length ‖a(i, j) · v(j) W_O‖ of key j's "
    "value vector after the head's part of the output projection, times the weight. A large "
    "weight on a token whose transformed value vector is short carries little."
)


def head_rule_text(threshold: float) -> str:
    """The rule behind the head summary, in words."""
    return (
        "For each head, averaged over the queries: the weight on the previous token, on the "
        "next token, on the query's own token, on [CLS], on [SEP], and on punctuation tokens. "
        "(Previous and next average only over the queries that have one; the shares can "
        "overlap, e.g. the second token's previous token is [CLS].) A head is labelled with "
        f"the category of its largest share if that share is above {threshold:g}, otherwise "
        f'"{MIXED}". A description of the weights on this sentence, not a finding about the '
        "model in general."
    )


def heads_by_label(summary: HeadSummary) -> dict[str, list[tuple[int, int]]]:
    """Every label (each category, then "mixed") -> the (layer, head) pairs with it, 0-based,
    in layer then head order. Every label is present, with an empty list if no head has it."""
    groups: dict[str, list[tuple[int, int]]] = {label: [] for label in (*HEAD_CATEGORIES, MIXED)}
    for layer, labels in enumerate(summary.labels):
        for head, label in enumerate(labels):
            groups[label].append((layer, head))
    return groups


FLOW_TEXT = (
    "Attention flow (Abnar & Zuidema, 2020), rollout's companion, is left out. It treats the "
    "layers as a network of pipes whose capacities are the weights and solves one maximum-flow "
    "problem for every pair of an input token and an output token: 16,384 problems for 128 "
    "tokens, each on a graph of 896 nodes and 98,304 edges. On a 2-core machine, with SciPy's "
    "Dinic solver (SciPy is not part of this app), one output token's row of 128 problems "
    "took 0.4 to 1.8 seconds in two measurements on a busy machine, so the whole map would "
    "take about one to four minutes: far too slow to redraw while you edit."
)
