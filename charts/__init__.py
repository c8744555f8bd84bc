"""Plotly figure builders: tensors and labels in, go.Figure out. No Streamlit import.

One module per chart family (heatmaps, bars, grouped, variance, vectors, pretrained_charts),
one home for colours, sizes, fonts, decimals and the template (style), ranges that hold every
value (ranges), and each figure's text alternative for screen readers (alt).
Every builder takes present=True for a projector.
"""

from charts.alt import alt_text
from charts.bars import query_bar, scores_bar, weights_bar, weights_by_query
from charts.grouped import grouped_bars, normalization_bars, weights_grouped_bar
from charts.heatmaps import QK_AXES, X_AXES, attention_heatmap, mask_heatmap
from charts.labels import escape_label, position_labels, token_labels
from charts.pretrained_charts import attention_lines, head_grid
from charts.ranges import shared_range
from charts.style import CHART_FONT_PX, MAX_CELL_TEXT, TITLE_FONT_PX
from charts.variance import variance_chart
from charts.vectors import vectors_figure

__all__ = [
    "CHART_FONT_PX",
    "MAX_CELL_TEXT",
    "QK_AXES",
    "TITLE_FONT_PX",
    "X_AXES",
    "alt_text",
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
    "shared_range",
    "token_labels",
    "variance_chart",
    "vectors_figure",
    "weights_bar",
    "weights_by_query",
    "weights_grouped_bar",
]

# Two settings side by side and their difference (issue: explore like a researcher).
from charts.compare import Comparison, compare_heatmaps, comparison, difference_heatmap

__all__ += ["Comparison", "compare_heatmaps", "comparison", "difference_heatmap"]
