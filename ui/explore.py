"""Explore like a researcher, lessons 1-4: click a heatmap cell for its arithmetic, compare two
settings side by side, shuffle the tokens. Streamlit only; the numbers and lines come from
lessons.explore, the figures from charts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import streamlit as st
import torch

import charts
from attention.causal import CausalSteps
from attention.multihead import MultiHeadSteps
from attention.trainable import QKVWeights, TrainableSteps
from charts.compare import compare_heatmaps
from charts.heatmaps import with_cell_click
from lessons import explore
from lessons.lesson1 import SHUFFLE_TOL
from lessons.lesson4 import Settings as MultiHeadSettings
from ui import lazy, present
from ui.show import agreement, chart_grid, plot, text_table


def cell_keys(prefix: str) -> tuple[str, str]:
    """The session keys of the chosen query i and key j (0-based): the selects' state."""
    return f"{prefix}_cell_i", f"{prefix}_cell_j"


def _take_click(prefix: str, chart_key: str, T: int, S: int) -> None:
    """A new click on the chart (its selection, read before the chart is drawn) sets the
    query and key selects, so clicking and picking share one state."""
    event = st.session_state.get(chart_key)
    points = []
    if event is not None:
        selection = event.get("selection", {}) if hasattr(event, "get") else {}
        points = [p for p in selection.get("points", []) if p.get("curve_number") == 1]
    last = f"{prefix}_cell_click"
    if not points:
        st.session_state.pop(last, None)
        return
    index = points[-1].get("point_index")
    if index is None or st.session_state.get(last) == index or not 0 <= index < T * S:
        return
    st.session_state[last] = index
    key_i, key_j = cell_keys(prefix)
    st.session_state[key_i], st.session_state[key_j] = divmod(int(index), S)


CELL_LABEL = "Where does a number come from? Click a cell"
CELL_ICON = ":material/calculate:"


def cell_explorer(
    prefix: str,
    matrix: torch.Tensor,
    tokens: Sequence[str],
    explain: Callable[[int, int], explore.CellView],
    *,
    title: str,
    scores: bool = False,
    value_name: str | None = None,
    axes: tuple[str, str] = charts.QK_AXES,
) -> explore.CellView | None:
    """In a closed expander that runs only while open (ui/lazy.py): a (T, T) heatmap whose
    cells can be clicked (or tapped), two selects (query i, key j) for keyboards and phones,
    and the chosen cell's arithmetic, explain(i, j).lines, as plain text. At projector size
    while presenting. The cell's view, or None while closed."""
    box = lazy.section(CELL_LABEL, lazy.opened_key(prefix, "cell"), icon=CELL_ICON)
    if box is None:
        return None
    with box:
        return _cell_explorer(
            prefix, matrix, tokens, explain, title, scores=scores, value_name=value_name, axes=axes
        )


def _cell_explorer(
    prefix: str,
    matrix: torch.Tensor,
    tokens: Sequence[str],
    explain: Callable[[int, int], explore.CellView],
    title: str,
    *,
    scores: bool,
    value_name: str | None,
    axes: tuple[str, str],
) -> explore.CellView:
    presenting = present.presenting()
    T, S = matrix.shape
    key_i, key_j = cell_keys(prefix)
    chart_key = f"{prefix}_cell_chart"
    _take_click(prefix, chart_key, T, S)
    for key, size in ((key_i, T), (key_j, S)):
        if not 0 <= st.session_state.get(key, 0) < size:
            st.session_state[key] = 0
    st.markdown(
        "Click or tap a cell, or pick a query and a key below, to see how that cell is "
        "computed from your numbers."
    )
    cell = (st.session_state.get(key_i, 0), st.session_state.get(key_j, 0))
    figure = charts.attention_heatmap(
        matrix,
        tokens,
        title=title,
        value_name=value_name or ("score ω(i, j)" if scores else "weight a(i, j)"),
        weights=not scores,
        axes=axes,
        present=presenting,
    )
    with_cell_click(figure, cell, present=presenting)
    st.plotly_chart(
        present.fit(figure),
        key=chart_key,
        on_select="rerun",
        selection_mode="points",
        config={"displaylogo": False},
        alt=charts.alt_text(figure) or None,
    )
    labels = [f"{i + 1}: {token}" for i, token in enumerate(tokens)]
    left, right = st.columns(2)
    i = left.selectbox("Query i", list(range(T)), format_func=lambda n: labels[n], key=key_i)
    j = right.selectbox("Key j", list(range(S)), format_func=lambda n: labels[n], key=key_j)
    view = explain(i, j)
    st.code("\n".join(view.lines), language=None, wrap_lines=True)
    return view


