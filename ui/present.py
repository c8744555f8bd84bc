"""Presentation mode, for a projector (made for 1280 x 720): larger type and charts, no editing
chrome, every lesson one step at a time. Reachable with the sidebar toggle or the URL parameter
?present=true."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from lessons import catalog

PRESENT = "ax_present"  # the canonical on/off
W_PRESENT = "w_present"  # the sidebar toggle
PARAM = "present"  # the URL parameter: ?present=true
STEP = "ax_present_step"  # page path -> that page's current step (each page keeps its own)
PAGE = "ax_page"  # the path of the page being drawn (set by ui.page.start)
# A step's main picture at most this tall (as built at presentation size), so it fits a 720 px
# screen under the controls (about 150 px).
PICTURE_MAX_PX = 560
# Larger type everywhere (Streamlit sizes text in rem), no sidebar, and little space above the
# content, so a step's picture fits a 1280 x 720 screen. A constant: no user text.
STYLE = """
<style>
html { font-size: 20px; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] { display: none; }
[data-testid="stHeader"] { display: none; }
[data-testid="stMainBlockContainer"] { padding-top: 0.5rem; padding-bottom: 1rem; }
h1 { font-size: 1.5rem !important; padding: 0 !important; }
h2 { font-size: 1.3rem !important; padding: 0.2rem 0 !important; }
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
        help="For a projector: larger text and charts, no editing, each lesson one step at a "
        "time (Back / Next, or the arrow keys). Also opens with ?present=true in the link.",
    )


def _leave() -> None:
    st.session_state[PRESENT] = False


def banner() -> None:
    """While presenting: the larger style (top of every page), and a way out. A numbered
    lesson has its way out in its step controls; other pages get the button here."""
    if not presenting():
        return
    st.html(STYLE)
    if _has_banner_leave(st.session_state.get(PAGE, "")):
        leave_button()


def _has_banner_leave(page: str) -> bool:
    """Pages without steps get their Leave button at the top (a page with steps has it in its
    step controls)."""
    return page not in catalog.PATHS or not catalog.page(page).steps


def leave_button() -> None:
    """A small button that ends presentation mode."""
    st.button(
        "Leave",
        on_click=_leave,
        icon=":material/close_fullscreen:",
        key="present_leave",
        help="Leave presentation mode",
        type="tertiary",
    )


def fit(fig: go.Figure) -> go.Figure:
    """While presenting, a copy of `fig` no taller than PICTURE_MAX_PX; otherwise `fig`."""
    if not presenting() or (fig.layout.height or 450) <= PICTURE_MAX_PX:
        return fig
    return go.Figure(fig).update_layout(height=PICTURE_MAX_PX)


def picture_slot():  # -> a Streamlit container, or the streamlit module
    """Where a step's main picture goes: while presenting, a container made here, at the top
    of the step (the text follows it); otherwise `st`, so the picture stays where it is drawn."""
    return st.container() if presenting() else st


def set_page(path: str) -> None:
    """Record which page is being drawn, so each page keeps its own step."""
    st.session_state[PAGE] = path


def current_step(count: int) -> int:
    """This page's step (0-based, within 0..count - 1)."""
    page = st.session_state.get(PAGE, "")
    return min(max(st.session_state.get(STEP, {}).get(page, 0), 0), count - 1)


def _move(page: str, delta: int, count: int) -> None:
    steps = st.session_state.setdefault(STEP, {})
    steps[page] = min(max(steps.get(page, 0) + delta, 0), count - 1)


def step_label(titles: list[str], current: int) -> str:
    """The label of a step, e.g. "Step 2 of 5 · Scores": the title its heading shows."""
    return f"Step {current + 1} of {len(titles)} · {titles[current]}"


def step_controls(titles: list[str]) -> int:
    """One compact row: Back, "Step i of n · title", Next (on the last step: the next
    lesson), Leave. Returns the current step index of this page."""
    count = len(titles)
    page = st.session_state.get(PAGE, "")
    current = current_step(count)
    back, label, forward, leave = st.columns([2, 6, 3, 2], vertical_alignment="center", gap="small")
    back.button(
        "Back",
        on_click=_move,
        args=(page, -1, count),
        disabled=current == 0,
        icon=":material/arrow_back:",
        shortcut="Left",
        key="present_back",
        width="stretch",
    )
    label.markdown(f"**{step_label(titles, current)}**")
    following = catalog.next_lesson(page) if page in catalog.PATHS else None
    if current == count - 1 and following is not None:
        forward.page_link(
            following.path,
            label=f"Lesson {following.lesson}",
            icon=":material/arrow_forward:",
            help=f"Next lesson: {following.label}",
        )
    else:
        forward.button(
            "Next",
            on_click=_move,
            args=(page, 1, count),
            disabled=current == count - 1,
            icon=":material/arrow_forward:",
            icon_position="right",
            shortcut="Right",
            key="present_next",
            width="stretch",
        )
    if not _has_banner_leave(page):
        with leave:
            leave_button()
    return current
