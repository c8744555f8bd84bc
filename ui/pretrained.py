"""The pretrained model for the UI: loaded once per server process, results cached per text."""

from __future__ import annotations

import streamlit as st
import torch

from attention.pretrained import PretrainedModel, load_model
from lessons import lesson5


@st.cache_resource(show_spinner="Loading all-MiniLM-L6-v2 (about 90 MB, from disk)…")
def model() -> PretrainedModel:
    """Shared by every session; never mutated."""
    return load_model()


@st.cache_data(max_entries=64, show_spinner="Running the transformer…")
def lesson5_for(text: str) -> lesson5.Lesson5:
    """Lesson 5's results for `text` (weights (layers, heads, T, T) and summaries); raises
    lessons.validate.InputError."""
    return lesson5.compute(text, model())


@st.cache_data(max_entries=64, show_spinner=False)
def word_embeddings(tokens: tuple[str, ...]) -> torch.Tensor:
    """The model's token-embedding vectors for `tokens`: (T, 384); raises ValueError."""
    from attention.pretrained import embed_words

    return embed_words(list(tokens), model())
