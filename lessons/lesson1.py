"""Lesson 1, simple self-attention: its defaults, its compute step, the text it computes, the
numbers it exports and the PyTorch script it prints. Pure Python and torch (no Streamlit).

Shape legend: T tokens, d embedding dimension.

The lesson follows the seed notebook "Simple Attention Mechanism": scores ω(i, j) = x(i) · x(j),
weights a(i, j) (sum normalisation, naive softmax, softmax), context vectors
z(i) = Σⱼ a(i, j) x(j); first for one query, then as matrices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch

from attention import (
    SEED_INPUTS,
    SEED_TOKENS,
    AttentionSteps,
    QueryWalkthrough,
    attn_scores_loop,
    pca_2d,
    query_walkthrough,
    simple_attention,
)
from lessons.export import (
    _SHOW,
    LessonData,
    _dims,
    _header,
    _literal_block,
    _shows,
    _token_matrix,
)
from lessons.numbers import elide, fmt, fmt_factor, fmt_input
from lessons.question import Question

SOURCE = 'the seed notebook "Simple Attention Mechanism"'
DEFAULT_TOKENS: tuple[str, ...] = SEED_TOKENS
DEFAULT_INPUTS: tuple[tuple[float, ...], ...] = SEED_INPUTS
DEFAULT_QUERY = 0
SHUFFLE_TOL = 1e-6  # shuffled outputs must equal the permuted originals within this
# Scores whose float32 softmax is exactly 1 and exactly 0 (a demonstration of rounding).
ROUNDING_SCORES = (0.0, -20.0, -110.0)
# The score matrix with a double loop over every pair, then as one matrix product (the
# tests run both and compare them with attention.attn_scores_loop).
LOOP_CODE = """attn_scores = torch.empty(T, T)
for i, x_i in enumerate(inputs):
    for j, x_j in enumerate(inputs):
        attn_scores[i, j] = torch.dot(x_i, x_j)"""
MATRIX_CODE = "attn_scores = inputs @ inputs.T  # (T, d) x (d, T) -> (T, T)"
SCORES_CODE = (
    f"# A double loop over queries and keys\n{LOOP_CODE}\n\n"
    f"# The same scores as one matrix product\n{MATRIX_CODE}"
)
METHOD_LABELS = {
    "sum": "sum normalisation",
    "naive_softmax": "naive softmax",
    "softmax": "softmax (stable)",
}

INTRO_TEXT = (
    "**Start here.** Self-attention turns each token's vector **x(i)** into a **context vector "
    "z(i)**: a weighted average of *all* the tokens' vectors, where the weights a(i, j) say how "
    "much token j matters to token i. This lesson computes it in three steps (scores, "
    "weights, context vector), first for one query token, then for all of them at once. "
    "Change any number and watch everything follow; each lesson ends with a link to the next."
)
SOURCE_TEXT = (
    f"This lesson follows {SOURCE}: the same five tokens and 3-d vectors, the same steps, "
    "and by default the numbers it prints. Beyond the notebook, the app lets you pick any "
    "token as the query, type your own tokens, vectors and d, or use a real model's "
    "embeddings; it adds the pictures and the word-order test."
)
ABOUT_LINK = "New to attention? Read About attention"
LAB_LINK = "Softmax lab: try your own scores"
LESSON5_LINK = "Lesson 5: position embeddings"
EDITOR_NOTE = (
    "Real models learn these vectors; here you can type them. Edit a cell and press Enter; "
    "change the tokens or d in the sidebar."
)
MODEL_NOTE = (
    "Each token's vector is its row in the token-embedding table of the pretrained model "
    "all-MiniLM-L6-v2 (lesson 5): d = 384 numbers learned in training. A word the model splits "
    "into several pieces gets the mean of its pieces' rows. These values are read-only; switch "
    "to hand-made vectors to type your own."
)
SCORES_TEXT = (
    "Each token i is in turn the **query**. Its score with token j is the **dot product** "
    "ω(i, j) = x(i) · x(j): multiply the two vectors entry by entry and add up. The dot product "
    "also equals |x(i)| |x(j)| cos θ, with θ the angle between the vectors: it grows as they "
    "point more nearly the same way **and** as they get longer. At right angles it is 0; "
    "pointing apart, it is negative."
)
TOP_SCORE_EXPLANATION = (
    "A vector points exactly its own way (cos θ = 1), but the score also multiplies the two "
    "lengths: a longer vector that points nearly the same way can beat the query itself."
)
WEIGHTS_TEXT = (
    "Scores can be any size, so we **normalise** each query's row into weights a(i, j) that "
    "add up to 1. Three ways, side by side:\n"
    "- **sum normalisation** (the notebook's first try): ω(i, j) / Σ_l ω(i, l). The weights "
    "add up to 1, but a negative score gives a negative weight, and scores that add up to 0 "
    "give no weights at all.\n"
    "- **naive softmax**: exp(ω(i, j)) / Σ_l exp(ω(i, l)). In exact arithmetic every "
    "weight is positive, but in float32 exp overflows for scores above about 88.\n"
    "- **softmax (stable)**: the same, computed as exp(ω − max ω) / Σ exp(ω − max ω), as "
    "PyTorch's `torch.softmax` does. The lesson goes on with these weights."
)
SUM_BREAKS_TEXT = (
    "Sum normalisation breaks here: with negative scores (or scores that add up to 0) it "
    "gives negative or undefined weights. Softmax does not."
)
OVERFLOW_TEXT = (
    "The naive softmax overflowed: exp of a score above about 88 is too large for a 32-bit "
    "float (inf), and inf / inf is NaN. The stable softmax subtracts the largest score first, "
    "so every exp is at most 1, and gets the right answer."
)
WHY_SOFTMAX_TEXT = (
    "**Why softmax?** In exact arithmetic every weight is positive, even when scores are "
    "negative; a larger score "
    "never gets a smaller weight, and large scores stand out more (exp grows fast); and it is "
    "smooth, so during training every score gets a gradient. Subtracting the row's largest "
    "score changes nothing mathematically but keeps exp from overflowing."
)
CONTEXT_TEXT = (
    "The context vector is the weighted sum of **all** input vectors, with the softmax "
    "weights: z(i) = Σⱼ a(i, j) · x(j). No softmax weight is negative and they add up to 1, so "
    "z(i) is an average that leans towards the tokens with the most weight."
)
LOOP_TEXT = (
    "A first way to compute every score is a double loop over queries and keys, one dot "
    "product per pair (i, j), as the step-by-step walk-through above did for one query. "
    "Stacking the vectors as the rows of a matrix X (T × d), the same T × T scores are one "
    "matrix product, **Ω = X Xᵀ**. Then **A = softmax(Ω)** row by row, and the context "
    "vectors are **Z = A X**. Row i of each matrix is what the steps above computed for query i."
)
ORDER_TEXT = (
    "Nothing in these steps looks at positions: attention compares vectors, and a token's "
    "vector is the same wherever it stands. So *dog bites man* and *man bites dog* get the "
    "same context vectors, only listed in another order. Lessons 2 and 4 keep this property "
    "(without the causal mask); lesson 3's causal mask uses the order only to hide later tokens. "
    "Real models add a **position embedding** to each token's vector, so the same word at "
    "another place gets another vector: lesson 5's model does."
)


class Shuffle(NamedTuple):
    """The order test: the lesson run on the tokens in another order.

    order: T indices (shuffled row r is original row order[r]); tokens: the shuffled tokens;
    steps: simple_attention of the shuffled inputs; max_difference: the largest gap between a
    shuffled output and the matching permuted original, over scores, weights and context.
    """

    order: list[int]
    tokens: list[str]
    steps: AttentionSteps
    max_difference: float


class Lesson1(NamedTuple):
    """Everything lesson 1 shows.

    steps: the matrices (attn_scores (T, T), attn_weights (T, T), context_vecs (T, d));
    walk: the single-query walk-through; loop_scores: (T, T) from the double loop;
    loop_difference: max |loop - matrix|; asymmetry: max |Ω - Ωᵀ| (0 for X Xᵀ);
    shuffle: the same lesson on the tokens in another order.
    """

    steps: AttentionSteps
    walk: QueryWalkthrough
    loop_scores: torch.Tensor
    loop_difference: float
    asymmetry: float
    shuffle: Shuffle


def shuffled_order(T: int) -> list[int]:
    """A fixed shuffle of range(T) that moves every token it can: (T,) indices.

    T >= 2 gives an order different from 0..T-1; the order is the same on every run."""
    generator = torch.Generator().manual_seed(T)
    order = torch.randperm(T, generator=generator).tolist()
    if T >= 2 and order == list(range(T)):
        order = order[::-1]
    return order


def shuffle_check(tokens: Sequence[str], inputs: torch.Tensor, steps: AttentionSteps) -> Shuffle:
    """Run the lesson on the tokens in `shuffled_order` and compare with the original outputs
    permuted the same way. inputs: (T, d); steps = simple_attention(inputs)."""
    order = shuffled_order(inputs.shape[0])
    index = torch.tensor(order, dtype=torch.long)
    shuffled = simple_attention(inputs[index])
    gaps = [
        (shuffled.attn_scores - steps.attn_scores[index][:, index]).abs(),
        (shuffled.attn_weights - steps.attn_weights[index][:, index]).abs(),
        (shuffled.context_vecs - steps.context_vecs[index]).abs(),
    ]
    difference = max(float(gap.max()) if gap.numel() else 0.0 for gap in gaps)
    return Shuffle(order, [tokens[i] for i in order], shuffled, difference)


def compute(tokens: Sequence[str], inputs: torch.Tensor, query_index: int) -> Lesson1:
    """The lesson for inputs (T, d) and one query (0-based index into the T tokens)."""
    steps = simple_attention(inputs)
    loop_scores = attn_scores_loop(inputs)
    return Lesson1(
        steps,
        query_walkthrough(inputs, query_index),
        loop_scores,
        float((loop_scores - steps.attn_scores).abs().max()),
        float((steps.attn_scores - steps.attn_scores.T).abs().max()),
        shuffle_check(tokens, inputs, steps),
    )


# Text the page shows, computed from the numbers ------------------------------------------------


def score_lines(tokens: Sequence[str], walk: QueryWalkthrough) -> list[str]:
    """One line per key j: ω(i,j) = x(i)₁×x(j)₁ + ... = value    (token i · token j)."""
    q = walk.query_index
    return [
        f"ω({q + 1},{dp.key_index + 1}) = "
        + " + ".join(
            elide(
                [
                    f"{fmt_factor(a)}×{fmt_factor(b)}"
                    for a, b in zip(dp.left.tolist(), dp.right.tolist(), strict=True)
                ]
            )
        )
        + f" = {fmt(dp.value)}"
        + f"    ({tokens[q]} · {tokens[dp.key_index]})"
        for dp in walk.dot_products
    ]


def weighted_sum_text(tokens: Sequence[str], inputs: torch.Tensor, walk: QueryWalkthrough) -> str:
    """z(i) = a(i, 1) × x(1) + ... written out, one term per line, ending with z(i)."""
    terms = [
        f"{fmt(a)} × [{', '.join(elide([fmt_input(v) for v in row]))}]    ({tokens[j]})"
        for j, (a, row) in enumerate(zip(walk.attn_weights.tolist(), inputs.tolist(), strict=True))
    ]
    context = ", ".join(elide([fmt(v) for v in walk.context_vec.tolist()]))
    return "\n+ ".join(terms) + f"\n= z({walk.query_index + 1}) = [{context}]"


def weight_sums_text(walk: QueryWalkthrough) -> str:
    """The sum of each method's weights, on one line."""
    return "Sum of the weights: " + " · ".join(
        f"{METHOD_LABELS[method]} = {fmt(walk.normalized[method].total)}"
        for method in METHOD_LABELS
    )


