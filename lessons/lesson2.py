"""Lesson 2: self-attention with trainable weights W_query, W_key, W_value, scaled by √d_k.

Pure Python and torch (no Streamlit). Shape legend: T tokens, d_in embedding size,
d_out projected size (d_k = d_out), K the d_k values of the why-scale experiment.
Weights are in the (d_in, d_out) orientation: queries = inputs @ W_query.
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
import textwrap
from collections.abc import Sequence
from typing import NamedTuple

import torch

from attention import SEED_INPUTS
from attention.causal import CausalSteps
from attention.trainable import (
    QKVWeights,
    QueryLoop,
    SelfAttentionV1,
    SelfAttentionV2,
    TrainableSteps,
    query_attention_loop,
    trainable_attention,
)
from lessons import export
from lessons.export import LessonData, Matrix
from lessons.numbers import fmt, fmt_factor
from lessons.question import Question

DEFAULT_SEED = 123  # the book's torch.manual_seed(123) before torch.rand(d_in, d_out)
DEFAULT_D_OUT = 2
# On the seed example (d_out = 2) the largest softmax derivative first shrinks at factors 51.5,
# 38, 36, 32 and 73 for queries 1-5, and every derivative by 106.5, 79, 75.5, 66.5 and 151.5:
# the default shows the shrinking for every query, the maximum shows all of it.
DEFAULT_FACTOR = 128.0
MAX_FACTOR = 256.0
FACTOR_STEP = 0.5  # the slider's step; needed_factor searches the same grid
VARIANCE_D_KS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
VARIANCE_SAMPLES = 2000
WALK_QUERY = 1  # the book walks through query 2 (0-based 1)

BUILDS_ON = (
    "In lesson 1 each input x(i) was compared with the others directly: ω(i, j) = x(i) · x(j). "
    "Here each token first gets three vectors, each a learned linear map of its input: a "
    "**query** q(i) (what this token looks for), a **key** k(j) (what it offers to others) and "
    "a **value** v(j) (what it passes on). The maps are the weight matrices **W_query**, "
    "**W_key** and **W_value**, which training adjusts."
)
STEPS = [
    "One query, step by step",
    "All queries at once: Q, K, V",
    "Scores, then scaling by √d_k",
    "Weights and context vectors",
    "Why scale by √d_k?",
    "The same attention as a class, two ways",
]
SOURCE = (
    'Source: Sebastian Raschka, "Build a Large Language Model (From Scratch)", chapter 3 '
    "(self-attention with trainable weights). The steps, the seed 123 and d_out = 2 are the "
    "book's; the tokens and inputs are lesson 1's (the book uses its own six-word sentence), "
    "and here you can edit every weight."
)

WHY_SCALE = (
    "Assume the entries of q and k are independent, with mean 0 and variance 1. Each "
    "product q_m k_m then has mean 0 and variance 1, and q · k, a sum of d_k such "
    "independent products, has variance exactly d_k. Dividing by √d_k brings it back to 1. "
    "Without it, large d_k spreads the scores far apart and the softmax saturates: one "
    "weight near 1, the others near 0. Write s(i, l) = ω(i, l) / √d_k for the scaled scores "
    "the softmax is given; its derivatives ∂a(i, j)/∂s(i, l) = a(i, j)(δ_jl − a(i, l)) "
    "(δ_jl is 1 when j = l, else 0) then all shrink towards 0, the winner's own a(1 − a) "
    "included, so training gets little signal from any score."
)
CLASSES = (
    "The book packs these steps into a small module. **SelfAttention_v1** (here "
    "`SelfAttentionV1`) holds W_query, W_key and W_value as `nn.Parameter` matrices of shape "
    "(d_in, d_out) and computes `x @ W_query`. **SelfAttention_v2** (here `SelfAttentionV2`) uses "
    "`nn.Linear(d_in, d_out, bias=False)` layers: "
    "an `nn.Linear` stores its weight as (d_out, d_in) and computes `x @ weight.T`. So v2 "
    "with the transposed weights Wᵀ computes exactly what v1 computes with W. (With the "
    "same seed they would still start apart: `nn.Linear` draws its weights uniformly "
    "between ±1/√d_in, not in [0, 1).)"
)


class Scaling(NamedTuple):
    """What scaling by √d_k does to one query's row of weights.

    before, after: (T,) softmax of the scaled scores and of factor × them;
    grad_before, grad_after: the largest |∂a(i, j)/∂s(i, l)| over the row's softmax Jacobian;
    winner_before, winner_after: the winner's own derivative a(1 − a);
    every_smaller: no entry of the Jacobian grew in size;
    needed: the smallest factor on the slider's grid at which the largest derivative is
    smaller than before (None if none up to MAX_FACTOR)."""

    factor: float
    before: torch.Tensor
    after: torch.Tensor
    grad_before: float
    grad_after: float
    winner_before: float
    winner_after: float
    every_smaller: bool
    needed: float | None


class Lesson2(NamedTuple):
    """Everything lesson 2 shows: steps (TrainableSteps), d_k, the walk-through of one query
    (QueryLoop) and its difference from the matrix row, the means of the entries of Q and K,
    and the largest difference between SelfAttention_v1 and SelfAttention_v2 (transposed
    weights) on these inputs."""

    steps: TrainableSteps
    d_k: int
    walk: QueryLoop
    walk_difference: float
    mean_query: float
    mean_key: float
    v1_output: torch.Tensor
    v2_output: torch.Tensor
    v1_v2_difference: float


def v1_and_v2(inputs: torch.Tensor, weights: QKVWeights) -> tuple[torch.Tensor, torch.Tensor]:
    """SelfAttention_v1 holding `weights` (d_in, d_out) as nn.Parameter, and SelfAttention_v2
    whose nn.Linear layers hold the same weights transposed, (d_out, d_in); both run on
    inputs (T, d_in) -> (T, d_out) each."""
    d_in, d_out = weights.W_query.shape
    with torch.random.fork_rng(devices=[]):  # their random init is overwritten below
        v1, v2 = SelfAttentionV1(d_in, d_out), SelfAttentionV2(d_in, d_out)
    with torch.no_grad():
        for name, W in zip(QKVWeights._fields, weights, strict=True):
            getattr(v1, name).copy_(W)  # (d_in, d_out)
            getattr(v2, name).weight.copy_(W.T)  # nn.Linear stores (d_out, d_in)
        return v1(inputs), v2(inputs)


def compute(inputs: torch.Tensor, weights: QKVWeights) -> Lesson2:
    """Lesson 2's numbers for inputs (T, d_in) and weights (each (d_in, d_out))."""
    steps = trainable_attention(inputs, weights)
    q = min(WALK_QUERY, inputs.shape[0] - 1)
    walk = query_attention_loop(inputs, weights, q)
    walk_difference = float((walk.attn_scores - steps.attn_scores[q]).abs().max())
    v1, v2 = v1_and_v2(inputs, weights)
    return Lesson2(
        steps,
        weights.W_key.shape[1],
        walk,
        walk_difference,
        float(steps.queries.mean()),
        float(steps.keys.mean()),
        v1,
        v2,
        float((v1 - v2).abs().max()),
    )


