"""Heatmaps of (T, S) matrices: attention scores and weights, and the causal mask.

Every axis that shows tokens is a category axis of position labels ("3: drives"), so repeated
tokens keep their own rows, and hover names the tokens without a per-cell customdata array
(at T = 64 that alone tripled a heatmap's drawing time, benchmarks/).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import plotly.graph_objects as go
import torch

from charts import style
from charts.alt import MAX_ALT_ROWS, with_alt
from charts.labels import plain_position_labels, position_labels
from charts.ranges import color_range, range_text
from charts.ranges import matrix as to_lists

RangeMode = Literal["max", "unit", "data"]
# Axis titles: what the rows and columns are. Lesson 1 compares the inputs themselves; from
# lesson 2 on, queries q(i) meet keys k(j).
X_AXES = ("query token i: x(i)", "key token j: x(j)")
QK_AXES = ("query token i: q(i)", "key token j: k(j)")
KEY_AXIS = "key token j"  # bar charts over the keys


def heatmap_height(rows: int) -> int:
    """A heatmap's height at normal size: HEATMAP_ROW_PX per row, within min..max."""
    return max(
        style.HEATMAP_MIN_PX,
        min(style.HEATMAP_MAX_PX, style.HEATMAP_BASE_PX + style.HEATMAP_ROW_PX * rows),
    )


def heatmap_alt(
    tensor: torch.Tensor,
    tokens: Sequence[str],
    key_tokens: Sequence[str],
    value_name: str,
    lo: float,
    hi: float,
) -> str:
    """What a heatmap shows in words: its size, colour range and where its largest values are
    (each query's top key up to MAX_ALT_ROWS queries; else the largest value overall)."""
    T, S = tensor.shape
    queries, keys = plain_position_labels(tokens), plain_position_labels(key_tokens)
    d = style.HOVER_DECIMALS
    text = (
        f"Heatmap of {value_name} for {T} queries (rows) and {S} keys (columns), "
        f"colour range {range_text(lo, hi)}."
    )
    data = tensor.detach().double()
    finite = data.isfinite()
    masked = data.masked_fill(~finite, float("-inf"))
    if T <= MAX_ALT_ROWS:
        parts = []
        for i in range(T):
            if not bool(finite[i].any()):
                parts.append(f"{queries[i]}: no finite value")
                continue
            j = int(masked[i].argmax())
            top = float(data[i, j])
            ties = int((data[i] == top).sum())
            if ties == S > 1:
                parts.append(f"{queries[i]}: all keys {style.fmt(top, d)}")
            elif ties > 1:
                parts.append(f"{queries[i]}: {ties} keys tie at {style.fmt(top, d)}")
            else:
                parts.append(f"{queries[i]} → {keys[j]} ({style.fmt(top, d)})")
        return text + f" Largest {value_name} in each row: " + "; ".join(parts) + "."
    if not bool(finite.any()):
        return text + " No value is finite."
    flat = int(masked.flatten().argmax())
    i, j = divmod(flat, S)
    return (
        text + f" Largest {value_name}: query {queries[i]}, key {keys[j]} "
        f"({style.fmt(float(data[i, j]), d)})."
    )


def attention_heatmap(
    matrix: torch.Tensor,
    tokens: Sequence[str],
    *,
    title: str,
    value_name: str,
    weights: bool = True,
    key_tokens: Sequence[str] | None = None,
    zrange: tuple[float, float] | RangeMode | None = None,
    axes: tuple[str, str] = X_AXES,
    present: bool = False,
) -> go.Figure:
    """Heatmap of a (T, S) matrix: query tokens down the side, key tokens along the bottom.

    The colour range always holds every finite value (inf/NaN are empty cells) and is written
    on the colour bar, e.g. "weight (0 to 0.32)". zrange:
    - (lo, hi): this range (e.g. charts.shared_range(scores, scaled_scores) to draw several
      heatmaps on one scale), widened if a value falls outside it;
    - "max": 0 to the largest value, rounded up (weights: shows the pattern);
    - "unit": 0 to 1, widened past 1 if a value exceeds it (dropout's 1/(1-p));
    - "data": smallest to largest value, rounded outward (scores);
    - None: "max" when weights=True (the pattern shows, the colour bar says the range),
      else "data".
    weights picks the colour scale (Viridis for weights, Cividis for scores). Numbers are
    written in the cells while T and S are at most MAX_CELL_TEXT. present: projector size.
    """
    key_tokens = tokens if key_tokens is None else key_tokens
    T, S = matrix.shape
    queries, keys = position_labels(tokens), position_labels(key_tokens)
    if isinstance(zrange, str) or zrange is None:
        lo, hi = color_range(matrix, zrange=None, mode=zrange or ("max" if weights else "data"))
    else:
        lo, hi = color_range(matrix, zrange=zrange, mode="data")
    heatmap = (
        {
            "type": "heatmap",
            "z": to_lists(matrix),
            "x": keys,
            "y": queries,
            "zmin": lo,
            "zmax": hi,
            "colorscale": style.WEIGHTS_COLORSCALE if weights else style.SCORES_COLORSCALE,
            "hovertemplate": "query %{y}<br>key %{x}<br>"
            + value_name
            + " = "
            + style.hover_number("z")
            + "<extra></extra>",
        }
        | style.cell_gaps(T, S)
        | style.text_font(present)
    )
    if max(T, S) <= style.MAX_CELL_TEXT:
        heatmap["texttemplate"] = style.hover_number("z", style.cell_decimals(max(T, S)))
    alt = heatmap_alt(matrix, tokens, key_tokens, value_name, lo, hi)
    return heatmap_figure(heatmap, title, (queries, keys), axes, (value_name, lo, hi), alt, present)