def top_keys(walk: QueryWalkthrough) -> list[int]:
    """The keys j (0-based) with the query's largest score (several when tied)."""
    scores = walk.attn_scores
    best = float(scores.max())
    return [j for j, value in enumerate(scores.tolist()) if value == best]


def highest_score_note(inputs: torch.Tensor, walk: QueryWalkthrough) -> str:
    """Which key scores highest with the query, and why length matters, for these numbers.
    Keys are named by number (the lines under it name the tokens): no user text in it."""
    q = walk.query_index
    if not bool(walk.attn_scores.isfinite().all()):
        return "Some scores are not finite numbers, so there is no single largest score here."
    best = top_keys(walk)
    if len(best) > 1:
        keys = ", ".join(str(j + 1) for j in best)
        return f"Several keys tie for the largest score with query {q + 1}: keys {keys}."
    j = best[0]
    score_q, score_j = walk.dot_products[q].value, walk.dot_products[j].value
    if j == q:
        return (
            f"With these numbers, query {q + 1} scores highest with itself: "
            f"ω({q + 1}, {q + 1}) = |x({q + 1})|² = {fmt(score_q)}. That is not a rule: a dot "
            "product is |a| |b| cos θ, so a longer vector pointing a little away can score "
            "higher than the query itself (in the seed example, the first token scores highest "
            "with the third). Make one row of the table longer, same direction, larger numbers, "
            "and watch its score overtake."
        )
    norm_q, norm_j = float(inputs[q].norm()), float(inputs[j].norm())
    # ω(q, j) > ω(q, q) = |x(q)|² means |x(j)| cos θ > |x(q)|: x(j) is longer, and neither is 0.
    cos = min(max(score_j / (norm_q * norm_j), -1.0), 1.0)
    angle = math.degrees(math.acos(cos))
    return (
        f"Notice: query {q + 1} scores highest with key {j + 1}, ω({q + 1}, {j + 1}) = "
        f"{fmt(score_j)}, not with itself, ω({q + 1}, {q + 1}) = {fmt(score_q)}. A vector "
        "points exactly its own way (θ = 0°, cos θ = 1), but a dot product is |a| |b| cos θ: "
        f"length counts too. x({j + 1}) is longer, |x({j + 1})| = {fmt(norm_j, 2)} against "
        f"|x({q + 1})| = {fmt(norm_q, 2)}, at an angle of θ = {angle:.0f}° "
        f"(cos θ = {fmt(cos, 3)}) to x({q + 1}): the extra length outweighs the angle."
    )


