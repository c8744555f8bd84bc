"""Predict, then reveal: a question the student answers before the page shows the answer."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

REVEALED = "ax_revealed"  # question id -> the inputs its answer was revealed for


def _reveal(question: str, inputs_id: Hashable) -> None:
    st.session_state.setdefault(REVEALED, {})[question] = inputs_id


def ask(
    question: str,
    inputs_id: Hashable,
    prompt: str,
    options: list,
    format_func: Callable[[Any], str],
    right: set,
    answer: str,
    explanation: str,
    inputs_name: str = "inputs",
) -> None:
    """A radio with nothing preselected, a Reveal button, and the computed answer once it is
    revealed for `inputs_id` (new inputs hide it again)."""
    with st.container(border=True):
        choice = st.radio(
            prompt,
            options,
            index=None,
            format_func=format_func,
            key=f"w_predict_{question}_{len(options)}",
            persist_state="session",
        )
        st.button(
            "Reveal",
            key=f"w_reveal_{question}",
            on_click=_reveal,
            args=(question, inputs_id),
            disabled=choice is None,
            help="Pick your prediction first." if choice is None else None,
            icon=":material/visibility:",
        )
        revealed_for = st.session_state.get(REVEALED, {}).get(question)
        if revealed_for == inputs_id:
            if choice is None:
                st.info(f"The answer: {answer}", icon=":material/info:")
            elif choice in right:
                st.success(f"Right, {answer}", icon=":material/check_circle:")
            else:
                st.info(
                    f"Not quite: you picked “{format_func(choice)}”, but {answer}",
                    icon=":material/info:",
                )
            st.markdown(explanation)
        elif revealed_for is not None:
            st.caption(f"The {inputs_name} changed since you revealed the answer: predict again.")
