"""Lesson settings shared by the trainable-weight lessons: d_out, a seed, the three weight
matrices W_query, W_key, W_value in editable tables, and lesson 4's head settings."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
import torch

from attention.trainable import QKVWeights, VarianceCurve, variance_curve
from lessons import lesson2, lesson4
from ui import state
from ui.inputs import matrix_editor

NAMES = QKVWeights._fields  # ("W_query", "W_key", "W_value")
MAX_D_OUT = 8


def d_out_and_seed(prefix: str, default_seed: int, default_d_out: int = 2) -> tuple[int, int]:
    """Two number inputs, side by side, remembered for the whole session."""
    left, right = st.columns(2)
    d_out = left.number_input(
        "d_out (size of each query, key and value)",
        min_value=1,
        max_value=MAX_D_OUT,
        value=default_d_out,
        step=1,
        key=f"{prefix}_d_out",
        persist_state="session",
        bind="query-params",
    )
    return int(d_out), seed_input(right, prefix, default_seed)


def seed_input(container, prefix: str, default_seed: int) -> int:
    """The seed of a lesson's weights, remembered for the session and kept in the link."""
    return int(
        container.number_input(
            "Random seed for the weights",
            min_value=0,
            max_value=2**31 - 1,
            value=default_seed,
            step=1,
            key=f"{prefix}_seed",
            persist_state="session",
            bind="query-params",
            help=f"The book uses {default_seed}. Another seed draws other weights.",
        )
    )


def _count_input(container, label: str, key: str, value: int, max_value: int) -> int:
    return int(
        container.number_input(
            label,
            min_value=1,
            max_value=max_value,
            value=value,
            step=1,
            key=key,
            persist_state="session",
            bind="query-params",
        )
    )


def multihead_settings() -> lesson4.Settings:
    """Lesson 4's settings: num_heads, head_dim, the seed and the causal mask, in one row."""
    c1, c2, c3, c4 = st.columns(4)
    num_heads = _count_input(
        c1, "num_heads", "l4_heads", lesson4.DEFAULT_NUM_HEADS, lesson4.MAX_NUM_HEADS
    )
    head_dim = _count_input(
        c2, "head_dim", "l4_head_dim", lesson4.DEFAULT_HEAD_DIM, lesson4.MAX_HEAD_DIM
    )
    seed = seed_input(c3, "l4", lesson4.DEFAULT_SEED)
    causal = c4.toggle(
        "Causal mask",
        value=lesson4.DEFAULT_CAUSAL,
        key="l4_causal",
        persist_state="session",
        bind="query-params",
    )
    return lesson4.Settings(num_heads, head_dim, seed, bool(causal))


def qkv_weights(
    prefix: str, init: Callable[[int, int, int], QKVWeights], d_out: int, seed: int
) -> QKVWeights:
    """The lesson's current weights: drawn with `init(d_in, d_out, seed)` when d_in, d_out or
    the seed changes, otherwise as the user last edited them. Each (d_in, d_out)."""
    params = (state.dim(), d_out, seed)
    key = f"ax_{prefix}_params"
    previous = st.session_state.get(key)
    if previous != params:
        drawn = init(*params)
        for name, matrix in zip(NAMES, drawn, strict=True):
            rows = matrix.tolist()
            st.session_state[f"ax_{prefix}_{name}"] = rows
            state.new_editor(f"{prefix}_{name}", rows)
        st.session_state[key] = params
        if previous is not None and previous[0] != params[0]:
            st.session_state[f"ax_{prefix}_note"] = (
                f"The embedding dimension changed from {previous[0]} to {params[0]}, so "
                f"W_query, W_key and W_value no longer fit and were drawn again (seed {seed})."
            )
        else:
            st.session_state.pop(f"ax_{prefix}_note", None)
    return QKVWeights(*(torch.tensor(st.session_state[f"ax_{prefix}_{name}"]) for name in NAMES))


def weight_editors(prefix: str) -> None:
    """W_query, W_key, W_value as editable tables, one tab each."""
    if f"ax_{prefix}_note" in st.session_state:
        st.info(st.session_state[f"ax_{prefix}_note"], icon=":material/info:")
    rows = [f"dim {i + 1}" for i in range(state.dim())]
    d_out = len(st.session_state[f"ax_{prefix}_{NAMES[0]}"][0])
    columns = [f"out {j + 1}" for j in range(d_out)]
    for tab, name in zip(st.tabs(list(NAMES)), NAMES, strict=True):
        with tab:
            matrix_editor(
                f"{prefix}_{name}",
                f"ax_{prefix}_{name}",
                rows,
                columns,
                label_column="input",
                label_help="One row per embedding dimension (d_in rows)",
            )


@st.cache_data(max_entries=32, show_spinner=False)
def variance_curve_for(seed: int) -> VarianceCurve:
    """Lesson 2's why-scale experiment: the same for a seed, so computed once per seed."""
    return variance_curve(lesson2.VARIANCE_D_KS, samples=lesson2.VARIANCE_SAMPLES, seed=seed)
