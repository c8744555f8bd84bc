"""A predict-then-reveal question, with its answer computed from the student's numbers.

The answer and explanation are shown as formatted text: they never contain user text (tokens,
sentences); they name positions instead, e.g. "key k(2)"."""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple


class Question(NamedTuple):
    """prompt; options: each option and its label, in the order shown; right: the right
    options (one or more); answer: the computed answer in words; explanation: why."""

    prompt: str
    options: dict[Hashable, str]
    right: set
    answer: str
    explanation: str
