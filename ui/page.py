"""The frame every lesson page shares: page set-up and sidebar, the title line, the shared
inputs, the export section and the link to the next lesson."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import streamlit as st
import torch

import charts
from lessons import catalog, glossary
from lessons.export import LessonData
from ui import inputs, present, server, state
from ui.export_widgets import export_panel
from ui.show import plot

WEIGHT = "weight a(i, j)"  # what a weights heatmap's colour bar, hover and alt text call a cell
SCORE = "score ω(i, j)"  # the same for a scores heatmap


def start(path: str) -> catalog.Page:
    """Set up the page at `path` (its tab title, wide layout) and draw the shared sidebar."""
    page = catalog.page(path)
    st.set_page_config(page_title=f"Attention Explorer: {page.title}", layout="wide")
    state.new_run()
    inputs.sidebar(path)
    server.use_one_torch_thread()
    server.check_figures_only_if_asked()
    server.freeze_long_lived_objects()
    return page


def glossary_popover() -> None:
    """The glossary of the lessons' words, behind a small button."""
    with st.popover("Glossary", icon=":material/dictionary:"):
        st.markdown(glossary.as_markdown())


def _where(page: catalog.Page) -> str:
    return f"Lesson {page.lesson} of {catalog.LESSON_COUNT}" if page.lesson else page.label


def _present_line(page: catalog.Page, title: str, column) -> None:
    """The one short title line of presentation mode."""
    where = _where(page)
    column.markdown(f"**{title}**" if where == title else f"**{title}** · {where}")


def header(page: catalog.Page, title: str, subtitle: str) -> None:
    """The page title, the line under it (which lesson this is, and what it is about) and the
    glossary."""
    if present.presenting():  # one short line, so a step's picture fits on a projector
        line, words = st.columns([5, 1], vertical_alignment="center")
        _present_line(page, title, line)
        with words:
            glossary_popover()
        return
    st.title(title)
    line, words = st.columns([5, 1], vertical_alignment="center")
    line.caption(f"Attention Explorer · {_where(page)} · {subtitle}")
    with words:
        glossary_popover()


class Opening(NamedTuple):
    """What a lesson on the shared tokens starts from: tokens (T), inputs (T, d_in), and the
    container its settings go in."""

    tokens: list[str]
    inputs: torch.Tensor
    settings: Any  # a Streamlit container


def lesson_opening(path: str, title: str, subtitle: str, builds_on: str, source: str) -> Opening:
    """The opening of a lesson on the shared tokens: set-up and sidebar, header, what it builds
    on (Markdown, the app's own text) with its source, and the shared inputs. On a projector
    all of it is one line: the title, then "Builds on", "Settings" and "Glossary" buttons that
    open over the page (no editing of the inputs), so each step starts near the top."""
    info = start(path)
    if present.presenting():
        line, about, settings, words = st.columns([6, 2, 2, 2], vertical_alignment="center")
        _present_line(info, title, line)
        with about.popover("Builds on", icon=":material/history_edu:"):
            st.markdown(builds_on)
            st.caption(source)
        with words:
            glossary_popover()
        box = settings.popover("Settings", icon=":material/tune:")
        return Opening(state.tokens(), state.inputs(), box)
    header(info, title, subtitle)
    st.markdown(builds_on)
    st.caption(source)
    shared_inputs()
    return Opening(state.tokens(), state.inputs(), st.container())


def heatmap(
    matrix: torch.Tensor,
    tokens: Sequence[str],
    title: str,
    key: str,
    *,
    scores: bool = False,
    value_name: str | None = None,
    zrange: tuple[float, float] | str | None = None,
    axes: tuple[str, str] = charts.QK_AXES,
    container=st,
) -> None:
    """A (T, T) heatmap of weights (or of scores if `scores`), cells named WEIGHT or SCORE
    unless `value_name` says otherwise, at presentation size while presenting."""
    figure = charts.attention_heatmap(
        matrix,
        tokens,
        title=title,
        value_name=value_name or (SCORE if scores else WEIGHT),
        weights=not scores,
        zrange=zrange,
        axes=axes,
        present=present.presenting(),
    )
    plot(figure, key=key, container=container)


def heading(title: str) -> None:
    """A step's heading; while presenting, the step controls show the title instead."""
    if not present.presenting():
        st.header(title)


def shared_inputs() -> None:
    """The tokens and embeddings every lesson shares, in a closed expander, editable."""
    T, d_in = state.inputs().shape
    label = f"Tokens and embeddings (T = {T}, d_in = {d_in}; shared with every lesson)"
    with st.expander(label, icon=":material/table_edit:"):
        inputs.embedding_editor()


def steps(titles: list[str]) -> Callable[[int], bool]:
    """The lesson's steps. In presentation mode: Back / Next controls, and a test that is True
    for the current step only; otherwise every step is shown. Use: `show = page.steps([...])`,
    then `if show(0): ...`, `if show(1): ...` in lesson order."""
    if not present.presenting():
        return lambda _index: True
    current = present.step_controls(titles)
    return lambda index: index == current


def export_section(data: LessonData, snippet: str, key_prefix: str) -> None:
    """The "Take the numbers home" section: CSV, JSON and the lesson as PyTorch code."""
    if present.presenting():
        return
    st.header("Take the numbers home")
    export_panel(data, snippet, key_prefix=key_prefix)


def next_lesson(path: str) -> None:
    """A link, in the page itself, to the lesson after this one (if there is one)."""
    following = catalog.next_lesson(path)
    if following is None:
        return
    st.divider()
    st.page_link(
        following.path,
        label=f"Next: lesson {following.label}",
        icon=":material/arrow_forward:",
        width="stretch",
    )
