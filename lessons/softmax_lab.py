"""The softmax lab: one row of scores ω, three ways to turn it into weights, and where two of
them break in 32-bit floats. Pure: parsing, presets, the float32 computations, the verdicts and
the quiz answers; the page only draws them.

Notation: ω(j) are the scores the student types (one query's row), m the factor every score
is multiplied by (m = 1/τ for a softmax temperature τ), T the number of scores.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import torch

from attention import normalize
from lessons.numbers import fmt_any, fmt_input
from lessons.question import Question
from lessons.validate import InputError, check_value

# The seed notebook's softmax example: softmax gives 0.2105, 0.1469, 0.2676, 0.0822, 0.2928.
GOLDEN_SCORES = [0.12, -0.24, 0.36, -0.82, 0.45]
MIN_SCORES, MAX_SCORES = 2, 16
SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
PRESETS = {
    "golden": ("Golden example", GOLDEN_SCORES),
    "negative": ("Negative sum", [0.5, -1.0, 0.25, -0.25]),
    "all_negative": ("All negative", [-0.5, -2.0, -1.0, -0.25]),
    "zero_sum": ("Scores add up to 0", [2.0, -1.0, 0.0, 3.0, -4.0]),
    "large": ("Large scores (about 100)", [100.0, 85.0, 103.0, 60.0, 101.0]),
}
METHODS = {
    "sum": "sum normalisation",
    "naive_softmax": "naive softmax",
    "softmax": "softmax (stable)",
}
SHORT = {"sum": "sum", "naive_softmax": "naive", "softmax": "stable"}  # narrow table headers
EXP_LIMIT = math.log(torch.finfo(torch.float32).max)  # about 88.72: exp overflows above it

Kind = Literal["success", "info", "warning"]


class Verdict(NamedTuple):
    """What the page says about one method on this row: `case` names the situation (tests
    read it), `kind` how it is shown, `text` the sentence."""

    case: str
    kind: Kind
    text: str


class LabRow(NamedTuple):
    """One row, every intermediate in float32. All tensors (T,).

    omega: the typed scores ω; scale: m; row: m·ω, the row every method normalises;
    weights: method -> its weights; exp_naive: exp(m·ω) (may hold inf or 0);
    shifted: m·ω − max(m·ω) (every entry <= 0); exp_stable: exp(shifted), in (0, 1];
    labels: ω1..ωT.
    """

    omega: torch.Tensor
    scale: float
    row: torch.Tensor
    weights: dict[str, torch.Tensor]
    exp_naive: torch.Tensor
    shifted: torch.Tensor
    exp_stable: torch.Tensor
    labels: list[str]


# Input -----------------------------------------------------------------------------------------


def parse_scores(text: str) -> list[float]:
    """MIN_SCORES..MAX_SCORES checked numbers from text: separated by commas (or by
    semicolons, then a comma may be the decimal mark, "0,5; 1,5"), or by spaces alone."""
    text = text.strip()
    if not text:
        raise InputError(
            f"The scores are empty. Type {MIN_SCORES} to {MAX_SCORES} numbers separated by "
            "commas, for example 0.12, -0.24, 0.36."
        )
    if ";" in text:
        parts = text.split(";")
    elif "," in text:
        parts = text.split(",")
    else:
        parts = text.split()
    if len(parts) > MAX_SCORES:
        raise InputError(
            f"That is {len(parts)} scores; the lab takes at most {MAX_SCORES}. "
            "Remove some and press Enter again."
        )
    scores = [check_value(part, f"Score {j + 1}") for j, part in enumerate(parts)]
    if len(scores) < MIN_SCORES:
        raise InputError(
            f"That is one score; the lab needs {MIN_SCORES} to {MAX_SCORES}, separated by commas."
        )
    return scores


def scores_text(scores: list[float]) -> str:
    """The scores as the text box shows them: "0.12, -0.24, 0.36"."""
    return ", ".join(f"{v:g}" for v in scores)


# Compute ---------------------------------------------------------------------------------------


def compute(scores: list[float], scale: float = 1.0) -> LabRow:
    """The three normalisations of m·ω in float32, with the columns the tables show.

    scores: T numbers ω; scale: m > 0.
    """
    omega = torch.tensor(scores, dtype=torch.float32)  # (T,)
    row = omega * scale  # (T,) float32, the row every method normalises
    shifted = row - row.max()  # (T,) every entry <= 0, the largest exactly 0
    return LabRow(
        omega=omega,
        scale=float(scale),
        row=row,
        weights={method: normalize(row, method) for method in METHODS},  # each (T,)
        exp_naive=torch.exp(row),  # (T,) may overflow to inf or underflow to 0
        shifted=shifted,
        exp_stable=torch.exp(shifted),  # (T,) in (0, 1], the largest exactly 1
        labels=[f"ω{j + 1}" for j in range(len(scores))],
    )


def column(values: torch.Tensor, total: bool = False) -> list[str]:
    """A table column as text (fmt_any), with the column's sum as a last row if `total`."""
    cells = [fmt_any(v) for v in values.double().tolist()]
    return [*cells, fmt_any(float(values.sum()))] if total else cells


