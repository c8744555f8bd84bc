"""Bar charts of one query's row (scores or weights) over every key token, and every query's
row with a slider that steps through the queries in the browser (no rerun).

The query's own bar stands out by colour and by a fill pattern; every bar carries its number
(while there are at most MAX_CELL_TEXT tokens) and always on hover. The value axis holds every
bar, negative ones included, with room for the numbers past the bars' ends.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import torch

from charts import style
from charts.alt import with_alt
from charts.heatmaps import KEY_AXIS
from charts.labels import plain_position_labels, position_labels
from charts.ranges import bar_range
from charts.ranges import values as to_list


def _query_marker(T: int, query_index: int) -> dict:
    """Bar colours and patterns: the query's own bar stands out by both. Each bar gets its
    colour by name: given as numbers on a colour scale, plotly.js takes them for colours where
    it derives the text's and the pattern's colours, and warns about each (with a stack trace,
    tens of milliseconds per edit)."""
    return {
        "color": [style.QUERY_COLOR if j == query_index else style.BAR_COLOR for j in range(T)],
        "pattern": {
            "shape": [style.QUERY_PATTERN if j == query_index else "" for j in range(T)],
            "fgcolor": style.PATTERN_COLOR,
        },
    }


def _bar_text(row: torch.Tensor, T: int) -> list[str]:
    """Numbers written past the bars' ends; '' for a value that has no bar (inf, NaN)."""
    d = style.cell_decimals(T)
    return [style.fmt(v, d) if v is not None else "" for v in to_list(row)]


def row_alt(row: torch.Tensor, tokens: Sequence[str], query_index: int, value_name: str) -> str:
    """One query's row in words: which key gets the largest and the smallest value."""
    labels = plain_position_labels(tokens)
    text = f"Bar chart of the {value_name}s of query {labels[query_index]} over {len(tokens)} keys."
    data = row.detach().double()
    finite = data.isfinite()
    if not bool(finite.any()):
        return text + " No value is finite."
    hi = int(data.masked_fill(~finite, float("-inf")).argmax())
    lo = int(data.masked_fill(~finite, float("inf")).argmin())
    text += (
        f" Largest: key {labels[hi]} ({style.fmt(float(data[hi]))});"
        f" smallest: key {labels[lo]} ({style.fmt(float(data[lo]))})."
    )
    if not bool(finite.all()):
        text += f" {int((~finite).sum())} values are not finite (no bar)."
    return text


def query_bar(
    values: torch.Tensor,
    tokens: Sequence[str],
    query_index: int,
    *,
    title: str,
    value_name: str,
    y_title: str,
    y_max: float | None = None,
    height: int = style.QUERY_BAR_PX,
    present: bool = False,
) -> go.Figure:
    """One query's row (T,) as bars over every key token j.

    y_max: the value axis reaches at least y_max (several charts on one scale); it always
    holds every bar. present: projector size.
    """
    labels = position_labels(tokens)
    T = len(tokens)
    bar = {
        "type": "bar",
        "x": labels,
        "y": to_list(values),
        "marker": _query_marker(T, query_index),
        "textposition": "outside",  # inside, a hatched bar would hide its number
        "cliponaxis": False,
        "hovertemplate": "key %{x}<br>"
        + value_name
        + " = "
        + style.hover_number("y")
        + "<extra></extra>",
        "name": value_name,
    } | style.text_font(present)
    if T <= style.MAX_CELL_TEXT:
        bar["text"] = _bar_text(values, T)
    layout = style.layout(
        title=title,
        height=height,
        margin=style.margins(labels),
        present=present,
        xaxis=style.token_axis(KEY_AXIS, present),
        yaxis=style.axis(
            y_title, present, range=list(bar_range([values], y_max, style.BAR_HEADROOM))
        ),
        showlegend=False,
    )
    return style.figure(
        data=[bar], layout=with_alt(layout, row_alt(values, tokens, query_index, value_name))
    )


