"""Figures for the decoder lesson: RoPE's rotation of one pair of numbers, and the weight on the
first token layer by layer (the attention sink). No Streamlit here; no token text in these."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import torch

from charts import style
from charts.alt import with_alt

ROPE_PX = 420
SINK_PX = 340


def rope_alt(points: torch.Tensor) -> str:
    """The rotation in words: how many positions, and the angle step."""
    angles = [math.degrees(math.atan2(float(y), float(x))) for x, y in points.tolist()]
    step = angles[1] - angles[0] if len(angles) > 1 else 0.0
    return (
        f"The same 2-D vector drawn at positions 0 to {len(angles) - 1}: each position turns it "
        f"by {style.fmt(step, 1)} degrees more, its length stays the same."
    )


def rope_figure(points: torch.Tensor, *, present: bool = False) -> go.Figure:
    """points: (P, 2), one dimension pair's vector at positions 0..P-1 (rope_points). Arrows
    from the origin, each labelled with its position."""
    data = []
    for p, (x, y) in enumerate(points.tolist()):
        data.append(
            {
                "type": "scatter",
                "x": [0, x],
                "y": [0, y],
                "mode": "lines+markers+text",
                "text": ["", f"p = {p}"],
                "textposition": "top center" if y >= 0 else "bottom center",
                "marker": {"size": [0, 10], "color": style.QUERY_COLOR if p == 0 else None},
                "line": {"color": style.QUERY_COLOR if p == 0 else style.BAR_COLOR},
                "hovertemplate": f"position {p}<br>(%{{x:.3f}}, %{{y:.3f}})<extra></extra>",
                "showlegend": False,
            }
            | style.text_font(present)
        )
    layout = style.layout(
        title="RoPE turns a pair of numbers by an angle that grows with the position",
        height=ROPE_PX,
        margin={"l": 50, "r": 20, "t": 30, "b": 50},
        present=present,
        xaxis=style.axis("dimension i", present, range=[-1.3, 1.6], zeroline=True),
        yaxis=style.axis(
            "dimension i + hd/2", present, range=[-1.3, 1.3], scaleanchor="x", zeroline=True
        ),
    )
    return style.figure(data=data, layout=with_alt(layout, rope_alt(points)))


def sink_alt(sink: torch.Tensor, uniform: float) -> str:
    """The sink chart in words: the layers with the least and the most weight on position 1."""
    lo, hi = int(sink.argmin()), int(sink.argmax())
    return (
        f"Bar chart over {sink.shape[0]} layers of the mean weight on position 1. Least in layer "
        f"{lo + 1} ({style.fmt(float(sink[lo]), 2)}), most in layer {hi + 1} "
        f"({style.fmt(float(sink[hi]), 2)}); an even spread would give "
        f"{style.fmt(uniform, 2)}."
    )


def sink_bars(sink: torch.Tensor, uniform: float, *, present: bool = False) -> go.Figure:
    """sink: (L,) mean weight on position 1 per layer; a dashed line at the even spread."""
    L = sink.shape[0]
    bar = {
        "type": "bar",
        "x": list(range(1, L + 1)),
        "y": [float(v) for v in sink.tolist()],
        "marker": {"color": style.BAR_COLOR},
        "hovertemplate": "layer %{x}<br>mean weight on position 1 = %{y:.4f}<extra></extra>",
        "name": "weight on position 1",
    }
    line = {
        "type": "scatter",
        "x": [0.5, L + 0.5],
        "y": [uniform, uniform],
        "mode": "lines",
        "line": {"color": style.QUERY_COLOR, "dash": "dash"},
        "name": "even spread",
        "hovertemplate": f"even spread = {uniform:.4f}<extra></extra>",
    }
    layout = style.layout(
        title="Mean weight on position 1, layer by layer",
        height=SINK_PX,
        margin={"l": 50, "r": 20, "t": 30, "b": 50},
        present=present,
        legend={"rows": 2},
        xaxis=style.axis("layer", present, dtick=5 if L > 10 else 1),
        yaxis=style.axis("mean weight", present, range=[0, 1]),
    )
    return style.figure(data=[bar, line], layout=with_alt(layout, sink_alt(sink, uniform)))