def sum_normalisation_breaks(walk: QueryWalkthrough) -> bool:
    """True when sum normalisation gives a negative or undefined weight for this query."""
    weights = walk.normalized["sum"].weights
    return not bool(weights.isfinite().all()) or bool((weights < 0).any())


def naive_softmax_overflows(walk: QueryWalkthrough) -> bool:
    """True when the naive softmax gives inf or NaN for this query."""
    return not bool(walk.normalized["naive_softmax"].weights.isfinite().all())


def weight_warnings(walk: QueryWalkthrough) -> list[str]:
    """The warnings that hold for this query's weights (none for the seed example)."""
    warnings = []
    if sum_normalisation_breaks(walk):
        warnings.append(SUM_BREAKS_TEXT)
    if naive_softmax_overflows(walk):
        warnings.append(OVERFLOW_TEXT)
    return warnings


WEIGHT_COLUMNS = ["score", *METHOD_LABELS.values()]


def weights_table(walk: QueryWalkthrough) -> torch.Tensor:
    """The query's scores and its weights by each method: (T, 4), columns WEIGHT_COLUMNS."""
    columns = [walk.attn_scores] + [walk.normalized[m].weights for m in METHOD_LABELS]
    return torch.stack(columns, dim=1)


def rounding_example() -> tuple[list[float], list[float]]:
    """float32 softmax of ROUNDING_SCORES: the scores and the weights (exactly 1 and 0 appear)."""
    weights = torch.softmax(torch.tensor(ROUNDING_SCORES, dtype=torch.float32), dim=-1)
    return list(ROUNDING_SCORES), weights.tolist()


