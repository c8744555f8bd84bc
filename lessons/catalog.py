"""The app's pages in lesson order: sidebar links, page titles and the path from one lesson to
the next.

Streamlit discovers the files in pages/ by itself; its own navigation would label the home page
after its file name ("app"), so the sidebar draws these links instead (see
client.showSidebarNavigation in .streamlit/config.toml).
"""

from __future__ import annotations

from typing import NamedTuple


class Page(NamedTuple):
    """One screen: its script, its sidebar label and icon, and its place in the lessons."""

    path: str
    label: str
    icon: str
    title: str  # the browser tab's title, after "Attention Explorer: "
    lesson: int | None = None  # 1..LESSON_COUNT for the numbered lessons
    steps: bool = True  # shown one step at a time while presenting (with its own controls)


PAGE_LIST: tuple[Page, ...] = (
    Page("app.py", "1 · Simple self-attention", ":material/looks_one:", "simple self-attention", 1),
    Page(
        "pages/2_Trainable_weights.py",
        "2 · Trainable weights",
        ":material/looks_two:",
        "trainable weights",
        2,
    ),
    Page(
        "pages/3_Causal_attention.py",
        "3 · Causal attention",
        ":material/looks_3:",
        "causal attention",
        3,
    ),
    Page(
        "pages/4_Multi-head_attention.py",
        "4 · Multi-head attention",
        ":material/looks_4:",
        "multi-head attention",
        4,
    ),
    Page(
        "pages/5_Pretrained_transformer.py",
        "5 · A real transformer",
        ":material/looks_5:",
        "a real transformer",
        5,
    ),
    Page(
        "pages/7_Generating_text.py",
        "6 · Generating text",
        ":material/looks_6:",
        "generating text",
        6,
    ),
    Page("pages/6_Softmax_lab.py", "Softmax lab", ":material/science:", "softmax lab"),
    Page(
        "pages/1_About_attention.py",
        "About attention",
        ":material/menu_book:",
        "about attention",
        steps=False,
    ),
)
PATHS = frozenset(page.path for page in PAGE_LIST)
LESSON_COUNT = sum(page.lesson is not None for page in PAGE_LIST)

# (path, label, icon) of every page, in sidebar order.
PAGES: tuple[tuple[str, str, str], ...] = tuple(page[:3] for page in PAGE_LIST)


def page(path: str) -> Page:
    """The page whose script is `path` (as in PAGE_LIST)."""
    for candidate in PAGE_LIST:
        if candidate.path == path:
            return candidate
    raise KeyError(path)


def lesson(number: int) -> Page:
    """The page of lesson `number` (1-based)."""
    for candidate in PAGE_LIST:
        if candidate.lesson == number:
            return candidate
    raise KeyError(number)


def next_lesson(path: str) -> Page | None:
    """The lesson after the page at `path`, or None after the last lesson and for other pages."""
    number = page(path).lesson
    if number is None or number >= LESSON_COUNT:
        return None
    return lesson(number + 1)
