"""Presentation mode, for a projector: larger type and charts, no editing chrome, and the first
lesson one step at a time. Reachable with the sidebar toggle or the URL parameter ?present=true."""

from __future__ import annotations

import streamlit as st

PRESENT = "ax_present"  # the canonical on/off
W_PRESENT = "w_present"  # the sidebar toggle
PARAM = "present"  # the URL parameter: ?present=true
STEP = "ax_present_step"
CHART_FONT_PX = 18
TITLE_FONT_PX = 24
# Larger type everywhere (Streamlit sizes text in rem) and no sidebar. A constant: no user text.
STYLE = """
<style>
html { font-size: 22px; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] { display: none; }
</style>
"""


def presenting() -> bool:
    return bool(st.session_state.get(PRESENT, False))


def init_from_link() -> None:
    """A new session opened with ?present=true (or 1, yes, on) starts presenting."""
    if PRESENT not in st.session_state:
        value = (st.query_params.get(PARAM) or "").strip().lower()
        st.session_state[PRESENT] = value in ("true", "1", "yes", "on")


def sync_link() -> None:
    """Keep ?present=true in the address bar while presenting, so the link shares it."""
    if presenting():
        st.query_params[PARAM] = "true"
    elif PARAM in st.query_params:
        del st.query_params[PARAM]


def _on_toggle() -> None:
    st.session_state[PRESENT] = st.session_state[W_PRESENT]


def toggle() -> None:
    """The switch, in the sidebar (hidden while presenting: leave with the page's button)."""
    st.session_state[W_PRESENT] = presenting()
    st.toggle(
        "Presentation mode",
        key=W_PRESENT,
        on_change=_on_toggle,
        help="For a projector: larger text and charts, no editing, lesson 1 one step at a "
        "time (Back / Next, or the arrow keys). Also opens with ?present=true in the link.",
    )


def _leave() -> None:
    st.session_state[PRESENT] = False


def banner() -> None:
    """While presenting: the larger style and a way back out (top of every page)."""
    if not presenting():
        return
    st.html(STYLE)
    st.button("Leave presentation mode", on_click=_leave, icon=":material/close_fullscreen:")


def _move(delta: int, count: int) -> None:
    st.session_state[STEP] = min(max(st.session_state.get(STEP, 0) + delta, 0), count - 1)


def step_controls(titles: list[str]) -> int:
    """Back / Next for a lesson shown one step at a time; returns the current step index."""
    count = len(titles)
    current = min(st.session_state.get(STEP, 0), count - 1)
    back, label, forward = st.columns([1, 3, 1], vertical_alignment="center")
    back.button(
        "Back",
        on_click=_move,
        args=(-1, count),
        disabled=current == 0,
        icon=":material/arrow_back:",
        shortcut="Left",
        key="present_back",
        width="stretch",
    )
    label.progress((current + 1) / count, text=f"Step {current + 1} of {count}: {titles[current]}")
    forward.button(
        "Next",
        on_click=_move,
        args=(1, count),
        disabled=current == count - 1,
        icon=":material/arrow_forward:",
        icon_position="right",
        shortcut="Right",
        key="present_next",
        width="stretch",
    )
    return current
