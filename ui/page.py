"""The frame every lesson page shares: page set-up and sidebar, the title line, the shared
inputs, the export section and the link to the next lesson."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from lessons import catalog, glossary
from lessons.export import LessonData
from ui import inputs, present, state
from ui.export_widgets import export_panel


def start(path: str) -> catalog.Page:
    """Set up the page at `path` (its tab title, wide layout) and draw the shared sidebar."""
    page = catalog.page(path)
    st.set_page_config(page_title=f"Attention Explorer: {page.title}", layout="wide")
    inputs.sidebar(path)
    return page


def glossary_popover() -> None:
    """The glossary of the lessons' words, behind a small button."""
    with st.popover("Glossary", icon=":material/dictionary:"):
        st.markdown(glossary.as_markdown())


def header(page: catalog.Page, title: str, subtitle: str) -> None:
    """The page title, the line under it (which lesson this is, and what it is about) and the
    glossary."""
    where = f"Lesson {page.lesson} of {catalog.LESSON_COUNT}" if page.lesson else page.label
    if present.presenting():  # one short line, so a step's picture fits on a projector
        line, words = st.columns([5, 1], vertical_alignment="center")
        line.markdown(f"**{title}** · {where}")
        with words:
            glossary_popover()
        return
    st.title(title)
    line, words = st.columns([5, 1], vertical_alignment="center")
    line.caption(f"Attention Explorer · {where} · {subtitle}")
    with words:
        glossary_popover()


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