def rounding_text() -> str:
    """One sentence: exact arithmetic never gives 0 or 1, float32 does (computed here)."""
    scores, weights = rounding_example()
    shown = ", ".join(f"{w:.2g}" if 0 < w < 1e-4 else repr(w) for w in weights)
    score_text = ", ".join(f"{s:g}" for s in scores)
    return (
        "In exact arithmetic a softmax weight is never exactly 0 or 1. A computer rounds: in "
        f"float32, torch.softmax of the scores [{score_text}] gives [{shown}]."
    )


ROWS_LABEL = "Every query's row of A as bars"  # a section that opens the per-query bar chart
SHUFFLE_TEXT = (
    "Shuffle the tokens, vectors and all, and run the lesson again. Every score, weight and "
    "context vector comes out the same, only in the new order: each token's z does not depend "
    "on where the token stands. Attention on its own is blind to word order. Your tokens, "
    "shuffled:"
)


def shuffled_tokens_line(shuffle: Shuffle) -> str:
    """The tokens in their shuffled order, separated by spaces (plain text)."""
    return " ".join(shuffle.tokens)


def prediction(walk: QueryWalkthrough) -> Question:
    """The question for this query, its right answer and the answer in words (by key number)."""
    q = walk.query_index
    prompt = f"Predict first: which key j gets the largest score ω({q + 1}, j) with query {q + 1}?"
    labels = {True: f"the query itself (j = {q + 1})", False: "another key"}
    if not bool(walk.attn_scores.isfinite().all()):
        answer = "no key has a single largest score here: some scores are not finite."
        return Question(prompt, labels, set(), answer, TOP_SCORE_EXPLANATION)
    best = top_keys(walk)
    values = ", ".join(f"ω({q + 1}, {j + 1}) = {fmt(walk.dot_products[j].value)}" for j in best)
    keys = " and ".join(f"key {j + 1}" for j in best)
    right = {q in best} | ({False} if len(best) > 1 else set())
    if best == [q]:
        answer = f"the largest score is the query's own: {values}."
    else:
        own = f"ω({q + 1}, {q + 1}) = {fmt(walk.dot_products[q].value)}"
        answer = f"the largest score goes to {keys}: {values}, more than the query's own {own}."
    return Question(prompt, labels, right, answer, TOP_SCORE_EXPLANATION)


