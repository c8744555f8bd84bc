"""Plotly figure builders: tensors and labels in, go.Figure out. No Streamlit import."""

from charts.attention_charts import (
    MAX_CELL_TEXT,
    attention_heatmap,
    grouped_bars,
    mask_heatmap,
    normalization_bars,
    query_bar,
    scores_bar,
    variance_chart,
    vectors_figure,
    weights_bar,
    weights_by_query,
    weights_grouped_bar,
)
from charts.labels import escape_label, position_labels, token_labels
from charts.pretrained_charts import attention_lines, head_grid

__all__ = [
    "MAX_CELL_TEXT",
    "attention_heatmap",
    "attention_lines",
    "escape_label",
    "grouped_bars",
    "head_grid",
    "mask_heatmap",
    "normalization_bars",
    "position_labels",
    "query_bar",
    "scores_bar",
    "token_labels",
    "variance_chart",
    "vectors_figure",
    "weights_bar",
    "weights_by_query",
    "weights_grouped_bar",
]