def _jacobians(weights: torch.Tensor) -> torch.Tensor:
    """The softmax Jacobians diag(a) − a aᵀ of rows (..., T) -> (..., T, T)."""
    return torch.diag_embed(weights) - weights.unsqueeze(-1) * weights.unsqueeze(-2)


def needed_factor(scaled_row: torch.Tensor) -> float | None:
    """The smallest factor in FACTOR_STEP steps from 1 to MAX_FACTOR at which the largest
    |∂a(i, j)/∂s(i, l)| of the row (T,) is smaller than at factor 1, or None."""
    largest = float(_jacobians(torch.softmax(scaled_row, dim=-1)).abs().max())
    count = round((MAX_FACTOR - 1) / FACTOR_STEP)
    factors = 1 + FACTOR_STEP * torch.arange(1, count + 1, dtype=scaled_row.dtype)  # (F,)
    rows = torch.softmax(factors.unsqueeze(-1) * scaled_row, dim=-1)  # (F, T)
    shrunk = _jacobians(rows).abs().flatten(1).max(dim=-1).values < largest  # (F,)
    return float(factors[shrunk][0]) if bool(shrunk.any()) else None


def scaling(scaled_row: torch.Tensor, factor: float) -> Scaling:
    """Softmax of one query's scaled scores (T,) and of `factor` times them, with gradients."""
    before = torch.softmax(scaled_row, dim=-1)
    after = torch.softmax(scaled_row * factor, dim=-1)
    jacobian_before, jacobian_after = _jacobians(before).abs(), _jacobians(after).abs()
    top_before, top_after = float(before.max()), float(after.max())
    return Scaling(
        factor,
        before,
        after,
        float(jacobian_before.max()),
        float(jacobian_after.max()),
        top_before * (1 - top_before),
        top_after * (1 - top_after),
        bool((jacobian_after <= jacobian_before).all()),
        needed_factor(scaled_row),
    )


