"""The pretrained model for the UI: loaded once per server process, results cached per text."""

from __future__ import annotations

import streamlit as st
import torch

from attention.pretrained import PretrainedModel, load_model, pretrained_attention


@st.cache_resource(show_spinner="Loading all-MiniLM-L6-v2 (about 90 MB, from disk)…")
def model() -> PretrainedModel:
    """Shared by every session; never mutated."""
    return load_model()


@st.cache_data(max_entries=64, show_spinner="Running the transformer…")
def attention_for(text: str) -> tuple[list[str], torch.Tensor]:
    """(WordPiece tokens, weights (layers, heads, T, T)) for `text`; raises ValueError."""
    result = pretrained_attention(text, model())
    return result.tokens, result.weights


@st.cache_data(max_entries=64, show_spinner=False)
def word_embeddings(tokens: tuple[str, ...]) -> torch.Tensor:
    """The model's token-embedding vectors for `tokens`: (T, 384); raises ValueError."""
    from attention.pretrained import embed_words

    return embed_words(list(tokens), model())
