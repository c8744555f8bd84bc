"""Two settings side by side: two heatmaps on one colour range, and their difference on a
diverging scale centred at 0. Data step (comparison) and figure step (compare_heatmaps) apart.

Three separate figures, not one with three panels: each keeps the lessons' heatmap (its own
colour bar, cell numbers, hover and text alternative), the page can put them in columns that
stack on a phone (three panels of 5 to 64 tokens side by side do not fit 390 px), and the two
settings' maps are drawn by the same attention_heatmap the lessons use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import plotly.graph_objects as go
import torch

from charts import style
from charts.heatmaps import QK_AXES, attention_heatmap, heatmap_figure
from charts.labels import plain_position_labels, position_labels
from charts.ranges import Range, finite_range, range_text, round_out, shared_range
from charts.ranges import matrix as to_lists

# Diverging and colour-blind safe (ColorBrewer's PuOr): orange below 0, white at 0, purple above.
DIFFERENCE_COLORSCALE = style.named_colorscale("PuOr")
DIFFERENCE_COLORS = "orange below 0, purple above"


class Comparison(NamedTuple):
    """a, b: (T, S) the two settings' matrices; difference: (T, S) = a - b (NaN where both are
    -inf, e.g. masked scores); zrange: one colour range holding every finite value of a and b;
    difference_range: (-m, m), symmetric about 0, holding every finite difference."""

    a: torch.Tensor
    b: torch.Tensor
    difference: torch.Tensor
    zrange: Range
    difference_range: Range


def symmetric_range(tensor: torch.Tensor) -> Range:
    """(-m, m) with m the largest |finite value|, rounded up to two significant digits;
    (-1, 1) when every value is 0 or none is finite."""
    found = finite_range(tensor)
    top = 0.0 if found is None else max(abs(found[0]), abs(found[1]))
    if top == 0.0:
        return (-1.0, 1.0)
    lo, hi = round_out(-top, top)
    m = max(-lo, hi)
    return (-m, m)


def comparison(a: torch.Tensor, b: torch.Tensor, *, from_zero: bool = False) -> Comparison:
    """The data of a comparison. a, b: (T, S), same shape; from_zero: the shared range starts
    at 0 (weights), as charts.shared_range."""
    if a.shape != b.shape:
        raise ValueError(f"cannot compare shapes {tuple(a.shape)} and {tuple(b.shape)}")
    difference = a.detach().double() - b.detach().double()  # (T, S)
    return Comparison(
        a,
        b,
        difference,
        shared_range(a, b, from_zero=from_zero),
        symmetric_range(difference),
    )


def difference_alt(
    difference: torch.Tensor, tokens: Sequence[str], name: str, lo: float, hi: float
) -> str:
    """The difference map in words: size, range, where the largest |difference| is."""
    T, S = difference.shape
    labels = plain_position_labels(tokens)
    text = (
        f"Heatmap of the {name} for {T} queries (rows) and {S} keys (columns), "
        f"colour range {range_text(lo, hi)}, centred at 0 ({DIFFERENCE_COLORS})."
    )
    data = difference.detach().double()
    finite = data.isfinite()
    if not bool(finite.any()):
        return text + " No value is finite."
    size = data.abs().masked_fill(~finite, -1.0)
    if float(size.max()) == 0.0:
        return text + " Every difference is 0."
    i, j = divmod(int(size.flatten().argmax()), S)
    value = float(data[i, j])
    return (
        text + f" Largest in size: query {labels[i]}, key {labels[j]} "
        f"({value:+.{style.HOVER_DECIMALS}f})."
    )


def difference_heatmap(
    difference: torch.Tensor,
    tokens: Sequence[str],
    *,
    title: str,
    value_name: str,
    zrange: Range | None = None,
    axes: tuple[str, str] = QK_AXES,
    present: bool = False,
) -> go.Figure:
    """A (T, S) difference on a diverging scale centred at 0 (zmid = 0), range (-m, m) holding
    every finite value (zrange, widened symmetrically if needed; default symmetric_range).
    Signed numbers in the cells while small and on hover; NaN/inf cells are left empty."""
    T, S = difference.shape
    labels = position_labels(tokens)
    m = max(abs(v) for v in (zrange or symmetric_range(difference)))
    found = finite_range(difference)
    if found is not None and max(abs(found[0]), abs(found[1])) > m:
        m = -symmetric_range(difference)[0]
    if not math.isfinite(m) or m <= 0:
        m = 1.0
    lo, hi = -m, m
    heatmap = (
        {
            "type": "heatmap",
            "z": to_lists(difference),
            "x": labels,
            "y": labels,
            "zmin": lo,
            "zmax": hi,
            "zmid": 0.0,
            "colorscale": DIFFERENCE_COLORSCALE,
            "hovertemplate": "query %{y}<br>key %{x}<br>"
            + value_name
            + " = %{z:+."
            + str(style.HOVER_DECIMALS)
            + "f}<extra></extra>",
        }
        | style.cell_gaps(T, S)
        | style.text_font(present)
    )
    if max(T, S) <= style.MAX_CELL_TEXT:
        heatmap["texttemplate"] = "%{z:+." + str(style.cell_decimals(max(T, S))) + "f}"
    alt = difference_alt(difference, tokens, value_name, lo, hi)
    return heatmap_figure(
        heatmap, title, (labels, labels), axes, (value_name, lo, hi), alt, present
    )


def compare_heatmaps(
    a: torch.Tensor,
    b: torch.Tensor,
    tokens: Sequence[str],
    titles: Sequence[str],
    *,
    value_name: str = "weight",
    weights: bool = True,
    axes: tuple[str, str] = QK_AXES,
    present: bool = False,
) -> tuple[go.Figure, go.Figure, go.Figure]:
    """Three figures: a and b (T, T) on one colour range, and a - b centred at 0.

    titles: (title of a, title of b) or (..., title of the difference); the difference's title
    defaults to "Difference: <a> − <b>". weights: Viridis from 0 (weights) or Cividis over the
    data (scores), as attention_heatmap. Token text is escaped by the builders."""
    if len(titles) not in (2, 3):
        raise ValueError("titles: two (a, b) or three (a, b, difference)")
    data = comparison(a, b, from_zero=weights)
    diff_title = titles[2] if len(titles) == 3 else f"Difference: {titles[0]} − {titles[1]}"
    first, second = (
        attention_heatmap(
            m,
            tokens,
            title=t,
            value_name=value_name,
            weights=weights,
            zrange=data.zrange,
            axes=axes,
            present=present,
        )
        for m, t in ((data.a, titles[0]), (data.b, titles[1]))
    )
    third = difference_heatmap(
        data.difference,
        tokens,
        title=diff_title,
        value_name=f"difference of {value_name}s",
        zrange=data.difference_range,
        axes=axes,
        present=present,
    )
    return first, second, third