def symmetry_text(asymmetry: float) -> str:
    """Ω = X Xᵀ is symmetric; lesson 2's Q Kᵀ is not (with the measured gap |Ω − Ωᵀ|)."""
    return (
        "**Ω is symmetric**: ω(i, j) = ω(j, i), because x(i) · x(j) = x(j) · x(i) (here the "
        f"largest |ω(i, j) − ω(j, i)| is {asymmetry:.1e}). So token i cannot score token j "
        "higher than j scores i. In lesson 2 the scores become q(i) · k(j), with queries and "
        "keys made by two different matrices, W_query and W_key, so Q Kᵀ need not be "
        "symmetric: that is why W_query and W_key differ. The weights A are not symmetric "
        "even here: each row is normalised on its own."
    )


class VectorView(NamedTuple):
    """What the vectors picture draws: points (T, k) and context (k,) with k = 2 or 3, raw or
    projected by PCA; title, axis titles, whether lines start at the origin, and a caption."""

    points: torch.Tensor
    context: torch.Tensor
    title: str
    axis_titles: list[str]
    from_origin: bool
    caption: str


def vector_view(inputs: torch.Tensor, walk: QueryWalkthrough, three_d: bool) -> VectorView:
    """The raw vectors when d = 2 (or d = 3 and `three_d`), else a 2-D PCA projection."""
    d, q = inputs.shape[1], walk.query_index
    if d == 2 or (d == 3 and three_d):
        return VectorView(
            inputs,
            walk.context_vec,
            f"The input vectors x and the context vector z({q + 1})",
            [f"dim {j + 1}" for j in range(d)],
            True,
            "Grey lines run from the origin to each input vector; the diamond is z.",
        )
    flat = pca_2d(inputs)
    return VectorView(
        flat.points,
        flat.project(walk.context_vec),
        f"The input vectors x and z({q + 1}), projected to 2-D (PCA)",
        ["principal component 1", "principal component 2"],
        False,
        projection_caption(d, float(flat.explained.sum())),
    )