def weights_table(lab: LabRow) -> dict[str, list[str]]:
    """The side-by-side table: entry, m·ω, then each method's weights; a last row of totals."""
    return {"entry": [*lab.labels, "total"], "m·ω": column(lab.row, total=True)} | {
        SHORT[m]: column(w, total=True) for m, w in lab.weights.items()
    }


def _entries_table(lab: LabRow, columns: dict[str, torch.Tensor]) -> dict[str, list[str]]:
    """A table with one row per entry: its label, then each (T,) column as text."""
    return {"entry": lab.labels} | {name: column(values) for name, values in columns.items()}


def naive_table(lab: LabRow) -> dict[str, list[str]]:
    """exp(m·ω) straight away, and the naive softmax."""
    return _entries_table(
        lab,
        {
            "m·ω": lab.row,
            "exp(m·ω)": lab.exp_naive,
            "naive softmax": lab.weights["naive_softmax"],
        },
    )


def stable_table(lab: LabRow) -> dict[str, list[str]]:
    """The shift by the largest score, its exp, and the stable softmax."""
    return _entries_table(
        lab,
        {
            "m·ω − max": lab.shifted,
            "exp(m·ω − max)": lab.exp_stable,
            "softmax (stable)": lab.weights["softmax"],
        },
    )


def stable_steps(lab: LabRow) -> str:
    """The stable softmax as five lines of arithmetic (a code block)."""

    def row(values: torch.Tensor) -> str:
        return "[" + ", ".join(column(values)) + "]"

    return (
        f"max            = {fmt_any(float(lab.row.max()))}\n"
        f"m·ω − max      = {row(lab.shifted)}\n"
        f"exp(m·ω − max) = {row(lab.exp_stable)}\n"
        f"sum            = {fmt_any(float(lab.exp_stable.sum()))}\n"
        f"softmax        = {row(lab.weights['softmax'])}"
    )


def nonfinite_methods(lab: LabRow) -> list[str]:
    """The names of the methods that gave inf or NaN on this row."""
    return [METHODS[m] for m, w in lab.weights.items() if not bool(w.isfinite().all())]


# Verdicts --------------------------------------------------------------------------------------


def _names(labels: list[str], indices: list[int]) -> str:
    """ω1 / ω1 and ω3 / ω1, ω2 and ω5."""
    names = [labels[j] for j in indices]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _where(values: torch.Tensor, target: float) -> list[int]:
    return [j for j, v in enumerate(values.tolist()) if v == target]


def _count(n: int, noun: str, T: int) -> str:
    return f"{n} of the {T} {noun}s {'is' if n == 1 else 'are'}"


