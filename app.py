"""Attention Explorer, lesson 1: simple self-attention, step by step (the home page)."""

from __future__ import annotations

import streamlit as st
import torch

import charts
from attention import AttentionSteps, QueryWalkthrough
from lessons import lesson1
from ui import explore, inputs, lazy, lesson1_parts, page, present, quiz, state
from ui.present import presenting
from ui.show import agreement, matrix_frame, plot, table

PATH = "app.py"
SOURCES = {"hand-made": "Hand-made vectors", "model": "A real model's token embeddings"}
STEPS = ["Tokens as vectors", "Scores", "Weights", "Context vector", "All tokens at once", "Order"]
# The parts of the page that show the query (each a fragment): a query change reruns only these.
QUERY_PARTS = ("l1_scores", "l1_weights", "l1_context", "l1_rows")


def section_inputs(x: torch.Tensor, source: str, tokens: list[str], dims: list[str]) -> slice:
    """The tokens as vectors (editable when hand-made); returns which dimensions tables show."""
    T, d = x.shape
    page.heading(STEPS[0])
    if not present.presenting():
        st.segmented_control(
            "Embedding source",
            list(SOURCES),
            format_func=SOURCES.get,
            default="hand-made",
            required=True,
            key="w_embedding_source",
            persist_state="session",
        )
    st.markdown(f"Each of the **T = {T}** tokens is a vector **x(i)** of **d = {d}** numbers.")
    if source == "hand-made" and not present.presenting():
        st.caption(lesson1.EDITOR_NOTE)
        inputs.embedding_editor()
        return slice(None)
    if source == "model":
        st.caption(lesson1.MODEL_NOTE)
    first = 1
    if d > 8 and not present.presenting():
        first = int(st.number_input("Show 8 dimensions starting at", 1, d - 7, key="w_model_dims"))
    shown = slice(first - 1, first + 7)
    table(matrix_frame(x[:, shown], tokens, dims[shown]), key="inputs_table")
    return shown


def section_scores(walk: QueryWalkthrough, tokens: list[str], x: torch.Tensor, slot) -> None:
    st.markdown(lesson1.SCORES_TEXT)
    ask = lesson1.prediction(walk)
    inputs_id = quiz.inputs_id(tokens, x, walk.query_index)
    quiz.ask("l1_top_score", inputs_id, ask, "tokens, vectors or query")
    figure = charts.scores_bar(walk.attn_scores, tokens, walk.query_index, present=presenting())
    plot(figure, key="query_scores_bar", container=slot)
    st.info(lesson1.highest_score_note(x, walk), icon=":material/lightbulb:")
    st.caption("The dot products, term by term:")
    st.code("\n".join(lesson1.score_lines(tokens, walk)), language=None, wrap_lines=True)


def section_weights(tokens: list[str], x: torch.Tensor) -> None:
    slot = present.picture_slot()
    page.heading(STEPS[2])
    st.markdown(lesson1.WEIGHTS_TEXT)
    st.page_link("pages/6_Softmax_lab.py", label=lesson1.LAB_LINK, icon=":material/science:")
    query_weights(tokens, x, slot)


@state.part("l1_weights")
def query_weights(tokens: list[str], x: torch.Tensor, slot) -> None:
    """The query's weights by each method: chart (into `slot`), table, sums and warnings (a
    part: a query change reruns it; a page link cannot be in a part)."""
    walk = lesson1_parts.query_walk(x)
    by_method = {method: n.weights for method, n in walk.normalized.items()}
    figure = charts.weights_grouped_bar(by_method, tokens, walk.query_index, present=presenting())
    plot(figure, key="query_weights_bars", container=slot)
    frame = matrix_frame(lesson1.weights_table(walk), tokens, lesson1.WEIGHT_COLUMNS)
    table(frame, key="query_weights_table")
    st.caption(lesson1.weight_sums_text(walk))
    for warning in lesson1.weight_warnings(walk):
        st.warning(warning, icon=":material/warning:")
    st.info(lesson1.WHY_SOFTMAX_TEXT + " " + lesson1.rounding_text(), icon=":material/lightbulb:")


@state.part("l1_scores")
def section_query(tokens: list[str], x: torch.Tensor) -> None:
    """Step 1 for the query: the query picker and its scores (a part: a query change reruns
    the parts that show the query, not the page)."""
    page.heading(STEPS[1])
    slot = present.picture_slot()
    inputs.query_picker("Query token i", QUERY_PARTS)
    section_scores(lesson1_parts.query_walk(x), tokens, x, slot)


@state.part("l1_context")
def section_context(tokens: list[str], x: torch.Tensor) -> None:
    """Step 3, the query's context vector and its picture (a part: the query and the 3-D
    toggle rerun only this)."""
    walk, slot = lesson1_parts.query_walk(x), present.picture_slot()
    page.heading(STEPS[3])
    st.markdown(lesson1.CONTEXT_TEXT)
    st.code(lesson1.weighted_sum_text(tokens, x, walk), language=None, wrap_lines=True)
    three_d = x.shape[1] == 3 and st.toggle(
        "Draw in 3-D (drag to turn it)", key="w_vectors_3d", persist_state="session"
    )
    view = lesson1.vector_view(x, walk, three_d)
    st.caption(view.caption)
    figure = charts.vectors_figure(
        view.points,
        tokens,
        view.context,
        walk.query_index,
        title=view.title,
        axis_titles=view.axis_titles,
        from_origin=view.from_origin,
        present=presenting(),
    )
    plot(figure, key="vectors_plot", container=slot)


