"""Plotly figures for the attention lessons: tensors and token labels in, go.Figure out.

No Streamlit here. Token text is escaped (charts.labels) before Plotly sees it. Every axis
that shows tokens is a category axis of position labels ("3: drives"), so repeated tokens keep
their own rows, and hover names the tokens without a per-cell customdata array.

Speed in the browser: Streamlit redraws a chart from scratch whenever its figure changes, so
each chart here is built to draw in one layout pass (measured in benchmarks/):
- margins are set wide enough for the tick labels (_margins); Plotly's automargin stays on as a
  safety net but has nothing to add, and a margin it has to grow costs a second pass;
- hover text comes from the category axes, not from T x T customdata (at T = 64 that alone
  tripled a heatmap's drawing time);
- Plotly thins a category axis' tick labels by itself when there are too many to read.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
import torch

from charts.labels import escape_label, position_labels, token_labels

# Colour-blind-safe sequential scales; numbers are always in hover text and, while the matrix
# is small, in the cells too.
WEIGHTS_COLORSCALE = "Viridis"
SCORES_COLORSCALE = "Cividis"
MAX_CELL_TEXT = 16  # numbers are written in heatmap cells up to this many tokens
# Three normalisations: a colour and a fill pattern each, so colour is never the only cue.
METHOD_STYLE: dict[str, tuple[str, str, str]] = {
    "sum": ("sum normalisation", "#E69F00", "/"),
    "naive_softmax": ("naive softmax", "#56B4E9", "."),
    "softmax": ("softmax (stable)", "#0072B2", ""),
}
BAR_COLOR = "#0072B2"
QUERY_COLOR = "#D55E00"
QUERY_PATTERN = "x"  # the query's own bar: another colour and a pattern
# Speed: every figure is built in one go.Figure(data=[trace dicts], layout={...}) call. Plotly
# validates the data once that way; a go.Heatmap/go.Bar object would be validated and deep-copied
# again inside go.Figure, and update_layout/add_trace cost several ms each (benchmarks/).


def _values(tensor: torch.Tensor) -> list:
    """Plain Python floats for Plotly; inf/NaN become None (Plotly leaves a gap)."""
    return [None if not math.isfinite(v) else v for v in tensor.detach().double().tolist()]


def _matrix(tensor: torch.Tensor) -> list[list]:
    return [_values(row) for row in tensor]


def _token_axis(title: str) -> dict:
    """A category axis over position labels (their order is the data's order)."""
    return {"title": {"text": title}, "type": "category", "automargin": True}


CHAR_PX = 7  # about the width of one character of a 12 px tick label
AXIS_TITLE_PX = 45  # an axis title and the gap to its tick labels


def _label_px(labels: Sequence[str]) -> int:
    return CHAR_PX * max((len(html.unescape(label)) for label in labels), default=0)


def _margins(
    x_labels: Sequence[str] | None = None, y_labels: Sequence[str] | None = None, top: int = 60
) -> dict:
    """Margins that fit the tick labels: room for the longest y label on the left, and below
    for x labels (turned when, all side by side, they would not fit in about 300 px)."""
    left = AXIS_TITLE_PX + (_label_px(y_labels) if y_labels else 35)
    bottom = AXIS_TITLE_PX + 20
    if x_labels and sum(len(html.unescape(x)) + 2 for x in x_labels) * CHAR_PX > 300:
        bottom = AXIS_TITLE_PX + max(20, _label_px(x_labels) * 3 // 4)
    return {"l": left, "r": 10, "t": top, "b": bottom}


def attention_heatmap(
    matrix: torch.Tensor,
    tokens: Sequence[str],
    *,
    title: str,
    value_name: str,
    weights: bool = True,
    key_tokens: Sequence[str] | None = None,
) -> go.Figure:
    """Heatmap of a (T, S) matrix: query tokens down the side, key tokens across the top.

    weights=True fixes the colour range to 0..1 (attention weights); otherwise the range follows
    the data (scores). Numbers are written in the cells while T and S are at most 16.
    """
    key_tokens = tokens if key_tokens is None else key_tokens
    T, S = matrix.shape
    queries, keys = position_labels(tokens), position_labels(key_tokens)
    heatmap = {
        "type": "heatmap",
        "z": _matrix(matrix),
        "x": keys,
        "y": queries,
        "colorscale": WEIGHTS_COLORSCALE if weights else SCORES_COLORSCALE,
        "colorbar": {"title": {"text": value_name}},
        "hovertemplate": "query %{y}<br>key %{x}<br>" + value_name + " = %{z:.4f}<extra></extra>",
        "xgap": 1,
        "ygap": 1,
    }
    if weights:
        heatmap |= {"zmin": 0.0, "zmax": 1.0}
    if max(T, S) <= MAX_CELL_TEXT:
        decimals = 4 if max(T, S) <= 6 else 2
        heatmap["texttemplate"] = "%{z:." + str(decimals) + "f}"
    layout = {
        "title": {"text": title},
        "xaxis": _token_axis("key token (x_j)") | {"side": "bottom"},
        "yaxis": _token_axis("query token (x_i)") | {"autorange": "reversed"},
        "margin": _margins(keys, queries),
        "height": max(320, min(720, 140 + 34 * T)),
    }
    return go.Figure(data=[heatmap], layout=layout)


def _query_marker(T: int, query_index: int) -> dict:
    """Bar colours and patterns: the query's own bar stands out by both. The colours go in as
    0/1 on a two-colour scale: Plotly validates numbers far faster than colour strings."""
    return {
        "color": [1 if j == query_index else 0 for j in range(T)],
        "colorscale": [[0.0, BAR_COLOR], [1.0, QUERY_COLOR]],
        "cmin": 0,
        "cmax": 1,
        "pattern": {"shape": [QUERY_PATTERN if j == query_index else "" for j in range(T)]},
    }


def query_bar(
    values: torch.Tensor,
    tokens: Sequence[str],
    query_index: int,
    *,
    title: str,
    value_name: str,
    y_title: str,
    y_max: float | None = None,
    height: int = 360,
) -> go.Figure:
    """One query's row (scores or weights) as bars over every key token j.

    The query's own bar is drawn in another colour; every bar also carries its number.
    y_max fixes the value axis to 0..y_max (weights: the same axis on every query's chart).
    """
    labels = position_labels(tokens)
    T = len(tokens)
    decimals = 4 if T <= 6 else 2
    bar = {
        "type": "bar",
        "x": labels,
        "y": _values(values),
        "marker": _query_marker(T, query_index),
        "textposition": "outside",  # inside, a hatched bar would hide its number
        "cliponaxis": False,
        "hovertemplate": "key %{x}<br>" + value_name + " = %{y:.4f}<extra></extra>",
        "name": value_name,
    }
    if T <= MAX_CELL_TEXT:
        bar["text"] = [f"{v:.{decimals}f}" for v in values.tolist()]
    layout = {
        "title": {"text": title},
        "xaxis": _token_axis("key token (x_j)"),
        "yaxis": {"title": {"text": y_title}}
        | ({"range": [0, y_max * 1.15]} if y_max is not None else {}),
        "margin": _margins(labels),
        "height": height,
        "showlegend": False,
    }
    return go.Figure(data=[bar], layout=layout)


def scores_bar(attn_scores: torch.Tensor, tokens: Sequence[str], query_index: int) -> go.Figure:
    """Bar chart of one query's scores w_ij = x_i . x_j over every key token j."""
    label = position_labels(tokens)[query_index]
    return query_bar(
        attn_scores,
        tokens,
        query_index,
        title=f"Attention scores ω({query_index + 1}, j) for the query {label}",
        value_name="score",
        y_title="score x_i · x_j",
    )


def weights_bar(
    attn_weights: torch.Tensor,
    tokens: Sequence[str],
    query_index: int,
    y_max: float | None = None,
) -> go.Figure:
    """A small chart of one query's attention weights a_ij, on an axis from 0 to y_max
    (default: this row's largest weight; pass one value to give several charts one scale)."""
    label = position_labels(tokens)[query_index]
    finite = attn_weights[attn_weights.isfinite()]
    top = y_max if y_max is not None else float(finite.max()) if finite.numel() else 1.0
    return query_bar(
        attn_weights,
        tokens,
        query_index,
        title=f"query {label}",
        value_name="weight",
        y_title="weight a_ij",
        y_max=max(top, 1e-6),
        height=300,
    )


SLIDER_PX = 80  # a Plotly slider with its current-value line


def weights_by_query(
    attn_weights: torch.Tensor, tokens: Sequence[str], query_index: int = 0
) -> go.Figure:
    """Every query's row of attention weights in one bar chart, with a slider that steps
    through the queries in the browser (no rerun). One trace per query, all on one 0..max
    axis so rows compare fairly; the query's own bar has another colour and a pattern.
    Starts at query_index. attn_weights: (T, T)."""
    T = attn_weights.shape[0]
    labels = position_labels(tokens)
    finite = attn_weights[attn_weights.isfinite()]
    top = max(float(finite.max()) if finite.numel() else 1.0, 1e-6)
    decimals = 4 if T <= 6 else 2
    traces, steps = [], []
    for i in range(T):
        bar = {
            "type": "bar",
            "x": labels,
            "y": _values(attn_weights[i]),
            "name": f"query {labels[i]}",
            "visible": i == query_index,
            "marker": _query_marker(T, i),
            "textposition": "outside",
            "cliponaxis": False,
            # the token goes in through the trace name: text in a hovertemplate is a template
            "hovertemplate": "%{fullData.name}<br>key %{x}<br>weight = %{y:.4f}<extra></extra>",
        }
        if T <= MAX_CELL_TEXT:
            bar["text"] = [f"{v:.{decimals}f}" for v in attn_weights[i].tolist()]
        traces.append(bar)
        steps.append(
            {
                "method": "update",
                "label": str(i + 1),
                "args": [
                    {"visible": [j == i for j in range(T)]},
                    # bold, as Streamlit's theme shows the first title (labels are escaped)
                    {"title.text": f"<b>Attention weights of the query {labels[i]}</b>"},
                ],
            }
        )
    margin = _margins(labels)
    below_axis = margin["b"]  # the slider goes under the x axis' labels and title
    margin["b"] += SLIDER_PX
    layout = {
        "title": {"text": f"Attention weights of the query {labels[query_index]}"},
        "xaxis": _token_axis("key token (x_j)"),
        "yaxis": {"title": {"text": "weight a_ij"}, "range": [0, top * 1.15]},
        "sliders": [
            {
                "active": query_index,
                "steps": steps,
                "currentvalue": {"prefix": "query "},
                "pad": {"t": below_axis - 15, "b": 10},
                "len": 1.0,
                "x": 0,
            }
        ],
        "margin": margin,
        "height": 440 + SLIDER_PX,
        "showlegend": False,
    }
    return go.Figure(data=traces, layout=layout)


def grouped_bars(
    series: Mapping[str, torch.Tensor],
    tokens: Sequence[str],
    *,
    title: str,
    y_title: str,
    styles: Sequence[tuple[str, str]] = (("#E69F00", "/"), ("#56B4E9", "."), ("#0072B2", "")),
) -> go.Figure:
    """Grouped bars: one group per key token, one bar per named series (colour + pattern)."""
    labels = position_labels(tokens)
    bars = []
    for (name, values), (color, pattern) in zip(series.items(), styles, strict=False):
        bar = {
            "type": "bar",
            "x": labels,
            "y": _values(values),
            "name": name,
            "marker": {"color": color, "pattern": {"shape": pattern}},
            "textposition": "outside",
            "textangle": -90 if len(tokens) > 5 else 0,
            "cliponaxis": False,
            "hovertemplate": "key %{x}<br>" + name + " = %{y:.4f}<extra></extra>",
        }
        if len(tokens) <= MAX_CELL_TEXT:
            bar["text"] = [f"{v:.4f}" for v in values.tolist()]
        bars.append(bar)
    layout = {
        "title": {"text": title},
        "barmode": "group",
        "xaxis": _token_axis("key token (x_j)"),
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        "uniformtext": {"minsize": 9, "mode": "hide"},  # no unreadable numbers on phones
        "margin": _margins(labels, top=90),
        "height": 420,
    }
    return go.Figure(data=bars, layout=layout)


def weights_grouped_bar(
    weights_by_method: Mapping[str, torch.Tensor], tokens: Sequence[str], query_index: int
) -> go.Figure:
    """Grouped bars: one group per key token, one bar per normalisation (sum, naive, softmax)."""
    label = position_labels(tokens)[query_index]
    return grouped_bars(
        {METHOD_STYLE[method][0]: weights for method, weights in weights_by_method.items()},
        tokens,
        title=f"Attention weights a({query_index + 1}, j) for the query {label}",
        y_title="weight a_ij",
        styles=[METHOD_STYLE[method][1:] for method in weights_by_method],
    )


def mask_heatmap(mask: torch.Tensor, tokens: Sequence[str], *, title: str) -> go.Figure:
    """Which key each query may see: a (T, T) bool mask, True = blocked, as a two-colour map
    with the words "sees" / "hidden" in the cells (and on hover), so colour is not the only cue."""
    T = mask.shape[0]
    queries = position_labels(tokens)
    words = [["hidden" if mask[i, j] else "sees" for j in range(T)] for i in range(T)]
    heatmap = {
        "type": "heatmap",
        "z": (~mask).to(torch.int64).tolist(),
        "x": queries,
        "y": queries,
        "text": words,
        "colorscale": [[0.0, "#D9D9D9"], [1.0, "#0072B2"]],
        "zmin": 0,
        "zmax": 1,
        "showscale": False,
        "hovertemplate": "query %{y}<br>key %{x}<br>%{text}<extra></extra>",
        "xgap": 1,
        "ygap": 1,
    }
    if T <= MAX_CELL_TEXT:
        heatmap["texttemplate"] = "%{text}"
    layout = {
        "title": {"text": title},
        "xaxis": _token_axis("key token (x_j)"),
        "yaxis": _token_axis("query token (x_i)") | {"autorange": "reversed"},
        "margin": _margins(queries, queries),
        "height": max(320, min(720, 140 + 34 * T)),
    }
    return go.Figure(data=[heatmap], layout=layout)


def variance_chart(
    d_ks: torch.Tensor, var_unscaled: torch.Tensor, var_scaled: torch.Tensor
) -> go.Figure:
    """Variance of q · k against d_k, with and without dividing by sqrt(d_k), log-log axes."""
    lines = [
        {
            "type": "scatter",
            "x": d_ks.tolist(),
            "y": _values(values),
            "name": name,
            "mode": "lines+markers",
            "line": {"color": color, "dash": dash},
            "marker": {"symbol": symbol, "size": 9},
            "hovertemplate": "d_k = %{x}<br>variance of " + name + " = %{y:.3f}<extra></extra>",
        }
        for name, values, color, dash, symbol in (
            ("q · k", var_unscaled, "#D55E00", "solid", "circle"),
            ("q · k / √d_k", var_scaled, "#0072B2", "dash", "square"),
        )
    ]
    layout = {
        "title": {"text": "Variance of the dot product of random vectors"},
        "xaxis": {
            "title": {"text": "d_k (size of queries and keys)"},
            "type": "log",
            "tickmode": "array",
            "tickvals": d_ks.tolist(),
            "ticktext": [str(v) for v in d_ks.tolist()],
        },
        "yaxis": {"title": {"text": "variance"}, "type": "log", "dtick": 1},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        "margin": {"l": 10, "r": 10, "t": 90, "b": 10},
        "height": 400,
    }
    return go.Figure(data=lines, layout=layout)


def vectors_figure(
    points: torch.Tensor,
    tokens: Sequence[str],
    context_point: torch.Tensor,
    query_index: int,
    *,
    title: str,
    axis_titles: Sequence[str],
    from_origin: bool,
) -> go.Figure:
    """The input vectors as labelled points and the query's context vector z_i as a diamond.

    points: (T, k) with k = 2 or 3 (raw coordinates or a projection); context_point: (k,).
    from_origin draws each vector as a line from the origin (only meaningful when the
    coordinates are the raw embedding values).
    """
    k = points.shape[1]
    labels = token_labels(tokens)
    hover = position_labels(tokens)
    query_label = escape_label(tokens[query_index])
    coords = [_values(points[:, a]) for a in range(k)]
    context = _values(context_point)
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
                "line": {"color": "#999999", "width": 2},
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
            "marker": {"size": 6 if is3d else 11, "color": BAR_COLOR, "symbol": "circle"},
            "name": "inputs x_j",
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
            "marker": {"size": 8 if is3d else 14, "color": QUERY_COLOR, "symbol": "diamond"},
            "name": f"context z for {query_label}",
            "hovertemplate": "context vector z<extra></extra>",
        }
    )
    layout: dict = {
        "title": {"text": title},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": -0.2, "x": 0},
        "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
        "height": 480,
    }
    if is3d:
        layout["scene"] = {
            f"{n}axis": {"title": {"text": t}} for n, t in zip("xyz", axis_titles, strict=True)
        }
    else:
        layout["xaxis"] = {"title": {"text": axis_titles[0]}, "zeroline": True}
        layout["yaxis"] = {"title": {"text": axis_titles[1]}, "zeroline": True}
        if from_origin:
            layout["yaxis"]["scaleanchor"] = "x"
    return go.Figure(data=traces, layout=layout)


