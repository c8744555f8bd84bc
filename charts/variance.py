"""Why scale by sqrt(d_k): the variance of q · k against d_k, with and without the scaling."""

from __future__ import annotations

import plotly.graph_objects as go
import torch

from charts import style
from charts.alt import with_alt
from charts.ranges import finite_range
from charts.ranges import values as to_list


def variance_alt(d_ks: torch.Tensor, var_unscaled: torch.Tensor, var_scaled: torch.Tensor) -> str:
    """The two lines in words, with their end points."""
    first, last = int(d_ks[0]), int(d_ks[-1])
    d = style.VARIANCE_DECIMALS
    text = f"Line chart, log-log, d_k from {first} to {last}."
    for name, values in (("q · k", var_unscaled), ("q · k / √d_k", var_scaled)):
        found = finite_range(values)
        if found is None:
            text += f" Variance of {name}: no finite value."
            continue
        text += (
            f" Variance of {name}: {style.fmt(float(values[0]), d)} at d_k = {first}, "
            f"{style.fmt(float(values[-1]), d)} at d_k = {last}."
        )
    return text


def variance_chart(
    d_ks: torch.Tensor,
    var_unscaled: torch.Tensor,
    var_scaled: torch.Tensor,
    *,
    present: bool = False,
) -> go.Figure:
    """Variance of q · k against d_k (n,), with and without dividing by sqrt(d_k), log-log
    axes (Plotly's autorange holds every point; non-positive or non-finite values are gaps)."""
    lines = [
        {
            "type": "scatter",
            "x": d_ks.tolist(),
            "y": [v if v is not None and v > 0 else None for v in to_list(values)],
            "name": name,
            "mode": "lines+markers",
            "line": {"color": color, "dash": dash},
            "marker": {"symbol": symbol, "size": 9},
            "hovertemplate": "d_k = %{x}<br>variance of "
            + name
            + " = "
            + style.hover_number("y", style.VARIANCE_DECIMALS)
            + "<extra></extra>",
        }
        for name, values, (color, dash, symbol) in (
            ("q · k", var_unscaled, style.UNSCALED_LINE),
            ("q · k / √d_k", var_scaled, style.SCALED_LINE),
        )
    ]
    layout = style.layout(
        title="Variance of the dot product of random vectors",
        height=style.VARIANCE_PX,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        present=present,
        xaxis=style.axis(
            "d_k (size of queries and keys)",
            present,
            type="log",
            tickmode="array",
            tickvals=d_ks.tolist(),
            ticktext=[str(v) for v in d_ks.tolist()],
        ),
        yaxis=style.axis("variance", present, type="log", dtick=1),
        legend={"rows": 2},
    )
    return style.figure(
        data=lines, layout=with_alt(layout, variance_alt(d_ks, var_unscaled, var_scaled))
    )
