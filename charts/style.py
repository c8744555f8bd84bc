"""One home for how the charts look: colours, sizes, fonts, margins, decimals and the Plotly
template, at normal size and in presentation mode (for a projector).

No Streamlit import. Builders pass `present` through; everything that changes with it is here:
- every text in the chart is at least CHART_FONT_PX (titles TITLE_FONT_PX);
- margins sized for 12 px tick labels grow with the font (left, bottom, top), and the figure
  grows by as much plus PRESENT_HEIGHT_FACTOR, so the plot area gets larger, not smaller;
- a slider's gap under the axis labels grows with the font too.

Speed: every figure is built in one call, figure(data=[trace dicts], layout={...}). Plotly
checks every property of a figure as it is built: 3.6 ms for a 5 x 5 heatmap against 0.2 ms
unchecked, a cost paid on every edit for every chart. The checks stay on by default and in the
test suite (which builds every figure the pages build); the app's server turns them off
(ui/server.py). A go.Heatmap/go.Bar object would be checked and deep-copied again inside
go.Figure, and update_layout/add_trace cost several ms each (benchmarks/).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio

# Whether figure() has Plotly check every property (see the module's docstring).
CHECK_FIGURES = True


def figure(data: list, layout: dict) -> go.Figure:
    """The figure of these traces (dicts) and this layout, checked by Plotly if CHECK_FIGURES."""
    return go.Figure(data=data, layout=layout, _validate=CHECK_FIGURES)


def named_colorscale(name: str) -> list[list]:
    """Plotly's colour scale `name` as the [[position, colour], ...] list that Plotly's checks
    turn the name into, so a figure built with or without the checks is the same."""
    return [
        [float(position), colour] for position, colour in go.Heatmap(colorscale=name).colorscale
    ]


# ---- colours: colour-blind-safe (Okabe-Ito and Viridis/Cividis), never the only cue ----------
WEIGHTS_COLORSCALE = named_colorscale("Viridis")
SCORES_COLORSCALE = named_colorscale("Cividis")
BAR_COLOR = "#0072B2"
QUERY_COLOR = "#D55E00"  # the query's own bar, line or point
QUERY_PATTERN = "x"  # ... which also gets a fill pattern
PATTERN_COLOR = "#000000"  # the pattern's lines
LINE_COLOR = "#999999"  # lines from the origin to each vector
MASK_COLORSCALE = [[0.0, "#D9D9D9"], [1.0, "#0072B2"]]  # hidden, sees
# Three normalisations: a name, a colour and a fill pattern each.
METHOD_STYLE: dict[str, tuple[str, str, str]] = {
    "sum": ("sum normalisation", "#E69F00", "/"),
    "naive_softmax": ("naive softmax", "#56B4E9", "."),
    "softmax": ("softmax (stable)", "#0072B2", ""),
}
SERIES_STYLES: tuple[tuple[str, str], ...] = tuple(s[1:] for s in METHOD_STYLE.values())
# The variance chart's two lines: colour, dash, marker symbol.
UNSCALED_LINE = ("#D55E00", "solid", "circle")
SCALED_LINE = ("#0072B2", "dash", "square")

# ---- fonts -------------------------------------------------------------------------------
BASE_FONT_PX = 12  # Plotly's tick label size, which the margins below are measured for
CHART_FONT_PX = 18  # presentation mode: every text in a chart at least this size
TITLE_FONT_PX = 24  # presentation mode: chart titles
ANNOTATION_FONT_PX = 13  # words written on a chart (e.g. "NaN" where a bar cannot stand)
CHAR_PX = 7  # about the width of one character of a 12 px label
AXIS_TITLE_PX = 45  # an axis title and the gap to its tick labels
AXIS_STANDOFF_PX = 10

# ---- sizes (px, at normal size) ----------------------------------------------------------
MAX_CELL_TEXT = 16  # numbers are written in heatmap cells and on bars up to this many tokens
# A thin white line between heatmap cells, up to this many rows or columns. With the lines
# plotly.js paints the map cell by cell on a canvas the size of the plot and encodes it as a
# PNG: 116 ms per draw at 64 x 64 in headless Chromium, against 32 ms without, when it draws
# one pixel per cell and lets the browser scale it.
MAX_CELL_GAPS = 32
MAX_BAR_TEXT = 8  # normalisation bars (three per token) carry numbers up to this many tokens
HEATMAP_MIN_PX, HEATMAP_MAX_PX = 320, 720
HEATMAP_BASE_PX, HEATMAP_ROW_PX = 140, 34  # height = base + row px per query, within min..max
QUERY_BAR_PX = 360
SMALL_BAR_PX = 300  # one query's weights, small (several side by side)
SLIDER_BARS_PX = 440
SLIDER_PX = 80  # a Plotly slider with its current-value line
GROUPED_BARS_PX = 420
VARIANCE_PX = 400
VECTORS_PX = 480
BAR_HEADROOM = 1.15  # a bar axis reaches this far past the tallest bar (room for its number)
TURNED_TEXT_HEADROOM = 1.3  # ... and this far when the numbers are turned upright
PRESENT_HEIGHT_FACTOR = 1.3

# ---- numbers -----------------------------------------------------------------------------
HOVER_DECIMALS = 4  # hover always shows 4 decimals, as the notebook prints
VARIANCE_DECIMALS = 3


def cell_decimals(n: int) -> int:
    """Decimals written in cells and on bars: 4 (as the notebook) up to 6 tokens, then 2."""
    return 4 if n <= 6 else 2


def fmt(value: float, decimals: int = HOVER_DECIMALS) -> str:
    """A number at fixed decimals, e.g. '0.2379'."""
    return f"{value:.{decimals}f}"


def hover_number(field: str, decimals: int = HOVER_DECIMALS) -> str:
    """A hovertemplate number, e.g. '%{z:.4f}'."""
    return "%{" + field + ":." + str(decimals) + "f}"


# ---- presentation ------------------------------------------------------------------------
def grow(present: bool) -> float:
    """How much text (and the margins made for it) grows: 1, or 18/12 when presenting."""
    return CHART_FONT_PX / BASE_FONT_PX if present else 1.0


def axis(title: str, present: bool, *, scene: bool = False, **more) -> dict:
    """An axis with a title that makes room for its labels (automargin, and a standoff for the
    title; neither exists on a 3-D scene's axes); projector-size fonts when presenting."""
    result = {"title": {"text": title}} | more
    if not scene:
        # standoff: the title keeps its distance from projector-size tick labels too
        result |= {"automargin": True}
        result["title"]["standoff"] = AXIS_STANDOFF_PX
    if present:
        result["tickfont"] = {"size": CHART_FONT_PX}
        result["title"]["font"] = {"size": CHART_FONT_PX}
    return result


def token_axis(title: str, present: bool) -> dict:
    """A category axis over position labels (their order is the data's order)."""
    return axis(title, present, type="category")


def cell_gaps(rows: int, columns: int) -> dict:
    """Heatmap trace settings for the lines between cells: 1 px up to MAX_CELL_GAPS cells."""
    return {"xgap": 1, "ygap": 1} if max(rows, columns) <= MAX_CELL_GAPS else {}


def text_font(present: bool) -> dict:
    """Trace text (numbers in cells and on bars): set only when presenting."""
    return {"textfont": {"size": CHART_FONT_PX}} if present else {}


def colorbar(title: str, present: bool) -> dict:
    """A colour bar right of the plot with its title (what and which range) over it."""
    bar = {"title": {"text": title}}
    if present:
        bar["tickfont"] = {"size": CHART_FONT_PX}
        bar["title"]["font"] = {"size": CHART_FONT_PX}
    return bar


def annotation_font(present: bool) -> int:
    return CHART_FONT_PX if present else ANNOTATION_FONT_PX


def label_px(labels: Sequence[str]) -> int:
    """Width of the longest label at 12 px (escaped characters count once)."""
    return CHAR_PX * max((len(html.unescape(label)) for label in labels), default=0)


def margins(
    x_labels: Sequence[str] | None = None, y_labels: Sequence[str] | None = None, top: int = 60
) -> dict:
    """Margins (at 12 px) that fit the tick labels: room for the longest y label on the left,
    and below for x labels (turned when, side by side, they would not fit in about 300 px).

    Plotly's automargin stays on as a safety net but has nothing to add: a margin it has to
    grow costs a second layout pass in the browser."""
    left = AXIS_TITLE_PX + (label_px(y_labels) if y_labels else 35)
    bottom = AXIS_TITLE_PX + 20
    if x_labels and sum(len(html.unescape(x)) + 2 for x in x_labels) * CHAR_PX > 300:
        bottom = AXIS_TITLE_PX + max(20, label_px(x_labels) * 3 // 4)
    return {"l": left, "r": 10, "t": top, "b": bottom}


# The top of every chart, from the figure's top edge down: the title (wrapped to fit a phone),
# then a legend or a colour bar if the chart has one, then the plot. All placed in pixels from
# the top (yref "container"), so nothing overlaps at any width.
TITLE_PAD_PX = 10
TITLE_LINE_PX = 22  # one line of a 16 px bold title (Streamlit's theme)
TITLE_CHARS = 36  # a title line at most this long: fits a 390 px phone
PRESENT_TITLE_LINE_PX = 32
PRESENT_TITLE_CHARS = 30  # 24 px: fits a phone too
LEGEND_ROW_PX = 20
GAP_PX = 10


def wrap_title(text: str, present: bool = False) -> list[str]:
    """A title in lines that fit a phone (or a projector). Breaks at spaces only, so an escaped
    label ('&lt;', '&amp;') is never cut, and never after a label's "3:"."""
    limit = PRESENT_TITLE_CHARS if present else TITLE_CHARS
    lines: list[str] = []
    for word in re.split(r"(?<!\d:) ", text):
        if lines and len(html.unescape(lines[-1] + " " + word)) <= limit:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def title_px(lines: int, present: bool) -> int:
    """Height of the title block at the top of a figure."""
    line = PRESENT_TITLE_LINE_PX if present else TITLE_LINE_PX
    return TITLE_PAD_PX + lines * line + GAP_PX


def block_px(px: int, present: bool) -> int:
    """A block under the title (legend, colour bar), grown with the font when presenting."""
    return round(px * grow(present))


def layout(
    *,
    title: str,
    height: int,
    margin: dict,
    present: bool,
    below_title: int = 0,
    legend: dict | None = None,
    **more,
) -> dict:
    """A figure's layout: the template, the title (wrapped) and what sits under it, margins and
    height, at normal size or for a projector (fonts CHART_FONT_PX/TITLE_FONT_PX, margins and
    height grown). `margin` and `height` are given at normal size, with margin["t"] the room
    the plot had above it before a title; `below_title` px (normal size) are kept free under
    the title; a `legend` goes there too, one entry per row. `more` holds the rest of the
    layout (axes, sliders, annotations...)."""
    lines = wrap_title(title, present)
    top = title_px(len(lines), present)
    legend_top = top
    if legend is not None:
        top += block_px(LEGEND_ROW_PX * legend.pop("rows"), present) + GAP_PX
    top += block_px(below_title, present)
    result = {
        "template": template(),
        # centred in its block: plotly.js anchors a multi-line title's "top" at its last line
        "title": {"text": "<br>".join(lines), "yref": "container", "yanchor": "middle"},
    } | more
    scale = grow(present)
    grown = dict(margin) | {side: round(margin[side] * scale) for side in ("l", "b")}
    grown["t"] = top
    total = height + top - margin["t"]
    if present:
        total = round(height * PRESENT_HEIGHT_FACTOR) + grown["b"] - margin["b"] + top - margin["t"]
        result["title"]["font"] = {"size": TITLE_FONT_PX}
        result |= {
            "font": {"size": CHART_FONT_PX},
            "hoverlabel": {"font": {"size": CHART_FONT_PX}},
        }
        for slider in result.get("sliders", []):  # a slider sits under the larger axis labels
            pad = slider.get("pad", {})
            slider["pad"] = pad | {"t": round(pad.get("t", 0) * scale)}
            slider["font"] = {"size": CHART_FONT_PX}
        for note in result.get("annotations", []):
            note["font"] = note.get("font", {}) | {"size": CHART_FONT_PX}
    result["title"]["y"] = 1.0 - legend_top / 2 / total
    if legend is not None:
        result["legend"] = legend | {
            "orientation": "v",
            "yref": "container",
            "y": 1.0 - legend_top / total,
            "yanchor": "top",
            "x": 0,
            "xanchor": "left",
        }
        if present:
            result["legend"]["font"] = {"size": CHART_FONT_PX}
    return result | {"margin": grown, "height": total}


# ---- the Plotly template -----------------------------------------------------------------
_template: dict | None = None
_template_source: object = None
# The parts of Streamlit's template layout that these charts use. Its colour scales (sequential,
# diverging, coloraxis) colour only traces that set none, and every chart here sets its own;
# validating them is most of the cost of an explicit template (4-6 ms a figure, benchmarks).
TEMPLATE_LAYOUT_KEYS = ("colorway",)


def template() -> dict:
    """The template every figure sets explicitly (layout.template), built once.

    Streamlit registers a template "streamlit" when it is imported (its frontend swaps the
    placeholder colours in it for the app theme's). Most of it styles trace types these charts
    never draw (candlestick, sankey, table, ...) or colours traces that set no colour; the
    rest (its colorway, its scatter defaults) draws these charts the same and keeps building a
    figure fast. Without Streamlit (tests, exports) the layout part is empty: plotly.js's
    defaults. charts/ never imports Streamlit and never changes Plotly's default template.
    """
    global _template, _template_source
    # TemplatesConfig has no .get()
    source = pio.templates["streamlit"] if "streamlit" in pio.templates else None  # noqa: SIM401
    if _template is None or source is not _template_source:
        scatter = [{"marker": {"line": {"width": 0}}}]
        layout: dict = {}
        if source is not None:
            full = source.to_plotly_json()
            scatter = full.get("data", {}).get("scatter", scatter)
            layout = {k: v for k, v in full.get("layout", {}).items() if k in TEMPLATE_LAYOUT_KEYS}
        _template = {"layout": layout, "data": {"scatter": scatter}}
        _template_source = source
    return _template
