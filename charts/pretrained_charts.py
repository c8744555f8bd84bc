"""Figures for the pretrained-transformer lesson: every head at a glance, and a "lines" view.

No Streamlit here. Token text is escaped before Plotly sees it.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence

import plotly.colors
import plotly.graph_objects as go
import torch
from PIL import Image

from charts import style
from charts.alt import with_alt
from charts.labels import plain_position_labels, position_labels, token_labels

GRID_GAP = 2  # pixels between the small heatmaps
LINE_BINS = 10  # line opacities are rounded to tenths: one trace per level
GRID_BASE_PX, GRID_LAYER_PX = 140, 60  # head grid height: base + per layer shown
LINES_BASE_PX, LINES_ROW_PX, LINES_MIN_PX = 60, 22, 320


def _palette(steps: int = 256) -> torch.Tensor:
    """The weights colour scale sampled at `steps` points: (steps, 3) uint8."""
    colors = plotly.colors.sample_colorscale(
        style.WEIGHTS_COLORSCALE, [i / (steps - 1) for i in range(steps)]
    )
    rgb = [[int(v) for v in re.findall(r"[\d.]+", color)[:3]] for color in colors]
    return torch.tensor(rgb, dtype=torch.uint8)


def head_grid_alt(attn_weights: torch.Tensor, layers: Sequence[int]) -> str:
    """The grid in words: how many maps, and the head whose largest weight is the largest."""
    _, h, T, _ = attn_weights.shape
    shown = attn_weights[list(layers)].detach().double().nan_to_num(nan=-1.0)
    flat = int(shown.flatten().argmax())
    layer, rest = divmod(flat, h * T * T)
    head = rest // (T * T)
    what = "layer " + str(layers[0] + 1) if len(layers) == 1 else f"{len(layers)} layers"
    return (
        f"Attention weights of {len(layers) * h} heads ({what} × {h} heads) as small heatmaps "
        f"over {T} tokens, colour 0 to 1. The largest weight, "
        f"{style.fmt(float(shown.flatten()[flat]))}, is in layer {layers[layer] + 1}, "
        f"head {head + 1}."
    )


def head_grid(
    attn_weights: torch.Tensor,
    pixels_per_token: int = 4,
    *,
    layers: Sequence[int] | None = None,
    present: bool = False,
) -> go.Figure:
    """All L x h attention maps as one picture: layers down, heads across, colour 0..1.

    attn_weights: (L, h, T, T). layers: only these layers (e.g. [layer] for one layer at a
    time on a projector); default all. Drawn as a PNG inside a Plotly image (compact even for
    72 maps of 128 x 128); the axes name the layers and heads. The numbers are in the opened
    head. Weights outside 0..1 cannot occur (softmax) and are clamped to the scale's ends.
    """
    layers = list(range(attn_weights.shape[0])) if layers is None else list(layers)
    alt = head_grid_alt(attn_weights, layers)
    attn_weights = attn_weights[layers]
    L, h, T, _ = attn_weights.shape
    scale = max(1, min(pixels_per_token, 256 // max(T, 1)))
    tile = T * scale
    step = tile + GRID_GAP
    palette = _palette()
    levels = (attn_weights.clamp(0, 1) * 255).round().to(torch.long)  # (L, h, T, T)
    canvas = torch.full((L * step - GRID_GAP, h * step - GRID_GAP, 3), 255, dtype=torch.uint8)
    for layer in range(L):
        for head in range(h):
            rgb = palette[levels[layer, head]]  # (T, T, 3)
            rgb = rgb.repeat_interleave(scale, 0).repeat_interleave(scale, 1)  # (tile, tile, 3)
            top, left = layer * step, head * step
            canvas[top : top + tile, left : left + tile] = rgb
    buffer = io.BytesIO()
    Image.fromarray(canvas.numpy()).save(buffer, format="PNG", optimize=True)
    source = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    if L == 1:
        title = f"Attention weights of the {h} heads of layer {layers[0] + 1}"
    else:
        title = f"Attention weights of all {L * h} heads ({L} layers × {h} heads)"
    layout = style.layout(
        title=title,
        height=GRID_BASE_PX + GRID_LAYER_PX * L,
        margin={"l": 10, "r": 10, "t": 90, "b": 10},
        present=present,
        xaxis=style.axis(
            "head",
            present,
            tickmode="array",
            tickvals=[i * step + tile / 2 for i in range(h)],
            ticktext=[str(i + 1) for i in range(h)],
            showgrid=False,
            side="top",
        ),
        yaxis=style.axis(
            "layer",
            present,
            tickmode="array",
            tickvals=[i * step + tile / 2 for i in range(L)],
            ticktext=[str(layer + 1) for layer in layers],
            showgrid=False,
        ),
    )
    # One go.Figure call with dicts: Plotly validates once (see charts/style.py).
    image = {"type": "image", "source": source, "hoverinfo": "skip"}
    return style.figure(data=[image], layout=with_alt(layout, alt))


def lines_alt(row: torch.Tensor, tokens: Sequence[str], query_index: int) -> str:
    """The query's lines in words: which key gets the most weight."""
    labels = plain_position_labels(tokens)
    data = row.detach().double().nan_to_num(nan=-1.0)
    j = int(data.argmax())
    return (
        f"Lines from each query to each key, darker for a larger weight, over {len(tokens)} "
        f"tokens. The query {labels[query_index]} gives its largest weight, "
        f"{style.fmt(float(row[j]))}, to the key {labels[j]}."
    )