def heatmap(matrix: torch.Tensor, tokens: list[str], title: str, key: str, scores: bool, where):
    """A (T, T) heatmap of scores or weights, rows and columns labelled by the tokens."""
    page.heatmap(matrix, tokens, title, key, scores=scores, axes=charts.X_AXES, container=where)


def section_matrices(
    lesson: lesson1.Lesson1, tokens: list[str], dims: list[str], shown: slice, x: torch.Tensor
) -> None:
    steps, slot = lesson.steps, present.picture_slot()
    page.heading(STEPS[4])
    st.markdown(lesson1.LOOP_TEXT)
    st.code(lesson1.SCORES_CODE, language="python", wrap_lines=True)
    agreement("Check: the double loop and X Xᵀ give the same scores", lesson.loop_difference)
    left, right = slot.columns(2)
    heatmap(steps.attn_scores, tokens, "Attention scores Ω = X Xᵀ", "scores_heatmap", True, left)
    title = "Attention weights A = softmax(Ω)"
    heatmap(steps.attn_weights, tokens, title, "weights_heatmap", False, right)
    if len(tokens) > charts.MAX_CELL_TEXT:
        st.caption(lesson1.hover_note(charts.MAX_CELL_TEXT))
    st.markdown(lesson1.symmetry_text(lesson.asymmetry))
    explore.for_lesson1(x, tokens, steps.attn_weights)
    st.subheader("Context vectors Z = A X")
    table(
        matrix_frame(steps.context_vecs[:, shown], tokens, [f"z {c}" for c in dims[shown]]),
        key="context_table",
    )
    query_rows(tokens, x, steps)


@state.part("l1_rows")
def query_rows(tokens: list[str], x: torch.Tensor, steps: AttentionSteps) -> None:
    """The query's row of Z checked against step 3, and every query's row of A as bars, the
    query's first."""
    walk = lesson1_parts.query_walk(x)
    q = walk.query_index
    difference = float((steps.context_vecs[q] - walk.context_vec).abs().max())
    agreement(f"Check: row {q + 1} of Z equals the step-by-step z({q + 1}) above", difference)
    if len(tokens) > charts.MAX_CELL_TEXT or present.presenting():
        return
    box = lazy.section(
        lesson1.ROWS_LABEL, lazy.opened_key("l1", "rows"), icon=":material/bar_chart:"
    )
    if box is not None:
        box.markdown(
            "Drag the slider under the chart to step through the queries. The query's own bar "
            "is the orange, hatched one."
        )
        plot(
            charts.weights_by_query(steps.attn_weights, tokens, q, present=presenting()),
            key="weights_by_query",
            container=box,
        )


def section_order(lesson: lesson1.Lesson1, tokens: list[str]) -> None:
    """The shuffle; outside presentation mode in a closed section that runs only while open."""
    page.heading(STEPS[5])
    if present.presenting():
        lesson1_parts.shuffled(lesson, present.picture_slot())
    elif box := lazy.section(explore.SHUFFLE_LABEL, lazy.opened_key("l1", "shuffle")):
        with box:
            lesson1_parts.shuffled(lesson, st)
    st.markdown(lesson1.ORDER_TEXT)
    st.page_link(
        "pages/5_Pretrained_transformer.py", label=lesson1.LESSON5_LINK, icon=":material/looks_5:"
    )


info = page.start(PATH)
page.header(info, "Simple self-attention", "no trainable weights yet")
tokens = state.tokens()
if not present.presenting():
    st.markdown(lesson1.INTRO_TEXT)
    st.caption(lesson1.SOURCE_TEXT)
    st.page_link(
        "pages/1_About_attention.py", label=lesson1.ABOUT_LINK, icon=":material/menu_book:"
    )
x, source = lesson1_parts.embeddings(tokens)  # (T, d)
dims = [f"dim {j + 1}" for j in range(x.shape[1])]
show = page.steps(STEPS)
shown = section_inputs(x, source, tokens, dims) if show(0) else slice(0, 8)
lesson = lesson1.compute(tokens, x, state.query())
lesson1_parts.remember_walk(x, lesson.walk)
if show(1):
    section_query(tokens, x)
if show(2):
    section_weights(tokens, x)
if show(3):
    section_context(tokens, x)
if show(4):
    section_matrices(lesson, tokens, dims, shown, x)
if show(5):
    section_order(lesson, tokens)
data = lesson1.lesson1_data(tokens, x, lesson.steps)
page.export_section(data, lesson1.pytorch_script(data), "l1")
page.next_lesson(PATH)