def compare(
    prefix: str,
    a: torch.Tensor,
    b: torch.Tensor,
    tokens: Sequence[str],
    titles: Sequence[str],
    *,
    note: str = "",
    value_name: str = "weight",
    weights: bool = True,
) -> None:
    """Two (T, T) matrices side by side on one colour range and their difference a − b,
    inside a closed expander "Compare two settings"."""
    figures = compare_heatmaps(
        a,
        b,
        tokens,
        titles,
        value_name=value_name,
        weights=weights,
        present=present.presenting(),
    )
    if note:
        st.caption(note)
    grid = chart_grid(300)  # two per row on a wide screen, one on a phone
    for figure, name in zip(figures, ("a", "b", "difference"), strict=True):
        plot(figure, key=f"{prefix}_compare_chart_{name}", container=grid)


def shuffle(
    prefix: str,
    lesson: int,
    x: torch.Tensor,
    tokens: Sequence[str],
    run: Callable[[torch.Tensor], NamedTuple],
    *,
    causal: bool = False,
) -> explore.ShuffleCheck | None:
    """A "Shuffle the tokens" button: run the lesson on the tokens in another order and
    compare every output with the original output moved to the new order."""
    flag = f"{prefix}_shuffled"
    if st.button("Shuffle the tokens", key=f"{prefix}_shuffle_button"):
        st.session_state[flag] = not st.session_state.get(flag, False)
    if not st.session_state.get(flag, False):
        st.caption("Press the button to run this lesson on the same tokens in another order.")
        return None
    check = explore.shuffle_check(run, x, explore.TOKEN_DIMS[lesson])
    st.caption("The tokens in the shuffled order (press the button again to hide this):")
    st.code(" ".join(tokens[r] for r in check.order), language=None, wrap_lines=True)
    text_table(
        explore.shuffle_rows(check),
        key=f"{prefix}_shuffle_table",
        helps={
            "difference": "The largest |shuffled output − original output in the new order|.",
            "moved": "yes: the output is the original in the new order, within 1e-6.",
        },
    )
    moved, changed = explore.shuffle_verdict(check, causal)
    if not changed:
        agreement(
            "Check: every output is the original output in the new order",
            check.max_difference,
            tol=SHUFFLE_TOL,
        )
        return check
    order_free = max(check.gaps[n] for n, ok in check.permutes.items() if ok) if moved else 0.0
    if moved:
        agreement(
            "Check: " + ", ".join(moved) + " are the originals in the new order",
            order_free,
            tol=SHUFFLE_TOL,
        )
    if causal:
        st.info(
            "With the causal mask on, "
            + ", ".join(changed)
            + " do NOT just move with the tokens: the mask hides the keys after each "
            "position, so which tokens a query sees depends on the order (the table shows the "
            "differences).",
            icon=":material/info:",
        )
    else:
        agreement(
            "Check: every output is the original output in the new order",
            check.max_difference,
            tol=SHUFFLE_TOL,
        )
    return check


# ---- each lesson's tools, one call from its page -----------------------------------------------

WEIGHTS_TITLE = "Attention weights a(i, j): click a cell"


@st.fragment  # its clicks and widgets rerun only the explorer
def for_lesson1(x: torch.Tensor, tokens: Sequence[str], weights: torch.Tensor) -> None:
    """Lesson 1: the weights A = softmax(X Xᵀ) (T, T) with each cell's arithmetic; not while
    presenting (the step already shows both matrices)."""
    if present.presenting():
        return
    cell_explorer(
        "l1",
        weights,
        tokens,
        lambda i, j: explore.explain_lesson1(x, i, j),
        title=WEIGHTS_TITLE,
        axes=charts.X_AXES,
    )


COMPARE_LABEL = "Compare two settings"
SHUFFLE_LABEL = "Word order: shuffle the tokens"


