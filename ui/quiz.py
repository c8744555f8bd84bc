"""Predict, then reveal: a question the student answers before the page shows the answer."""

from __future__ import annotations

from collections.abc import Hashable

import streamlit as st
import torch

from lessons.question import Question

REVEALED = "ax_revealed"  # question id -> the inputs its answer was revealed for


def inputs_id(*parts: object) -> tuple:
    """What an answer depends on, as one hashable value: tensors as (shape, values), lists as
    tuples, anything else as it is."""
    return tuple(
        (tuple(part.shape), tuple(part.flatten().tolist()))
        if isinstance(part, torch.Tensor)
        else tuple(part)
        if isinstance(part, list)
        else part
        for part in parts
    )


def _reveal(question: str, inputs_id: Hashable) -> None:
    st.session_state.setdefault(REVEALED, {})[question] = inputs_id


def ask(question_id: str, inputs_id: Hashable, question: Question, inputs_name: str) -> None:
    """The question as a radio with nothing preselected and a Reveal button; once revealed for
    `inputs_id`, the computed answer (new inputs, named `inputs_name`, hide it again)."""
    options = list(question.options)
    with st.container(border=True):
        choice = st.radio(
            question.prompt,
            options,
            index=None,
            format_func=question.options.__getitem__,
            key=f"w_predict_{question_id}_{len(options)}",
            persist_state="session",
        )
        st.button(
            "Reveal",
            key=f"w_reveal_{question_id}",
            on_click=_reveal,
            args=(question_id, inputs_id),
            disabled=choice is None,
            help="Pick your prediction first." if choice is None else None,
            icon=":material/visibility:",
        )
        revealed_for = st.session_state.get(REVEALED, {}).get(question_id)
        if revealed_for == inputs_id:
            answer = question.answer
            if choice is None:
                st.info(f"The answer: {answer}", icon=":material/info:")
            elif choice in question.right:
                st.success(f"Right, {answer}", icon=":material/check_circle:")
            else:
                picked = question.options[choice]
                st.info(f"Not quite: you picked “{picked}”, but {answer}", icon=":material/info:")
            st.markdown(question.explanation)
        elif revealed_for is not None:
            st.caption(f"The {inputs_name} changed since you revealed the answer: predict again.")
