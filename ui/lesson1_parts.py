"""Lesson 1's page state and one of its pictures: its inputs from the chosen source, the query's
walk-through computed once per run for the parts of the page that show it (each a fragment,
app.py), and the shuffle."""

from __future__ import annotations

import streamlit as st
import torch

import charts
from attention import QueryWalkthrough, query_walkthrough
from lessons import lesson1
from ui import page, pretrained, state
from ui.show import agreement

WALK = "ax_l1_walk"  # (inputs, query, its walk-through): computed once for the parts of a run


def remember_walk(x: torch.Tensor, walk: QueryWalkthrough) -> None:
    """The full run's walk-through of inputs `x` (T, d), for the parts to use."""
    st.session_state[WALK] = (x, walk.query_index, walk)


def query_walk(x: torch.Tensor) -> QueryWalkthrough:
    """The walk-through of the current query on inputs `x` (T, d), the very tensor of the last
    full run: computed once per query, not once per part."""
    q = state.query()
    known = st.session_state.get(WALK)
    if known is not None and known[0] is x and known[1] == q:
        return known[2]
    walk = query_walkthrough(x, q)
    remember_walk(x, walk)
    return walk


def embeddings(tokens: list[str]) -> tuple[torch.Tensor, str]:
    """The lesson's inputs (T, d) from the chosen source, and that source."""
    if st.session_state.get("w_embedding_source") == "model":
        try:
            return pretrained.word_embeddings(tuple(tokens)), "model"  # (T, 384)
        except ValueError as error:
            st.error(f"{error} Showing the hand-made vectors instead.", icon=":material/error:")
    return state.inputs(), "hand-made"


def shuffled(lesson: lesson1.Lesson1, slot) -> None:
    """The tokens shuffled, their weights heatmap (in `slot`) and the check."""
    shuffle = lesson.shuffle
    st.markdown(lesson1.SHUFFLE_TEXT)
    st.code(lesson1.shuffled_tokens_line(shuffle), language=None, wrap_lines=True)
    title = "Attention weights A, tokens shuffled"
    page.heatmap(
        shuffle.steps.attn_weights,
        shuffle.tokens,
        title,
        "shuffled_weights_heatmap",
        scores=False,
        axes=charts.X_AXES,
        container=slot,
    )
    agreement(
        "Check: every shuffled output is the original output in the new order",
        shuffle.max_difference,
        tol=lesson1.SHUFFLE_TOL,
    )