def sum_verdict(lab: LabRow) -> Verdict:
    """What sum normalisation did with this row, and why.

    Cases: "zero_sum" (division by 0), "all_negative" (weights in 0..1 that add up to 1, but
    in reversed order), "negative_sum" (some scores negative, the sum too: every sign and the
    order flip), "negative_scores" (some scores negative, the sum positive: negative weights),
    "ok" (every score >= 0)."""
    row, weights, labels = lab.row, lab.weights["sum"], lab.labels
    T = row.shape[0]
    total = float(row.sum())
    negative = int((row < 0).sum())
    above_one = int((weights > 1).sum())
    lowest = _names(labels, _where(row, float(row.min())))
    highest = _names(labels, _where(row, float(row.max())))
    if total == 0.0:
        return Verdict(
            "zero_sum",
            "warning",
            "The scores m·ω add up to exactly 0 in float32, so sum normalisation divides by "
            "zero: every score above 0 becomes inf, every score below 0 becomes -inf, and a "
            "score of 0 becomes 0 / 0 = NaN.",
        )
    if negative == T:
        return Verdict(
            "all_negative",
            "warning",
            f"Every score is negative. Sum normalisation still gives weights between 0 and 1 "
            f"that add up to 1, so at first sight all is well, but the order is reversed: "
            f"each weight is a negative score divided by a negative sum ({fmt_any(total)}), "
            f"so the lowest score ({lowest}) gets the largest weight and the highest score "
            f"({highest}) the smallest. Attention should give the best-matching key the most "
            "weight; here it gives it the least. Softmax keeps the order.",
        )
    if negative and total < 0:
        negative_weights = int((weights < 0).sum())
        problems = [_count(negative_weights, "weight", T) + " negative"]
        if above_one:
            problems.append(f"{above_one} {'is' if above_one == 1 else 'are'} above 1")
        return Verdict(
            "negative_sum",
            "warning",
            f"{_count(negative, 'score', T)} negative and the scores add up to a negative "
            f"number ({fmt_any(total)}), so dividing by the sum flips every sign and reverses "
            f"the order: the lowest score ({lowest}) gets the largest weight and the highest "
            f"({highest}) the smallest. {' and '.join(problems)}, although together they still "
            "add up to 1.",
        )
    if negative:
        problems = [_count(negative, "weight", T) + " negative"]
        if above_one:
            problems.append(f"{above_one} {'is' if above_one == 1 else 'are'} above 1")
        return Verdict(
            "negative_scores",
            "warning",
            f"{_count(negative, 'score', T)} negative. The sum is positive "
            f"({fmt_any(total)}), so each weight keeps its score's sign: "
            f"{' and '.join(problems)}, although together they still add up to 1. A negative "
            "weight subtracts its vector from the context vector instead of mixing it in.",
        )
    return Verdict(
        "ok",
        "success",
        "Every score is positive or 0 here, so sum normalisation gives weights in 0..1 that "
        "add up to 1, in the order of the scores. Try the presets *Negative sum* and *All "
        "negative*, or type a negative score.",
    )


def naive_verdict(lab: LabRow) -> Verdict:
    """What the naive softmax did with this row: "overflow", "underflow", "nonfinite" or "ok"."""
    T = lab.row.shape[0]
    overflowed = int(lab.exp_naive.isinf().sum())
    if overflowed:
        return Verdict(
            "overflow",
            "warning",
            f"The naive softmax overflowed: {_count(overflowed, 'value', T)} exp(m·ω) = inf, "
            "so their sum is inf. Each weight is exp(m·ω) / inf: 0 where exp(m·ω) stayed "
            "finite, NaN where it is inf itself.",
        )
    if float(lab.exp_naive.sum()) == 0.0:
        return Verdict(
            "underflow",
            "warning",
            "The naive softmax underflowed: every exp(m·ω) is 0 in float32, so each weight is "
            "0 / 0 = NaN.",
        )
    if not bool(lab.weights["naive_softmax"].isfinite().all()):
        return Verdict("nonfinite", "warning", "The naive softmax gave inf or NaN here.")
    return Verdict(
        "ok",
        "info",
        f"No overflow at these scores: the largest exp(m·ω) is "
        f"{fmt_any(float(lab.exp_naive.max()))}. Push a score above {EXP_LIMIT:.2f} with a "
        "larger m, or press *Large scores (about 100)*.",
    )


