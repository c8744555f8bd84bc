"""Lesson 5: the same attention inside a real pretrained transformer, computed offline. The
logic and the words are in lessons/lesson5.py; this page only draws them."""

from __future__ import annotations

import streamlit as st
import torch

import charts
from lessons import lesson5
from lessons.validate import InputError
from ui import lesson5_explore, page, present, pretrained, quiz
from ui.present import presenting
from ui.show import plot, side_by_side

PATH = "pages/5_Pretrained_transformer.py"
TEXT, ERROR = "ax_l5_text", "ax_l5_error"  # canonical: the last sentence that worked
W_TEXT, W_LAYER = "w_l5_text", "w_l5_layer"


def on_text_change() -> None:
    text = st.session_state[W_TEXT]
    try:
        lesson5.check_sentence(text, pretrained.model())
    except InputError as error:
        st.session_state[ERROR] = str(error)
        return
    st.session_state.pop(ERROR, None)
    st.session_state[TEXT] = text


def layer_picker(L: int) -> int:
    """One layer of the model, picked with big buttons (readable on a projector)."""
    choice = st.segmented_control(
        "Layer",
        list(range(L)),
        format_func=lambda i: f"Layer {i + 1}",
        default=0,
        required=True,
        key=W_LAYER,
        persist_state="session",
    )
    return int(choice or 0)


def head_row(weights, layer: int, heads: range):
    """head_grid for some heads of one layer. The builder numbers rows and columns from 1, so
    the picked layer and heads are written on its axes here."""
    grid = charts.head_grid(
        weights[layer : layer + 1, heads.start : heads.stop], present=presenting()
    )  # (1, n, T, T)
    grid.update_layout(
        title_text=f"Layer {layer + 1}, heads {heads.start + 1} to {heads.stop}",
        xaxis_ticktext=[str(i + 1) for i in heads],
        yaxis_ticktext=[str(layer + 1)],
        height=300,
    )
    return grid


@st.fragment
def head_step(weights: torch.Tensor, tokens: list[str], layer: int, pick_layer: bool) -> None:
    """Step 4: one head's weights as a heatmap, one query's row as bars and as lines. A
    fragment: picking another head or query reruns only this step. weights (L, h, T, T)."""
    L, h, T, _ = weights.shape
    columns = st.columns(3)
    with columns[0]:
        if pick_layer:  # step 3 (and its layer picker) is not on screen
            layer = layer_picker(L)
        else:
            st.caption(f"Layer {layer + 1}, picked above.")
    head = columns[1].selectbox(
        "Head", list(range(h)), format_func=lambda i: f"Head {i + 1}", key="w_l5_head"
    )
    query = columns[2].selectbox(
        "Query token",
        list(range(T)),
        format_func=lambda i: f"{i + 1}: {tokens[i]}",
        key="w_l5_query",
    )
    page.heatmap(
        weights[layer, head],
        tokens,
        f"Layer {layer + 1}, head {head + 1}: attention weights a(i, j)",
        "l5_head_heatmap",
    )
    left, right = side_by_side(2)
    with left:
        plot(
            charts.weights_bar(weights[layer, head, query], tokens, query, present=presenting()),
            key="l5_query_bar",
        )
    with right:
        plot(
            charts.attention_lines(
                weights[layer, head],
                tokens,
                query,
                title=f"Layer {layer + 1}, head {head + 1} as lines",
                present=presenting(),
            ),
            key="l5_lines",
        )


info = page.start(PATH)
st.session_state.setdefault(TEXT, lesson5.DEFAULT_TEXT)
st.session_state.setdefault(W_TEXT, st.session_state[TEXT])
page.header(info, "Attention in a real transformer", "all-MiniLM-L6-v2, computed on this server")
STEPS = lesson5.STEP_TITLES + lesson5_explore.lx.STEP_TITLES
show = page.steps(STEPS)
if show(0):
    st.markdown(lesson5.BUILDS_ON)
result = pretrained.lesson5_for(st.session_state[TEXT])
tokens, weights = result.tokens, result.weights  # weights (L, h, T, T)
L, h, T, _ = weights.shape

if show(0):
    page.heading(STEPS[0])
    st.markdown(lesson5.ABOUT_MODEL)
    st.text_input(
        "A sentence (press Enter)",
        key=W_TEXT,
        on_change=on_text_change,
        persist_state="session",
        help=f"At most {lesson5.MAX_PRETRAINED_TOKENS} WordPiece tokens, counting [CLS] and [SEP].",
    )
    if ERROR in st.session_state:
        st.error(st.session_state[ERROR], icon=":material/error:")
        st.caption("Still showing the last sentence that worked.")
    st.subheader(f"The {T} WordPiece tokens")
    st.code(" · ".join(tokens), language=None, wrap_lines=True)
    st.markdown(lesson5.TOKENS_EXPLAINED)

if show(1):
    page.heading(STEPS[1])
    st.markdown(lesson5.comparison_markdown())
    st.markdown(lesson5.no_mask_sentence(result, 0))
    st.subheader("Word order")
    st.markdown(lesson5.order_sentence(result))

layer = int(st.session_state.get(W_LAYER) or 0)  # kept while the picker is hidden
if show(2):
    page.heading(STEPS[2])
    layer = layer_picker(L)
    half = h // 2  # two rows of six: squares twice as large as in one row of twelve
    for key, heads in (("l5_head_grid", range(half)), ("l5_head_grid_2", range(half, h))):
        plot(head_row(weights, layer, heads), key=key)
    st.caption(
        "Each square is one head's weights: query tokens down, key tokens across, brighter = "
        "more weight (0 to 1). Every row of a square adds up to 1. Pick a head below to read "
        "its numbers."
    )
    if not present.presenting():
        with st.expander(f"All {L} layers at once ({L * h} heads)"):
            plot(charts.head_grid(weights, present=presenting()), key="l5_all_heads")

if show(3):
    page.heading(STEPS[3])
    head_step(weights, tokens, layer, pick_layer=not show(2))

if show(4):
    page.heading(STEPS[4])
    question = lesson5.most_attended_question(result, layer)
    quiz.ask(
        "l5_most_attended",
        (st.session_state[TEXT], layer),
        question,
        "sentence or layer",
    )
    st.markdown(lesson5.PATTERNS)
    st.markdown(lesson5.resting_sentence(result))
    st.markdown(lesson5.CAVEATS)

lesson5_explore.render(st.session_state[TEXT], show, len(lesson5.STEP_TITLES))
page.next_lesson(PATH)
