"""What the softmax lab's tests compare with: the three normalisations, computed here
independently of lessons.softmax_lab."""

from __future__ import annotations

import torch


def expected(scores: list[float], scale: float = 1.0) -> dict[str, torch.Tensor]:
    """The three normalisations of scale × scores (T,) in float32, by method key."""
    row = torch.tensor(scores, dtype=torch.float32) * scale
    exp = torch.exp(row)
    return {
        "sum": row / row.sum(),
        "naive_softmax": exp / exp.sum(),
        "softmax": torch.nn.functional.softmax(row, dim=0),
    }
