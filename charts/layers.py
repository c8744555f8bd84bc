"""Lesson 5's picture of the position embeddings: their cosine similarity as a heatmap over
positions (1-based on the axes). Pure Plotly; the other lesson-5 explore charts reuse
attention_heatmap, query_bar and compare_heatmaps."""

from __future__ import annotations

import plotly.graph_objects as go
import torch

from charts import style
from charts.alt import with_alt
from charts.heatmaps import heatmap_height
from charts.ranges import matrix as to_lists

SIMILARITY_COLORSCALE = style.named_colorscale("RdBu_r")  # blue -1, white 0, red 1
SIMILARITY_COLORS = "blue for -1, white for 0, red for 1"


def similarity_alt(similarity: torch.Tensor, distances: tuple[int, ...]) -> str:
    """The similarity map in words: its size, range and mean cosine at a few distances."""
    N = similarity.shape[0]
    parts = [
        f"{style.fmt(float(torch.diagonal(similarity, k).mean()), 2)} at distance {k}"
        for k in distances
        if k < N
    ]
    text = (
        f"Heatmap of the cosine similarity of the first {N} position embeddings ({N} by {N}), "
        f"colour range -1 to 1 ({SIMILARITY_COLORS}); 1 on the diagonal."
    )
    return text + (" Mean similarity: " + "; ".join(parts) + "." if parts else "")


def position_similarity_heatmap(
    similarity: torch.Tensor,
    *,
    title: str,
    distances: tuple[int, ...] = (1, 2, 5, 20),
    present: bool = False,
) -> go.Figure:
    """similarity: (N, N) cosines of position embeddings (entry [p, r] for 0-based positions;
    the axes show p + 1). Fixed colour range -1 to 1, centred at 0."""
    N = similarity.shape[0]
    positions = list(range(1, N + 1))
    heatmap = {
        "type": "heatmap",
        "z": to_lists(similarity),
        "x": positions,
        "y": positions,
        "zmin": -1.0,
        "zmax": 1.0,
        "zmid": 0.0,
        "colorscale": SIMILARITY_COLORSCALE,
        "hovertemplate": "position %{y} and position %{x}<br>cosine = %{z:.4f}<extra></extra>",
        "colorbar": style.colorbar("cosine<br>(-1 to 1)", present),
    }
    layout = style.layout(
        title=title,
        height=heatmap_height(min(N, 40)),
        margin={"l": 70, "r": 10, "t": 60, "b": 65},
        present=present,
        xaxis=style.axis("position r", present),
        yaxis=style.axis("position p", present) | {"autorange": "reversed"},
    )
    return style.figure(
        data=[heatmap], layout=with_alt(layout, similarity_alt(similarity, distances))
    )