def scale_sentence(scale: float) -> str:
    """What m does, with the temperature τ = 1/m it stands for."""
    return (
        f"The weights are computed from **m·ω**, every score times m (here m = "
        f"{fmt_input(scale)}). Multiplying by m is the same as dividing by a softmax "
        f"*temperature* τ = 1/m (here τ = {fmt_input(1 / scale)}): m above 1 sharpens the "
        "softmax weights towards the largest score, m below 1 flattens them towards equal "
        "weights. Sum normalisation does not notice m at all: it cancels in the division."
    )


STEPS = [
    "Your row of scores ω",
    "Three normalisations side by side",
    "Where sum normalisation breaks: negative scores",
    "Where the naive softmax breaks: large scores",
    "Predict, then reveal",
]


# Predict, then reveal --------------------------------------------------------------------------


CHANGES = {"up": "it goes up", "down": "it goes down", "same": "it stays the same"}  # "down"
# is a wrong answer only: the largest weight never shrinks when the scores are doubled.


def doubling_questions(lab: LabRow) -> tuple[Question, Question]:
    """Two questions about doubling every score m·ω: which entry gets the most weight (stable
    softmax), and what happens to the largest weight. Answers computed from this row."""
    row, labels = lab.row, lab.labels
    T = row.shape[0]
    stable = lab.weights["softmax"]
    doubled = normalize(2 * row, "softmax")  # (T,) the stable softmax of the doubled row
    top = float(doubled.max())
    winners = _where(doubled, top)
    names = _names(labels, winners)
    first = Question(
        "If we double every score m·ω, which entry gets the most weight (stable softmax)?",
        dict(enumerate(labels)),
        set(winners),
        f"after doubling, {names} {'tie for' if len(winners) > 1 else 'gets'} the most weight "
        f"({fmt_any(top)}).",
        "Doubling keeps the order of the scores, and softmax keeps the order too (a larger "
        "score always gets a larger exp), so the largest score keeps the largest weight. "
        f"Only its size changes: {fmt_any(float(stable[winners[0]]))} before doubling, "
        f"{fmt_any(top)} after.",
    )
    before = float(stable.max())
    # Doubling doubles every gap below the top score, so the largest weight cannot shrink
    # (in exact arithmetic); a float32 rounding difference counts as "the same".
    change = "up" if top - before > 1e-6 else "same"
    if change == "up":
        why = (
            "Each weight is the largest weight times exp(−gap), where the gap is how far its "
            "score lies below the largest score. Doubling doubles every gap, so the other "
            "weights shrink and the largest one, which takes what they give up, grows."
        )
    elif bool((row == row[0]).all()):
        why = f"All the scores are equal, so every weight is 1/{T} whatever you multiply them by."
    else:
        why = (
            "The other scores already lie so far below the top that their weights are about 0 "
            "in float32: the top score already holds all the weight it can, so doubling "
            "cannot change it."
        )
    second = Question(
        "If we double every score m·ω, what happens to the largest weight?",
        CHANGES,
        {change},
        f"{CHANGES[change]}: {fmt_any(before)} before doubling, {fmt_any(top)} after.",
        why,
    )
    return first, second


# Text alternatives for the charts (for screen readers; plain text) -----------------------------


def bars_alt(lab: LabRow) -> str:
    """What the side-by-side bar chart shows, in words, with its key numbers."""
    parts = []
    for method, weights in lab.weights.items():
        if not bool(weights.isfinite().all()):
            parts.append(f"{METHODS[method]}: inf or NaN, no bars")
            continue
        top = int(weights.argmax())
        parts.append(
            f"{METHODS[method]}: from {fmt_any(float(weights.min()))} to "
            f"{fmt_any(float(weights.max()))}, largest for {lab.labels[top]}"
        )
    return (
        f"Bar chart of the weights of {len(lab.labels)} entries under three methods. "
        + "; ".join(parts)
        + "."
    )