def scaling_sentence(scale: Scaling) -> str:
    """What multiplying one row's scores by scale.factor did to its largest weight and to the
    softmax's derivatives, in words and numbers."""
    text = (
        f"Largest weight: {fmt(float(scale.before.max()))} before, "
        f"{fmt(float(scale.after.max()))} after multiplying by {scale.factor:g}. Largest "
        f"softmax derivative: {fmt(scale.grad_before)} before, {fmt(scale.grad_after)} after; "
        f"the winner's own a(1 − a): {fmt(scale.winner_before)} before, "
        f"{fmt(scale.winner_after)} after."
    )
    if scale.grad_after < scale.grad_before:
        if scale.every_smaller:
            return (
                text
                + " The softmax is saturating: the largest derivative got smaller and none grew."
            )
        return text + (
            " The softmax is saturating: its largest derivative got smaller, though some "
            "others grew."
        )
    text += (
        " The derivatives did not shrink here: this row is not yet close to one-hot (one "
        "weight 1, the others 0), and the winner's a(1 − a) grows until a reaches 0.5."
    )
    if scale.needed is None:
        limit = f"{MAX_FACTOR:g}"
        return (
            text
            + f" For this row the largest one does not get smaller at any factor up to {limit}."
        )
    return (
        text + f" For this row the largest one first gets smaller at a factor of {scale.needed:g}."
    )


# Text built from the numbers -------------------------------------------------------------------


def walk_lines(inputs: torch.Tensor, weights: QKVWeights, result: Lesson2) -> list[str]:
    """The single-query walk-through as code-like lines with the student's numbers:
    query_2 = x(2) @ W_query, keys, ω(2, 2) as a sum of products, query_2 @ keys.T."""
    walk = result.walk
    i = walk.query_index + 1
    keys = result.steps.keys
    q, k = walk.query, keys[walk.query_index]
    products = " + ".join(
        f"{fmt_factor(float(a))}×{fmt_factor(float(b))}" for a, b in zip(q, k, strict=True)
    )
    row = ", ".join(fmt(float(v)) for v in walk.attn_scores)
    return [
        f"query_{i} = x({i}) @ W_query = [{', '.join(fmt(float(v)) for v in q)}]",
        f"keys = inputs @ W_key  # one key k(j) per token: {tuple(keys.shape)}",
        f"ω({i}, {i}) = q({i}) · k({i}) = {products} = {fmt(float(q @ k))}",
        f"attn_scores_{i} = query_{i} @ keys.T = [{row}]  # ω({i}, j) for every key j",
    ]


MEAN_CLOSE = 0.1  # a mean entry within this of 0 counts as close to 0


