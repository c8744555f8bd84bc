"""Numbers for Plotly and the ranges they are drawn in: no value is ever outside its colour or
axis range. inf and NaN are gaps (None), never part of a range."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

Range = tuple[float, float]


def values(tensor: torch.Tensor) -> list:
    """Plain Python floats for Plotly; inf/NaN become None (Plotly leaves a gap). (n,) -> n."""
    return [v if math.isfinite(v) else None for v in tensor.detach().double().tolist()]


def matrix(tensor: torch.Tensor) -> list[list]:
    """(T, S) -> T lists of S floats or None."""
    return [values(row) for row in tensor]


def finite_range(*tensors: torch.Tensor) -> Range | None:
    """(smallest, largest) finite value over all the tensors; None when there is none."""
    found = [t.detach().double()[t.detach().isfinite()] for t in tensors]
    found = [t for t in found if t.numel()]
    if not found:
        return None
    return min(float(t.min()) for t in found), max(float(t.max()) for t in found)


def _step(lo: float, hi: float) -> float:
    """Two significant digits of the larger magnitude: 0.3189 -> 0.01, 10.0 -> 1."""
    top = max(abs(lo), abs(hi))
    return 10.0 ** (math.floor(math.log10(top)) - 1) if top > 0 else 1.0


def round_out(lo: float, hi: float) -> Range:
    """lo rounded down, hi rounded up, to two significant digits: a range that is short to
    write and contains [lo, hi]. A zero-width range is opened around its value."""
    step = _step(lo, hi)
    digits = max(0, -round(math.log10(step)))
    # a float32 value such as -0.2000000030 stays on the grid line -0.2 (rounding at 6 digits)
    new_lo = round(math.floor(round(lo / step, 6)) * step, digits)
    new_hi = round(math.ceil(round(hi / step, 6)) * step, digits)
    # ... and the range then ends at the exact value (written rounded): never inside the data
    new_lo, new_hi = min(new_lo, lo), max(new_hi, hi)
    if new_hi <= new_lo:
        new_lo, new_hi = new_lo - step, new_hi + step
    return new_lo, new_hi


def range_text(lo: float, hi: float) -> str:
    """'0 to 0.32', '-1.5 to 2.3': the range as written on a colour bar."""
    return f"{lo:.6g} to {hi:.6g}"


def shared_range(*tensors: torch.Tensor, from_zero: bool = False) -> Range:
    """One colour (or axis) range for several tensors, e.g. scores and scaled scores drawn
    on one scale: pass it to each builder as zrange. from_zero starts it at 0 (weights).
    Rounded outward to two significant digits; (0, 1) when no value is finite."""
    found = finite_range(*tensors)
    if found is None:
        return (0.0, 1.0)
    lo, hi = found
    if from_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    return round_out(lo, hi)


def color_range(tensor: torch.Tensor, *, zrange: Sequence[float] | None, mode: str) -> Range:
    """The colour range of a heatmap, always containing every finite value of `tensor`.

    zrange (lo, hi) is the caller's (e.g. shared_range of several tensors), widened if a value
    falls outside it. Without it, mode decides: "max" = 0 to the largest value, "unit" = 0 to 1
    (or further when a value exceeds 1, e.g. dropout's 1/(1-p)), "data" = smallest to largest.
    """
    found = finite_range(tensor)
    if zrange is not None:
        lo, hi = float(zrange[0]), float(zrange[1])
        if found is not None:
            lo, hi = min(lo, found[0]), max(hi, found[1])
        return (lo, hi) if hi > lo else round_out(lo, hi)
    if mode == "unit":
        lo, hi = 0.0, 1.0
        if found is None or (found[0] >= 0 and found[1] <= 1):
            return lo, hi
        return round_out(min(lo, found[0]), max(hi, found[1]))
    if mode == "max":
        return shared_range(tensor, from_zero=True)
    if mode == "data":
        return shared_range(tensor)
    raise ValueError(f"unknown colour range mode {mode!r}")


def bar_range(tensors: Sequence[torch.Tensor], top: float | None, headroom: float) -> Range:
    """A bar chart's value axis: from 0 (or below the lowest bar) to past the tallest bar (or
    `top`, when larger), with `headroom` for the numbers written past the bars' ends."""
    found = finite_range(*tensors)
    lo, hi = found if found is not None else (0.0, 0.0)
    lo, hi = min(lo, 0.0), max(hi, 0.0, top or 0.0)
    if hi == lo == 0.0:
        hi = 1.0
    return lo * headroom, hi * headroom
