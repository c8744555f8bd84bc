"""The input vectors as labelled points and a query's context vector z_i, in 2-D or 3-D."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go
import torch

from charts import style
from charts.alt import with_alt
from charts.labels import escape_label, plain_label, position_labels, token_labels
from charts.ranges import values as to_list


def vectors_alt(
    points: torch.Tensor, tokens: Sequence[str], context_point: torch.Tensor, query_index: int
) -> str:
    """The points in words: how many, and where z_i lies."""
    k = points.shape[1]
    where = ", ".join(style.fmt(float(v)) for v in context_point)
    return (
        f"{'3-D' if k == 3 else '2-D'} scatter of {len(tokens)} input vectors, labelled by "
        f"token, and the context vector z({query_index + 1}) of the query "
        f"{query_index + 1}: {plain_label(tokens[query_index])}, at ({where})."
    )


LABEL_PAD = 0.2  # of the x span on each side: room for the labels centred on the points


def _padded(xs: Sequence, context_x, with_origin: bool) -> list[float] | None:
    """An x range holding every point (and the origin) with room for the labels centred on
    the outermost points; None (Plotly's own) when no coordinate is finite."""
    found = [v for v in [*xs, context_x, *([0.0] if with_origin else [])] if _finite(v)]
    if not found:
        return None
    lo, hi = min(found), max(found)
    pad = LABEL_PAD * ((hi - lo) or 1.0)
    return [lo - pad, hi + pad]


def _finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def vectors_figure(
    points: torch.Tensor,
    tokens: Sequence[str],
    context_point: torch.Tensor,
    query_index: int,
    *,
    title: str,
    axis_titles: Sequence[str],
    from_origin: bool,
    present: bool = False,
) -> go.Figure:
    """The input vectors as labelled points and the query's context vector z_i as a diamond.

    points: (T, k) with k = 2 or 3 (raw coordinates or a projection); context_point: (k,).
    from_origin draws each vector as a line from the origin (only meaningful when the
    coordinates are the raw embedding values). present: projector size.
    """
    k = points.shape[1]
    labels = token_labels(tokens)
    hover = position_labels(tokens)
    query_label = escape_label(tokens[query_index])
    coords = [to_list(points[:, a]) for a in range(k)]
    context = to_list(context_point)
    is3d = k == 3
    scatter = "scatter3d" if is3d else "scatter"

    def xyz(values: Sequence) -> dict:
        names = ("x", "y", "z")
        return {names[a]: values[a] for a in range(k)}

    traces = []
    if from_origin:
        # One trace for all the origin-to-vector lines (None breaks the line between vectors):
        # far cheaper for the browser than a trace per token.
        lines = [[v for c in coords[a] for v in (0.0, c, None)] for a in range(k)]
        traces.append(
            {
                "type": scatter,
                **xyz(lines),
                "mode": "lines",
                "line": {"color": style.LINE_COLOR, "width": 2},
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
    traces.append(
        {
            "type": scatter,
            **xyz(coords),
            "mode": "markers+text",
            "text": labels,
            "textposition": "top center",
            "customdata": hover,
            "marker": {"size": 6 if is3d else 11, "color": style.BAR_COLOR, "symbol": "circle"},
            "name": "inputs x(j)",
            "hovertemplate": "input %{customdata}<extra></extra>",
        }
    )
    traces.append(
        {
            "type": scatter,
            **xyz([[c] for c in context]),
            "mode": "markers+text",
            "text": [f"z({query_index + 1})"],
            "textposition": "bottom center",
            "marker": {"size": 8 if is3d else 14, "color": style.QUERY_COLOR, "symbol": "diamond"},
            "name": f"context z for {query_label}",
            "hovertemplate": "context vector z<extra></extra>",
        }
    )
    more: dict = {"legend": {"rows": 2}}
    if is3d:
        more["scene"] = {
            f"{n}axis": style.axis(t, present, scene=True)
            for n, t in zip("xyz", axis_titles, strict=True)
        }
    else:
        more["xaxis"] = style.axis(
            axis_titles[0],
            present,
            zeroline=True,
            range=_padded(coords[0], context[0], from_origin),
        )
        more["yaxis"] = style.axis(axis_titles[1], present, zeroline=True)
        if from_origin:
            more["yaxis"]["scaleanchor"] = "x"
    layout = style.layout(
        title=title,
        height=style.VECTORS_PX,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        present=present,
        **more,
    )
    alt = vectors_alt(points, tokens, context_point, query_index)
    return style.figure(data=traces, layout=with_alt(layout, alt))