def mean_sentence(result: Lesson2, inputs: torch.Tensor) -> str:
    """The means of the entries of Q and K, and what they say about the variance argument;
    inputs (T, d_in) are named only when they are the seed example's (all between 0 and 1)."""
    seed = torch.tensor(SEED_INPUTS, dtype=inputs.dtype)
    seed_inputs = inputs.shape == seed.shape and bool(torch.equal(inputs, seed))
    text = f"Mean entry of Q: {fmt(result.mean_query)}; of K: {fmt(result.mean_key)}. "
    means = (abs(result.mean_query), abs(result.mean_key))
    if max(means) <= MEAN_CLOSE:
        return text + (
            f"Both are within {MEAN_CLOSE:g} of 0, as the argument above assumes (it also "
            "assumes independent entries with variance 1, which these need not have)."
        )
    why = "The weights start in [0, 1)"
    if seed_inputs:
        why += " and the seed inputs are between 0 and 1 too"
    far = [name for name, mean in zip("QK", means, strict=True) if mean > MEAN_CLOSE]
    subject = (
        "the mean entries of Q and K are" if len(far) == 2 else f"the mean entry of {far[0]} is"
    )
    return text + (
        f"{why}; {subject} more than {MEAN_CLOSE:g} away from 0, so these queries and keys "
        "are not zero-mean: the argument above describes the usual set-up (weights drawn "
        "around 0), not these numbers."
    )


def scale_question(steps: TrainableSteps) -> Question:
    """Does dividing the scores by √d_k raise, keep or lower each row's largest weight?
    Compares each row's largest weight with and without the division (1e-7 counts as same)."""
    T, d_k = steps.attn_scores.shape[0], steps.keys.shape[1]
    unscaled = torch.softmax(steps.attn_scores, dim=-1).max(dim=-1).values  # (T,)
    change = steps.attn_weights.max(dim=-1).values - unscaled  # (T,)
    counts = {
        "up": int((change > 1e-7).sum()),
        "same": int((change.abs() <= 1e-7).sum()),
        "down": int((change < -1e-7).sum()),
    }
    return Question(
        f"Predict: after dividing the scores by √d_k = {sqrt_d_k(d_k)}, the largest weight "
        "in each row of the softmax…",
        {"up": "goes up", "same": "stays the same", "down": "goes down"},
        {name for name, n in counts.items() if n == max(counts.values())},
        f"in {counts['down']} of {T} rows it goes down, in {counts['same']} it stays the same "
        f"(within 1e-7), in {counts['up']} it goes up.",
        "Dividing by a number larger than 1 pulls a row's scores closer together, and the "
        "softmax of closer scores is flatter, so the largest weight shrinks (unless all the "
        "row's scores are equal). With d_k = 1 the division changes nothing.",
    )


# Exported numbers and the script -----------------------------------------------------------------


def qkv_matrices(
    tokens: list[str], inputs: torch.Tensor, weights: QKVWeights, steps: TrainableSteps
) -> list[Matrix]:
    """inputs, W_query, W_key, W_value, queries, keys, values, attn_scores (shared with
    lesson 3)."""
    out = export.dims("out", weights.W_query.shape[1])
    return [
        export.token_matrix("inputs", inputs, tokens, export.dims("dim", inputs.shape[1])),
        *export.weight_matrices(weights, QKVWeights._fields),
        export.token_matrix("queries", steps.queries, tokens, out),
        export.token_matrix("keys", steps.keys, tokens, out),
        export.token_matrix(
            "values", steps.values, tokens, export.dims("out", steps.values.shape[1])
        ),
        export.token_matrix("attn_scores", steps.attn_scores, tokens, tokens),
    ]


def qkv_lesson_data(
    number: int,
    title: str,
    tokens: Sequence[str],
    inputs: torch.Tensor,
    weights: QKVWeights,
    steps: TrainableSteps | CausalSteps,
    between: list[Matrix],
    notes: list[str],
    seed: int | None,
    caveat: str = "",
) -> LessonData:
    """The export of a lesson with one Q/K/V head (lessons 2 and 3): qkv_matrices, then
    `between` (e.g. scaled_scores), then attn_weights (T, T) and context_vecs (T, d_out)."""
    tokens = list(tokens)
    return LessonData(
        number,
        title,
        tokens,
        [
            *qkv_matrices(tokens, inputs, weights, steps),
            *between,
            export.token_matrix("attn_weights", steps.attn_weights, tokens, tokens),
            export.token_matrix(
                "context_vecs",
                steps.context_vecs,
                tokens,
                export.dims("out", steps.values.shape[1]),
            ),
        ],
        settings={
            "T": len(tokens),
            "d_in": inputs.shape[1],
            "d_out": weights.W_key.shape[1],
            "seed": seed,
        },
        notes=notes,
        caveat=caveat,
    )


