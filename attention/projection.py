"""Project vectors to 2-D for a picture, with PCA computed in torch."""

from __future__ import annotations

from typing import NamedTuple

import torch


class Projection(NamedTuple):
    """points: (N, 2) coordinates; explained: (2,) share of variance each axis keeps;
    mean: (d,) the centre; axes: (2, d) the two directions."""

    points: torch.Tensor
    explained: torch.Tensor
    mean: torch.Tensor
    axes: torch.Tensor

    def project(self, vectors: torch.Tensor) -> torch.Tensor:
        """Put more vectors, (M, d) or (d,), on the same two axes: (M, 2) or (2,)."""
        v = torch.as_tensor(vectors, dtype=torch.float32)
        return (v - self.mean) @ self.axes.T  # (M, d) x (d, 2) -> (M, 2)


def pca_2d(vectors: torch.Tensor) -> Projection:
    """Project (N, d) vectors onto their two main directions of variance.

    The centre is the mean of `vectors`. Fewer than two directions (N < 3 or d < 2, or
    all points equal) leave the missing axis at 0 with 0 variance explained.
    """
    x = torch.as_tensor(vectors, dtype=torch.float64)
    _N, d = x.shape
    centred = x - x.mean(dim=0, keepdim=True)  # (N, d)
    _u, s, vh = torch.linalg.svd(centred, full_matrices=False)  # vh: (k, d), k = min(N, d)
    k = min(2, vh.shape[0])
    axes = torch.zeros(2, d, dtype=torch.float64)
    axes[:k] = vh[:k]
    # Fix each axis' sign so the largest loading is positive: same input, same picture.
    for a in range(k):
        if axes[a, axes[a].abs().argmax()] < 0:
            axes[a] = -axes[a]
    points = centred @ axes.T  # (N, d) x (d, 2) -> (N, 2)
    variance = s**2
    total = variance.sum()
    explained = torch.zeros(2, dtype=torch.float64)
    if total > 0:
        explained[:k] = variance[:k] / total
    return Projection(
        points.to(torch.float32),
        explained.to(torch.float32),
        x.mean(dim=0).to(torch.float32),
        axes.to(torch.float32),
    )
