"""How the app writes numbers: one home for every number format on screen and in exports."""

from __future__ import annotations

import math

import torch


def fmt(value: float, decimals: int = 4) -> str:
    """A computed number the way the notebook prints it: fixed decimals."""
    return f"{value:.{decimals}f}"


def fmt_input(value: float) -> str:
    """An input value as the user typed it: up to 4 significant digits, no trailing zeros."""
    return f"{value + 0.0:.4g}"  # + 0.0 turns -0.0 into 0


def fmt_factor(value: float) -> str:
    """An input value inside a product: negatives in brackets, e.g. (-0.5)×0.3."""
    text = fmt_input(value)
    return f"({text})" if value < 0 else text


def elide(parts: list[str], keep: int = 4, limit: int = 8) -> list[str]:
    """At most `limit` parts: the first `keep`, a count of the hidden ones, and the last."""
    if len(parts) <= limit:
        return parts
    return [*parts[:keep], f"… {len(parts) - keep - 1} more …", parts[-1]]


def fmt_any(value: float) -> str:
    """A number as table text: 4 decimals, scientific when tiny or huge, and 'NaN', 'inf',
    '-inf' spelled out."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    if 1e-4 <= abs(value) < 1e6:
        return f"{value:.4f}"
    return f"{value:.4e}"


NUMBER_WORDS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)


def number_word(n: int) -> str:
    """n (0 to 12) as a word, e.g. 3 -> "three"."""
    return NUMBER_WORDS[n]


def fmt_row(values: torch.Tensor) -> str:
    return "[" + ", ".join(fmt_any(v) for v in values.double().tolist()) + "]"
