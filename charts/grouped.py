"""Grouped bars: one group per key token, one bar per named series (a colour and a fill
pattern each, so colour is never the only cue). Used for one row's weights under the three
normalisations (lesson 1, the softmax lab), where a weight may be inf or NaN."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
import torch

from charts import style
from charts.alt import with_alt
from charts.heatmaps import KEY_AXIS
from charts.labels import plain_position_labels, position_labels
from charts.ranges import bar_range
from charts.ranges import values as to_list

BARGAP = 0.2


def _nonfinite_text(value: float) -> str:
    """How a value Plotly cannot draw is named on the chart: 'NaN', 'inf' or '-inf'."""
    if math.isnan(value):
        return "NaN"
    return "inf" if value > 0 else "-inf"


def grouped_alt(series: Mapping[str, torch.Tensor], tokens: Sequence[str], y_title: str) -> str:
    """The groups in words: for each series, the key with the largest value and the keys
    whose value is not finite."""
    labels = plain_position_labels(tokens)
    parts = []
    for name, row in series.items():
        data = row.detach().double()
        finite = data.isfinite()
        if bool(finite.any()):
            j = int(data.masked_fill(~finite, float("-inf")).argmax())
            part = f"{name}: largest at key {labels[j]} ({style.fmt(float(data[j]))})"
        else:
            part = f"{name}: no finite value"
        bad = [
            f"{labels[j]} {_nonfinite_text(float(data[j]))}"
            for j in range(len(data))
            if not bool(finite[j])
        ]
        if bad:
            part += " (not finite: " + ", ".join(bad) + ")"
        parts.append(part)
    return (
        f"Grouped bar chart of {y_title} over {len(tokens)} keys, one bar per "
        + ", ".join(series)
        + ". "
        + "; ".join(parts)
        + "."
    )


def grouped_bars(
    series: Mapping[str, torch.Tensor],
    tokens: Sequence[str],
    *,
    title: str,
    y_title: str,
    styles: Sequence[tuple[str, str]] = style.SERIES_STYLES,
    max_text: int = style.MAX_CELL_TEXT,
    turn_text: bool | None = None,
    x_title: str = KEY_AXIS,
    present: bool = False,
) -> go.Figure:
    """Grouped bars: one group per key token, one bar per named series (T,) with a colour and
    a pattern from `styles`. A non-finite value has no bar (a gap); the word "NaN", "inf" or
    "-inf" is written where its bar would stand, and its hover says so too. Bars carry their
    numbers up to max_text tokens (turned upright when turn_text, by default past 5 tokens),
    and always on hover. present: projector size."""
    labels = position_labels(tokens)
    T, n = len(tokens), len(series)
    turned = T > 5 if turn_text is None else turn_text
    bars, notes = [], []
    group = 1.0 - BARGAP
    for k, ((name, row), (color, pattern)) in enumerate(zip(series.items(), styles, strict=False)):
        ys = to_list(row)
        bar = {
            "type": "bar",
            "x": labels,
            "y": ys,
            "name": name,
            "marker": {"color": color, "pattern": {"shape": pattern}},
            "textposition": "outside",
            "textangle": -90 if turned else 0,
            "cliponaxis": False,
            "hovertemplate": "key %{x}<br>"
            + name
            + " = "
            + style.hover_number("y")
            + "<extra></extra>",
        } | style.text_font(present)
        if max_text >= T:
            bar["text"] = [style.fmt(v) if v is not None else "" for v in ys]
        bars.append(bar)
        for j, v in enumerate(row.detach().double().tolist()):
            if not math.isfinite(v):
                notes.append(
                    {
                        "x": j - group / 2 + (k + 0.5) * group / n,
                        "y": 0,
                        "text": _nonfinite_text(v),
                        "hovertext": f"{labels[j]}: {name} = {_nonfinite_text(v)}",
                        "textangle": -90,
                        "showarrow": False,
                        "yanchor": "bottom",
                        "font": {"size": style.ANNOTATION_FONT_PX},
                        "bordercolor": color,
                        "borderwidth": 1,
                    }
                )
    headroom = style.TURNED_TEXT_HEADROOM if turned else style.BAR_HEADROOM
    layout = style.layout(
        title=title,
        height=style.GROUPED_BARS_PX,
        margin=style.margins(labels),
        present=present,
        barmode="group",
        bargap=BARGAP,
        bargroupgap=0.0,
        xaxis=style.token_axis(x_title, present) | {"range": [-0.5, T - 0.5]},
        yaxis=style.axis(
            y_title, present, range=list(bar_range(list(series.values()), None, headroom))
        ),
        legend={"rows": n},
        uniformtext={"minsize": 9, "mode": "hide"},  # no unreadable numbers on phones
        annotations=notes,
    )
    return style.figure(data=bars, layout=with_alt(layout, grouped_alt(series, tokens, y_title)))


def _by_method(weights_by_method: Mapping[str, torch.Tensor]) -> tuple[dict, list]:
    names = {style.METHOD_STYLE[m][0]: w for m, w in weights_by_method.items()}
    return names, [style.METHOD_STYLE[m][1:] for m in weights_by_method]


def weights_grouped_bar(
    weights_by_method: Mapping[str, torch.Tensor],
    tokens: Sequence[str],
    query_index: int,
    *,
    present: bool = False,
) -> go.Figure:
    """Grouped bars: one group per key token, one bar per normalisation ("sum",
    "naive_softmax", "softmax"), each (T,)."""
    label = position_labels(tokens)[query_index]
    series, styles = _by_method(weights_by_method)
    return grouped_bars(
        series,
        tokens,
        title=f"Attention weights a({query_index + 1}, j) for the query {label}",
        y_title="weight a(i, j)",
        styles=styles,
        present=present,
    )


def normalization_bars(
    weights_by_method: Mapping[str, torch.Tensor],
    tokens: Sequence[str],
    *,
    title: str,
    present: bool = False,
) -> go.Figure:
    """Grouped bars of one row's weights under each normalisation, like weights_grouped_bar,
    for rows that may hold inf or NaN: numbers on the bars up to MAX_BAR_TEXT tokens, upright."""
    series, styles = _by_method(weights_by_method)
    return grouped_bars(
        series,
        tokens,
        title=title,
        y_title="weight",
        styles=styles,
        max_text=style.MAX_BAR_TEXT,
        turn_text=True,
        x_title="entry j of the row",
        present=present,
    )