def _nonfinite_text(value: float) -> str:
    """How a value Plotly cannot draw is named on the chart: 'NaN', 'inf' or '-inf'."""
    if math.isnan(value):
        return "NaN"
    return "inf" if value > 0 else "-inf"


MAX_BAR_TEXT = 8  # normalization_bars writes numbers on its bars up to this many tokens


def normalization_bars(
    weights_by_method: Mapping[str, torch.Tensor], tokens: Sequence[str], *, title: str
) -> go.Figure:
    """Grouped bars of one row's weights under each normalisation ("sum", "naive_softmax",
    "softmax"), like weights_grouped_bar, for rows that may hold inf or NaN.

    A non-finite weight has no bar (a gap); the word "NaN", "inf" or "-inf" is written where
    its bar would stand, and its hover says so too. Bars carry their numbers up to
    MAX_BAR_TEXT tokens, and always on hover. weights: (T,) per method.
    """
    bargap = 0.2
    fig = grouped_bars(
        {METHOD_STYLE[method][0]: weights for method, weights in weights_by_method.items()},
        tokens,
        title=title,
        y_title="weight",
        styles=[METHOD_STYLE[method][1:] for method in weights_by_method],
    )
    T, n = len(tokens), len(weights_by_method)
    group = 1.0 - bargap
    for k, (trace, weights) in enumerate(zip(fig.data, weights_by_method.values(), strict=True)):
        values = weights.detach().double().tolist()
        few = T <= MAX_BAR_TEXT
        trace.text = [f"{v:.4f}" if math.isfinite(v) else "" for v in values] if few else None
        trace.textangle = -90
        for j, v in enumerate(values):
            if math.isfinite(v):
                continue
            fig.add_annotation(
                x=j - group / 2 + (k + 0.5) * group / n,
                y=0,
                text=_nonfinite_text(v),
                hovertext=f"{position_labels(tokens)[j]}: {trace.name} = {_nonfinite_text(v)}",
                textangle=-90,
                showarrow=False,
                yanchor="bottom",
                font={"size": 13},
                bordercolor=METHOD_STYLE[list(weights_by_method)[k]][1],
                borderwidth=1,
            )
    fig.update_layout(bargap=bargap, bargroupgap=0.0, xaxis={"range": [-0.5, T - 0.5]})
    return fig
