"""Small rendering helpers shared by the pages. User text only ever reaches plain-text
elements (st.text, st.code, dataframes, escaped chart labels), never Markdown or HTML."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

import charts
from ui import live_chart, present


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
    """A Plotly chart with a stable key, its text alternative for screen readers (built with
    the figure, charts.alt_text) and a PNG download named after the chart. Figures are built
    at presentation size by the builders themselves (their `present` parameter); while
    presenting, one taller than a projector's screen is cut to fit (present.fit)."""
    fig = present.fit(fig)
    alt = charts.alt_text(fig) or None
    config = {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename or key, "scale": 2},
    }
    if not live_chart.draw(fig, key, config=config, alt=alt, container=container):
        container.plotly_chart(fig, key=key, alt=alt, config=config)


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