def heatmap_figure(
    heatmap: dict,
    title: str,
    labels: tuple[Sequence[str], Sequence[str]],
    axes: tuple[str, str],
    scale: tuple[str, float, float],
    alt: str,
    present: bool,
) -> go.Figure:
    """The figure around a (T, S) heatmap trace: rows (queries, labels[0]) down the side from
    the top, columns (keys, labels[1]) along the bottom, the colour bar titled with its name and
    range (scale = (value_name, lo, hi)), and the text alternative."""
    value_name, lo, hi = scale
    layout = style.layout(
        title=title,
        height=heatmap_height(len(labels[0])),
        margin=style.margins(labels[1], labels[0]),
        present=present,
        xaxis=style.token_axis(axes[1], present) | {"side": "bottom"},
        yaxis=style.token_axis(axes[0], present) | {"autorange": "reversed"},
    )
    heatmap["colorbar"] = style.colorbar(f"{value_name}<br>({range_text(lo, hi)})", present)
    return style.figure(data=[heatmap], layout=with_alt(layout, alt))


def mask_alt(mask: torch.Tensor) -> str:
    """The mask in words: causal (each query sees itself and the keys before it) or counts."""
    T = mask.shape[0]
    hidden = int(mask.sum())
    text = f"Mask of {T} queries by {T} keys: {T * T - hidden} pairs seen, {hidden} hidden."
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)
    if torch.equal(mask.bool(), causal):
        text += " Each query i sees the keys 1 to i (itself and the tokens before it)."
    return text


def mask_heatmap(
    mask: torch.Tensor, tokens: Sequence[str], *, title: str, present: bool = False
) -> go.Figure:
    """Which key each query may see: a (T, T) bool mask, True = blocked, as a two-colour map
    with the words "sees" / "hidden" in the cells (and on hover), so colour is not the only cue."""
    T = mask.shape[0]
    queries = position_labels(tokens)
    words = [["hidden" if mask[i, j] else "sees" for j in range(T)] for i in range(T)]
    heatmap = (
        {
            "type": "heatmap",
            "z": (~mask.bool()).to(torch.int64).tolist(),
            "x": queries,
            "y": queries,
            "text": words,
            "colorscale": style.MASK_COLORSCALE,
            "zmin": 0,
            "zmax": 1,
            "showscale": False,
            "hovertemplate": "query %{y}<br>key %{x}<br>%{text}<extra></extra>",
        }
        | style.cell_gaps(T, T)
        | style.text_font(present)
    )
    if T <= style.MAX_CELL_TEXT:
        heatmap["texttemplate"] = "%{text}"
    layout = style.layout(
        title=title,
        height=heatmap_height(T),
        margin=style.margins(queries, queries),
        present=present,
        xaxis=style.token_axis(QK_AXES[1], present),
        yaxis=style.token_axis(QK_AXES[0], present) | {"autorange": "reversed"},
    )
    return style.figure(data=[heatmap], layout=with_alt(layout, mask_alt(mask)))


CLICK_TRACE = "cells"  # the name of the invisible point layer that catches a cell's click
HIGHLIGHT_COLOR = "#D55E00"  # the chosen cell's row, column and cell outline


def with_cell_click(
    figure: go.Figure, cell: tuple[int, int] | None = None, *, present: bool = False
) -> go.Figure:
    """The heatmap `figure` (its first trace: a (T, S) heatmap) with one invisible point on
    every cell's centre, so a click or tap on a cell selects that point (point_index
    i * S + j for query i, key j), and, if `cell` = (i, j) is given, that cell's row and column
    outlined. The points repeat the heatmap's hover text, so hovering reads the same."""
    heatmap = figure.data[0]
    queries, keys = list(heatmap.y), list(heatmap.x)
    z = heatmap.z
    T, S = len(queries), len(keys)
    height = figure.layout.height or heatmap_height(T)
    size = max(6, min(60, int(0.8 * (height - 120) / max(T, 1))))
    template = (heatmap.hovertemplate or "").replace("%{z", "%{customdata")
    figure.add_trace(
        go.Scatter(
            name=CLICK_TRACE,
            x=[keys[j] for _ in range(T) for j in range(S)],
            y=[queries[i] for i in range(T) for _ in range(S)],
            customdata=[z[i][j] for i in range(T) for j in range(S)],
            mode="markers",
            marker={"size": size, "opacity": 0, "symbol": "square"},
            selected={"marker": {"opacity": 0}},
            unselected={"marker": {"opacity": 0}},
            hovertemplate=template or None,
            showlegend=False,
        )
    )
    if cell is not None:
        i, j = cell
        line = {"color": HIGHLIGHT_COLOR, "width": 4 if present else 2}
        figure.update_layout(
            shapes=[
                {"type": "rect", "x0": -0.5, "x1": S - 0.5, "y0": i - 0.5, "y1": i + 0.5}
                | {"line": line | {"dash": "dot"}, "xref": "x", "yref": "y"},
                {"type": "rect", "x0": j - 0.5, "x1": j + 0.5, "y0": -0.5, "y1": T - 0.5}
                | {"line": line | {"dash": "dot"}, "xref": "x", "yref": "y"},
                {"type": "rect", "x0": j - 0.5, "x1": j + 0.5, "y0": i - 0.5, "y1": i + 0.5}
                | {"line": line | {"width": line["width"] + 1}, "xref": "x", "yref": "y"},
            ]
        )
    return figure
