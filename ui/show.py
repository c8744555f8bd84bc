"""Small rendering helpers shared by the pages. User text only ever reaches plain-text
elements (st.text, st.code, dataframes, escaped chart labels), never Markdown or HTML."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st
import torch

from ui import present

# Streamlit registers its Plotly template "streamlit" and makes it the default. Every figure
# gets a deep copy of the default template when it is built and again when it is sent, and
# most of that template styles trace types these lessons never draw (candlestick, sankey,
# table, ...). The same layout with only the scatter defaults draws our charts the same and
# builds and sends a figure 2 to 3 times faster (benchmarks/bench_rerun.py). Heatmaps and bars
# set their own colours, so they need no trace defaults.
_streamlit = pio.templates["streamlit"]
pio.templates["attention_explorer"] = go.layout.Template(
    layout=_streamlit.layout, data={"scatter": _streamlit.data.scatter}
)
pio.templates.default = "attention_explorer"


def side_by_side(n: int) -> list:
    """n columns for charts on a screen; in presentation mode n containers one under the
    other, so charts with projector-size text keep room for their cells."""
    if present.presenting():
        return [st.container() for _ in range(n)]
    return list(st.columns(n))


def chart_grid(min_column_width: int):  # -> a Streamlit grid container
    """A responsive grid of charts; in presentation mode each cell is twice as wide."""
    scale = 2 if present.presenting() else 1
    return st.grid("auto", min_column_width=min_column_width * scale)


def plot(fig: go.Figure, key: str, filename: str | None = None, container=st) -> None:
    """A Plotly chart with a stable key and a PNG download named after the chart.

    In presentation mode every text in the chart is at least 18 px and the chart is taller."""
    if present.presenting():
        fig = go.Figure(fig)  # a copy: the caller's figure stays as built
        fig.update_layout(
            font={"size": present.CHART_FONT_PX},
            title_font_size=present.TITLE_FONT_PX,
            hoverlabel_font_size=present.CHART_FONT_PX,
            legend_font_size=present.CHART_FONT_PX,
            height=round((fig.layout.height or 450) * 1.3),
        )
        # Margins sized for 12 px tick labels (charts._margins) grow with the font, and the
        # chart grows by as much, so the plot area keeps its size.
        grow = present.CHART_FONT_PX / 12
        margin = fig.layout.margin
        old = {"l": margin.l or 80, "b": margin.b or 80, "t": margin.t or 100}
        new = {side: round(px * grow) for side, px in old.items()}
        fig.update_layout(
            margin=new, height=fig.layout.height + new["b"] - old["b"] + new["t"] - old["t"]
        )
        for slider in fig.layout.sliders:  # a slider sits under the (now larger) axis labels
            slider.pad.t = round((slider.pad.t or 0) * grow)
            slider.font.size = present.CHART_FONT_PX
        fig.update_annotations(font_size=present.CHART_FONT_PX)
        size = present.CHART_FONT_PX  # the Streamlit theme sets smaller ticks: override them
        fig.update_xaxes(tickfont_size=size, title_font_size=size)
        fig.update_yaxes(tickfont_size=size, title_font_size=size)
        fig.update_scenes(
            xaxis_tickfont_size=size, yaxis_tickfont_size=size, zaxis_tickfont_size=size
        )
        fig.update_traces(textfont_size=size, selector={"type": "bar"})
        fig.update_traces(
            colorbar_tickfont_size=size, textfont_size=size, selector={"type": "heatmap"}
        )
    container.plotly_chart(
        fig,
        key=key,
        config={
            "displaylogo": False,
            "toImageButtonOptions": {"format": "png", "filename": filename or key, "scale": 2},
        },
    )


AGREE_TOL = 1e-5  # two float32 computations of the same numbers "agree" within this


def agreement(claim: str, difference: float, tol: float = AGREE_TOL) -> None:
    """Show `claim` as a passed check when `difference` is within `tol`, else as a failed one."""
    detail = f"largest difference {difference:.1e}"
    if difference <= tol:
        st.success(f"{claim} ({detail}).", icon=":material/check_circle:")
    else:
        st.error(f"Expected: {claim}, but the {detail} exceeds {tol:.0e}.", icon=":material/error:")


def matrix_frame(
    matrix: torch.Tensor, row_tokens: Sequence[str], columns: Sequence[str]
) -> pd.DataFrame:
    """A table with a token column first, then one numeric column per entry of `columns`."""
    frame = pd.DataFrame(matrix.detach().double().tolist(), columns=list(columns))
    frame.insert(0, "token", list(row_tokens))
    return frame


def table(frame: pd.DataFrame, key: str, decimals: int = 4) -> None:
    """A read-only table with numbers at fixed decimals and tokens as plain text."""
    column_config = {
        column: st.column_config.NumberColumn(column, format=f"%.{decimals}f")
        for column in frame.columns
        if pd.api.types.is_numeric_dtype(frame[column])
    }
    st.dataframe(frame, key=key, hide_index=True, column_config=column_config)


def text_table(
    columns: dict[str, list[str]], key: str, helps: dict[str, str] | None = None
) -> None:
    """A read-only table of number texts, right-aligned like numbers; `helps` gives a column
    header a tooltip."""
    helps = helps or {}
    frame = pd.DataFrame(columns)
    config = {
        name: st.column_config.TextColumn(name, alignment="right", help=helps.get(name))
        for name in list(columns)[1:]
    }
    height = 35 * (len(frame) + 1) + 3  # every row, no inner scrolling
    st.dataframe(frame, key=key, hide_index=True, column_config=config, height=height)