def attention_lines(
    attn_weights: torch.Tensor,
    tokens: Sequence[str],
    query_index: int,
    *,
    title: str,
    present: bool = False,
) -> go.Figure:
    """Queries on the left, keys on the right, a line for each pair whose opacity is the weight.

    attn_weights: (T, T). The query's own lines are drawn in the highlight colour, with the
    weight written at the key's end and on hover.
    """
    T = attn_weights.shape[0]
    labels = token_labels(tokens)
    traces = []
    levels = (attn_weights * LINE_BINS).round().to(torch.long)  # 0..LINE_BINS
    for level in range(1, LINE_BINS + 1):
        xs: list = []
        ys: list = []
        for i, j in (levels == level).nonzero().tolist():
            if i != query_index:
                xs += [0, 1, None]
                ys += [i, j, None]
        if xs:
            traces.append(
                {
                    "type": "scatter",
                    "x": xs,
                    "y": ys,
                    "mode": "lines",
                    "line": {"color": style.BAR_COLOR, "width": 2},
                    "opacity": level / LINE_BINS,
                    "hoverinfo": "skip",
                    "showlegend": False,
                }
            )
    row = attn_weights[query_index]
    for j in range(T):
        traces.append(
            {
                "type": "scatter",
                "x": [0, 1],
                "y": [query_index, j],
                "mode": "lines",
                "line": {"color": style.QUERY_COLOR, "width": 3},
                "opacity": min(max(float(row[j]), 0.03), 1.0),
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
    names = position_labels(tokens)
    traces.append(
        {
            "type": "scatter",
            "x": [1] * T,
            "y": list(range(T)),
            "mode": "markers",
            "marker": {"size": 8, "color": style.QUERY_COLOR, "opacity": 0.0},
            "customdata": [[names[query_index], names[j]] for j in range(T)],
            "text": [style.fmt(float(w)) for w in row],
            "hovertemplate": "query %{customdata[0]}<br>key %{customdata[1]}<br>"
            "weight = %{text}<extra></extra>",
            "showlegend": False,
        }
    )
    layout = style.layout(
        title=title,
        height=max(LINES_MIN_PX, LINES_BASE_PX + LINES_ROW_PX * T),
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
        present=present,
        xaxis=style.axis(
            "",
            present,
            showgrid=False,
            zeroline=False,
            tickmode="array",
            tickvals=[0, 1],
            ticktext=["query", "key"],
            range=[-0.6, 1.6],
            side="top",
        ),
        yaxis={"showgrid": False, "zeroline": False, "visible": False, "autorange": "reversed"},
        annotations=[
            {
                "x": 0,
                "y": i,
                "text": labels[i],
                "xanchor": "right",
                "xshift": -8,
                "showarrow": False,
                "font": {"color": style.QUERY_COLOR} if i == query_index else {},
            }
            for i in range(T)
        ]
        + [
            {
                "x": 1,
                "y": j,
                "text": f"{labels[j]}  ({style.fmt(float(row[j]), 2)})",
                "xanchor": "left",
                "xshift": 8,
                "showarrow": False,
            }
            for j in range(T)
        ],
    )
    # One go.Figure call with dicts: Plotly validates once (see charts/style.py).
    return style.figure(data=traces, layout=with_alt(layout, lines_alt(row, tokens, query_index)))
