"""Lesson 3: causal attention (no looking ahead) and dropout on the attention weights.

Pure Python and torch (no Streamlit). Shape legend: T tokens, d_in embedding size,
d_out projected size (d_k = d_out). Weights (d_in, d_out): queries = inputs @ W_query.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch

from attention.causal import CausalSteps, DropoutResult, apply_dropout, causal_attention
from attention.trainable import QKVWeights
from lessons import export, lesson2
from lessons.export import LessonData
from lessons.question import Question

DEFAULT_SEED = 789  # the book's torch.manual_seed(789) before SelfAttention_v2
DEFAULT_D_OUT = 2
DEFAULT_P = 0.5
DEFAULT_DROPOUT_SEED = 123
MAX_P = 0.9
SAME_TOL = 1e-6  # a row "equals" lesson 2's when no weight differs by more

BUILDS_ON = (
    "This lesson builds on lesson 2: the same queries, keys, values and scaled scores, with "
    "one change. A model that writes text one token at a time (like GPT) must not use tokens "
    "that come later. **Causal attention** lets query q(i) attend only to keys k(j) with "
    "j ≤ i: every weight above the diagonal becomes 0, and each row still adds up to 1."
)
STEPS = [
    "The causal mask",
    "Way 1 · Softmax, hide the future, renormalise",
    "Way 2 · −∞ before the softmax",
    "Dropout",
]
SOURCE = (
    'Source: Sebastian Raschka, "Build a Large Language Model (From Scratch)", chapter 3 '
    "(hiding future words with causal attention; masking additional attention weights with "
    "dropout). The seed 789 and nn.Linear weights are the book's SelfAttention_v2 set-up; the "
    "tokens and inputs are lesson 1's. Where the app differs: the book shows nn.Dropout on a "
    "6 × 6 matrix of ones and inside CausalAttention during training; here the dropout mask "
    "is drawn with its own seeded generator (kept where a uniform draw is at least p), so the "
    "same seed gives other dropped positions than nn.Dropout, and it works on one sequence, "
    "not a batch."
)


class Lesson3(NamedTuple):
    """Lesson 3's numbers: steps (CausalSteps), scaled_scores (T, T) = Ω / √d_k without mask,
    ways_difference (way 1 vs way 2), last_row_difference (last causal row vs lesson 2's row),
    same_rows: indices of the rows that equal lesson 2's unmasked rows (within SAME_TOL)."""

    steps: CausalSteps
    scaled_scores: torch.Tensor
    ways_difference: float
    last_row_difference: float
    same_rows: list[int]


def compute(inputs: torch.Tensor, weights: QKVWeights) -> Lesson3:
    """Causal attention both ways for inputs (T, d_in) and weights (each (d_in, d_out))."""
    steps = causal_attention(inputs, *weights)
    d_k = weights.W_key.shape[1]
    differences = (steps.attn_weights - steps.unmasked_weights).abs().amax(dim=-1)  # (T,)
    return Lesson3(
        steps,
        steps.attn_scores * (1.0 / math.sqrt(d_k)),  # as scaled_dot_product does
        float((steps.attn_weights - steps.renormalized_weights).abs().max()),
        float(differences[-1]),
        [i for i, d in enumerate(differences.tolist()) if d <= SAME_TOL],
    )


class Dropout(NamedTuple):
    """Dropout on the causal weights: result (mask_kept, dropped_weights), kept count among
    the visible weights, the factor 1 / (1 − p) and the row sums (T,) afterwards.
    colour_max = factor: the largest value a kept weight can reach."""

    p: float
    result: DropoutResult
    kept: int
    visible: int
    factor: float
    row_sums: torch.Tensor

    @property
    def colour_max(self) -> float:
        return self.factor


def dropout(steps: CausalSteps, p: float, seed: int) -> Dropout:
    """Drop each causal weight independently with probability p (seeded), scale the kept ones
    by 1 / (1 − p). p in [0, 1)."""
    result = apply_dropout(steps.attn_weights, p, seed)
    visible = ~steps.mask
    return Dropout(
        p,
        result,
        int((result.mask_kept & visible).sum()),
        int(visible.sum()),
        1.0 / (1.0 - p),
        result.dropped_weights.sum(dim=-1),
    )


ALGEBRA = (
    "With s(i, j) = ω(i, j) / √d_k and the visible keys j ≤ i:\n"
    "a(i, j) / Σ_{l≤i} a(i, l)\n"
    "  = [e^s(i, j) / Σ_all l e^s(i, l)] / [Σ_{l≤i} e^s(i, l) / Σ_all l e^s(i, l)]\n"
    "  = e^s(i, j) / Σ_{l≤i} e^s(i, l)\n"
    "The common denominator Σ_all l e^s(i, l) cancels: what is left is the softmax over the "
    "visible keys only. Way 2 computes the same thing, since e^−∞ = 0."
)


# Predict, then reveal ------------------------------------------------------------------------


def rows_question(result: Lesson3) -> Question:
    """Which row of the causal weights equals lesson 2's (unmasked) row? Right: the first
    and/or last token's row if it is among result.same_rows, else "every row changes"."""
    T = result.steps.mask.shape[0]
    right = {name for name, i in (("first", 0), ("last", T - 1)) if i in result.same_rows}
    same = ", ".join(f"row {i + 1}" for i in result.same_rows) or "none"
    return Question(
        "Predict: which row of the causal weights equals lesson 2's row (no mask), for the "
        "same weights?",
        {
            "first": "the first token's row",
            "last": "the last token's row",
            "none": "every row changes",
        },
        right or {"none"},
        f"the rows that equal the unmasked ones (within {SAME_TOL:g}) are: {same}.",
        f"Query q({T}), the last, may see every key, so nothing is hidden from it and its row "
        "stays as it was. The first query sees only itself: its weight on itself becomes 1.",
    )


# Exported numbers and the script -----------------------------------------------------------------


def lesson_data(
    tokens: Sequence[str],
    inputs: torch.Tensor,
    weights: QKVWeights,
    result: Lesson3,
    seed: int | None = None,
) -> LessonData:
    """Lesson 3's export: lesson 2's matrices plus the mask (T, T; 1 = future, hidden) and
    masked_scores (scaled, −∞ in the future); attn_weights and context_vecs are causal.
    Dropout is left out (see export.DROPOUT_NOTE)."""
    tokens = list(tokens)
    steps = result.steps
    between = [
        export.token_matrix("scaled_scores", result.scaled_scores, tokens, tokens),
        export.token_matrix("mask", steps.mask.to(torch.int64), tokens, tokens),
        export.token_matrix("masked_scores", steps.masked_scores, tokens, tokens),
    ]
    notes = [
        "As lesson 2, then mask: 1 where the key comes after the query (the future). "
        "masked_scores = scaled_scores with the future set to −∞; attn_weights = softmax "
        "of each row of masked_scores; context_vecs = attn_weights @ values.",
        export.DROPOUT_NOTE,
    ]
    caveat = (
        "The dropout above is not in the files or the code: its random draws could differ on "
        "another machine. They hold the causal weights without dropout, as a model uses them "
        "after training."
    )
    title = "Lesson 3: causal attention"
    return lesson2.qkv_lesson_data(
        3, title, tokens, inputs, weights, steps, between, notes, seed, caveat
    )


def script(data: LessonData) -> str:
    """Lesson 3 as a self-contained PyTorch script that prints the computed matrices."""
    return "\n".join(
        [
            *lesson2.qkv_script_lines(data),
            "T = inputs.shape[0]",
            "# True above the diagonal: key j comes after query i (the future), so it is hidden.",
            "mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # (T, T)",
            'masked_scores = scaled_scores.masked_fill(mask, float("-inf"))  # (T, T)',
            "attn_weights = torch.softmax(masked_scores, dim=-1)  # (T, T): 0 in the future",
            "context_vecs = attn_weights @ values  # (T, T) x (T, d_out) -> (T, d_out)",
            "# Dropout is left out: its random draws can differ between machines and versions.",
            export.SHOW_FUNCTION,
            export.show_lines(export.printed_names(data)),
            "",
        ]
    )