def hover_note(max_cell_text: int) -> str:
    """Why a large heatmap has no numbers in its cells."""
    return (
        f"With more than {max_cell_text} tokens the cells are too small for numbers: hover over "
        "a cell to read it."
    )


def projection_caption(d: int, kept: float) -> str:
    """What the flat PCA picture of the vectors shows; kept: the share of spread it keeps."""
    why = (
        "For a flat picture" if d == 3 else f"With d = {d} the vectors cannot be drawn directly, so"
    )
    return (
        f"{why} the vectors are projected onto the two directions along which they vary most "
        f"(PCA). The picture keeps {kept:.0%} of their spread; distances in it are only "
        "approximate."
    )


# Text alternatives for the charts (screen readers): what each shows, with its key numbers ----


def _named(tokens: Sequence[str], j: int) -> str:
    return f"{j + 1}: {tokens[j]}"


# Export ---------------------------------------------------------------------------------------


def lesson1_data(tokens: Sequence[str], inputs: torch.Tensor, steps: AttentionSteps) -> LessonData:
    """Lesson 1 (simple self-attention): inputs (T, d), attn_scores (T, T),
    attn_weights (T, T), context_vecs (T, d). `steps` is simple_attention(inputs)."""
    tokens = list(tokens)
    d = inputs.shape[1]
    return LessonData(
        1,
        "Lesson 1: simple self-attention",
        tokens,
        [
            _token_matrix("inputs", inputs, tokens, _dims("dim", d)),
            _token_matrix("attn_scores", steps.attn_scores, tokens, tokens),
            _token_matrix("attn_weights", steps.attn_weights, tokens, tokens),
            _token_matrix("context_vecs", steps.context_vecs, tokens, _dims("dim", d)),
        ],
        settings={"T": len(tokens), "d": d},
        notes=[
            "attn_scores = inputs @ inputs.T; attn_weights = softmax of each row; "
            "context_vecs = attn_weights @ inputs. Row i belongs to tokens[i]; in the "
            "(T, T) matrices column j is the token being looked at."
        ],
    )


def pytorch_script(data: LessonData) -> str:
    """The lesson as a self-contained PyTorch script that prints the matrices the page shows."""
    T, d = data.matrix("inputs").values.shape
    return "\n".join(
        [
            _header(data),
            _literal_block(data, ["inputs"], {"inputs": f"(T, d) = ({T}, {d})"}),
            "",
            "attn_scores = inputs @ inputs.T  # (T, d) x (d, T) -> (T, T): x(i) · x(j)",
            "attn_weights = torch.softmax(attn_scores, dim=-1)  # (T, T): each row sums to 1",
            "context_vecs = attn_weights @ inputs  # (T, T) x (T, d) -> (T, d)",
            _SHOW,
            _shows(["attn_scores", "attn_weights", "context_vecs"]),
            "",
        ]
    )