def _lazy(prefix: str, part: str, label: str, body: Callable[[], None]) -> None:
    """body() inside a closed expander that runs only while open (ui/lazy.py)."""
    box = lazy.section(label, lazy.opened_key(prefix, part))
    if box is not None:
        with box:
            body()


@st.fragment  # its clicks and widgets rerun only the explorer
def for_lesson2(
    x: torch.Tensor, tokens: Sequence[str], weights: QKVWeights, steps: TrainableSteps
) -> None:
    """Lesson 2: the cell explorer, scaled vs unscaled weights, and the shuffle."""
    cell_explorer(
        "l2",
        steps.attn_weights,
        tokens,
        lambda i, j: explore.explain_lesson2(steps, i, j),
        title=WEIGHTS_TITLE,
    )
    _lazy(
        "l2",
        "compare",
        COMPARE_LABEL,
        lambda: compare(
            "l2",
            steps.attn_weights,
            explore.unscaled_weights(steps.attn_scores),
            tokens,
            ("Scaled: softmax(ω / √d_k)", "Unscaled: softmax(ω)", "Scaled − unscaled"),
        ),
    )
    _lazy(
        "l2",
        "shuffle",
        SHUFFLE_LABEL,
        lambda: shuffle("l2", 2, x, tokens, explore.lesson_run(2, weights)),
    )


@st.fragment  # its clicks and widgets rerun only the explorer
def for_lesson3(
    x: torch.Tensor,
    tokens: Sequence[str],
    weights: QKVWeights,
    steps: CausalSteps,
    p: float,
    mask_kept: torch.Tensor,
) -> None:
    """Lesson 3: the cell explorer (mask and dropout included), causal vs not, the shuffle."""
    cell_explorer(
        "l3",
        steps.attn_weights,
        tokens,
        lambda i, j: explore.explain_lesson3(steps, i, j, dropout_p=p, mask_kept=mask_kept),
        title="Causal attention weights a(i, j), before dropout: click a cell",
    )
    _lazy(
        "l3",
        "compare",
        COMPARE_LABEL,
        lambda: compare(
            "l3",
            steps.attn_weights,
            steps.unmasked_weights,
            tokens,
            ("Causal: future set to −∞", "Not causal: no mask", "Causal − not causal"),
        ),
    )
    _lazy(
        "l3",
        "shuffle",
        SHUFFLE_LABEL,
        lambda: shuffle("l3", 3, x, tokens, explore.lesson_run(3, weights), causal=True),
    )


@st.fragment  # its clicks and widgets rerun only the explorer
def for_lesson4(
    x: torch.Tensor, tokens: Sequence[str], settings: MultiHeadSettings, split: MultiHeadSteps
) -> None:
    """Lesson 4: one head's cell explorer (the head picked inside it), head A vs head B, and
    the shuffle."""
    h = split.attn_weights.shape[0]
    name = lambda n: f"Head {n + 1}"  # noqa: E731

    box = lazy.section(CELL_LABEL, lazy.opened_key("l4", "cell"), icon=CELL_ICON)
    if box is not None:
        with box:
            head = st.selectbox("Head", list(range(h)), format_func=name, key="l4_cell_head")
            _cell_explorer(
                "l4",
                split.attn_weights[head],
                tokens,
                lambda i, j: explore.explain_lesson4(split, head, i, j, causal=settings.causal),
                f"Head {head + 1}: a(i, j), click a cell",
                scores=False,
                value_name=None,
                axes=charts.QK_AXES,
            )

    def heads() -> None:
        left, right = st.columns(2)
        a = left.selectbox("Head A", list(range(h)), format_func=name, key="l4_compare_a")
        b = right.selectbox(
            "Head B", list(range(h)), index=min(1, h - 1), format_func=name, key="l4_compare_b"
        )
        compare(
            "l4",
            split.attn_weights[a],
            split.attn_weights[b],
            tokens,
            (name(a), name(b), f"{name(a)} − {name(b)}"),
        )

    _lazy("l4", "compare", COMPARE_LABEL, heads)
    _lazy(
        "l4",
        "shuffle",
        SHUFFLE_LABEL,
        lambda: shuffle(
            "l4", 4, x, tokens, explore.lesson_run(4, settings=settings), causal=settings.causal
        ),
    )