def scores_bar(
    attn_scores: torch.Tensor, tokens: Sequence[str], query_index: int, *, present: bool = False
) -> go.Figure:
    """Bar chart of one query's scores ω(i, j) = x(i) · x(j) over every key token j. (T,)"""
    label = position_labels(tokens)[query_index]
    return query_bar(
        attn_scores,
        tokens,
        query_index,
        title=f"Attention scores ω({query_index + 1}, j) for the query {label}",
        value_name="score",
        y_title="score ω(i, j) = x(i) · x(j)",
        present=present,
    )


def weights_bar(
    attn_weights: torch.Tensor,
    tokens: Sequence[str],
    query_index: int,
    y_max: float | None = None,
    *,
    present: bool = False,
) -> go.Figure:
    """A small chart of one query's attention weights a(i, j) (T,), on an axis from 0 to y_max
    (default: this row's largest weight; pass one value to give several charts one scale)."""
    label = position_labels(tokens)[query_index]
    return query_bar(
        attn_weights,
        tokens,
        query_index,
        title=f"query {label}",
        value_name="weight",
        y_title="weight a(i, j)",
        y_max=y_max,
        height=style.SMALL_BAR_PX,
        present=present,
    )


def _slider_title(label: str, present: bool) -> str:
    """The title a slider step shows, wrapped as the figure's own title is."""
    return "<br>".join(style.wrap_title(f"Attention weights of the query {label}", present))


def weights_by_query(
    attn_weights: torch.Tensor,
    tokens: Sequence[str],
    query_index: int = 0,
    *,
    present: bool = False,
) -> go.Figure:
    """Every query's row of attention weights (T, T) in one bar chart, with a slider that
    steps through the queries in the browser. One trace per query, all on one axis from 0 past
    the largest weight so rows compare fairly. Starts at query_index."""
    T = attn_weights.shape[0]
    labels = position_labels(tokens)
    traces, steps = [], []
    for i in range(T):
        bar = {
            "type": "bar",
            "x": labels,
            "y": to_list(attn_weights[i]),
            "name": f"query {labels[i]}",
            "visible": i == query_index,
            "marker": _query_marker(T, i),
            "textposition": "outside",
            "cliponaxis": False,
            # the token goes in through the trace name: text in a hovertemplate is a template
            "hovertemplate": "%{fullData.name}<br>key %{x}<br>weight = "
            + style.hover_number("y")
            + "<extra></extra>",
        } | style.text_font(present)
        if T <= style.MAX_CELL_TEXT:
            bar["text"] = _bar_text(attn_weights[i], T)
        traces.append(bar)
        steps.append(
            {
                "method": "update",
                "label": str(i + 1),
                "args": [
                    {"visible": [j == i for j in range(T)]},
                    # bold, as Streamlit's theme shows the first title (labels are escaped)
                    {"title.text": "<b>" + _slider_title(labels[i], present) + "</b>"},
                ],
            }
        )

    margin = style.margins(labels)
    below_axis = margin["b"]  # the slider goes under the x axis' labels and title
    margin["b"] += style.SLIDER_PX
    layout = style.layout(
        title=f"Attention weights of the query {labels[query_index]}",
        height=style.SLIDER_BARS_PX + style.SLIDER_PX,
        margin=margin,
        present=present,
        xaxis=style.token_axis(KEY_AXIS, present),
        yaxis=style.axis(
            "weight a(i, j)",
            present,
            range=list(bar_range([attn_weights], None, style.BAR_HEADROOM)),
        ),
        sliders=[
            {
                "active": query_index,
                "steps": steps,
                "currentvalue": {"prefix": "query "},
                "pad": {"t": below_axis - 15, "b": 10},
                "len": 1.0,
                "x": 0,
            }
        ],
        showlegend=False,
    )
    alt = (
        f"Bar charts of the attention weights of each of {T} queries, one at a time with a "
        "slider. " + row_alt(attn_weights[query_index], tokens, query_index, "weight")
    )
    return style.figure(data=traces, layout=with_alt(layout, alt))