def lesson_data(
    tokens: Sequence[str],
    inputs: torch.Tensor,
    weights: QKVWeights,
    steps: TrainableSteps,
    seed: int | None = None,
) -> LessonData:
    """Lesson 2's export: inputs, W_query, W_key, W_value (d_in, d_out), queries, keys,
    values (T, d_out), attn_scores, scaled_scores, attn_weights (T, T), context_vecs."""
    d_k = weights.W_key.shape[1]
    scaled = export.token_matrix("scaled_scores", steps.scaled_scores, list(tokens), list(tokens))
    note = (
        "queries = inputs @ W_query (likewise keys, values); attn_scores = queries @ keys.T; "
        f"scaled_scores = attn_scores / sqrt(d_k) with d_k = {d_k}; attn_weights = softmax "
        "of each row; context_vecs = attn_weights @ values. The W matrices are the ones on "
        "the page, including your edits."
    )
    title = "Lesson 2: self-attention with trainable weights"
    return qkv_lesson_data(2, title, tokens, inputs, weights, steps, [scaled], [note], seed)


def qkv_script_lines(data: LessonData) -> list[str]:
    """The script up to the scaled scores (shared with lesson 3): header, literals, Q, K, V,
    attn_scores, scaled_scores."""
    T, d_in = data.matrix("inputs").values.shape
    d_out = data.matrix("W_query").values.shape[1]
    shape = f"(d_in, d_out) = ({d_in}, {d_out})"
    return [
        export.script_header(data),
        export.literal_block(
            data,
            ["inputs", "W_query", "W_key", "W_value"],
            {
                "inputs": f"(T, d_in) = ({T}, {d_in})",
                "W_query": shape,
                "W_key": shape,
                "W_value": shape,
            },
        ),
        "",
        "queries = inputs @ W_query  # (T, d_in) x (d_in, d_out) -> (T, d_out)",
        "keys = inputs @ W_key  # (T, d_in) x (d_in, d_out) -> (T, d_out)",
        "values = inputs @ W_value  # (T, d_in) x (d_in, d_out) -> (T, d_out)",
        "attn_scores = queries @ keys.T  # (T, d_out) x (d_out, T) -> (T, T)",
        "d_k = keys.shape[-1]",
        "scaled_scores = attn_scores * (1 / d_k**0.5)  # divide by sqrt(d_k)",
    ]


def script(data: LessonData) -> str:
    """Lesson 2 as a self-contained PyTorch script that prints the computed matrices."""
    return "\n".join(
        [
            *qkv_script_lines(data),
            "attn_weights = torch.softmax(scaled_scores, dim=-1)  # (T, T): each row sums to 1",
            "context_vecs = attn_weights @ values  # (T, T) x (T, d_out) -> (T, d_out)",
            export.SHOW_FUNCTION,
            export.show_lines(export.printed_names(data)),
            "",
        ]
    )


def sqrt_d_k(d_k: int) -> str:
    """√d_k as the page writes it, e.g. "√2 = 1.4142"."""
    return f"√{d_k} = {math.sqrt(d_k):.4f}"


def _without_docstrings(source: str) -> str:
    """`source` with the docstrings of its classes and functions left out."""
    tree = ast.parse(source)
    lines = source.splitlines()
    drop: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                end = first.end_lineno or first.lineno
                drop.update(range(first.lineno - 1, end))
                if end < len(lines) and not lines[end].strip():
                    drop.add(end)  # the blank line after it
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


@functools.cache
def classes_source() -> str:
    """The source of SelfAttention_v1 and SelfAttention_v2 as they run here (docstrings left
    out): the classes this lesson computes with."""
    return "\n\n\n".join(
        _without_docstrings(textwrap.dedent(inspect.getsource(cls)))
        for cls in (SelfAttentionV1, SelfAttentionV2)
    )
