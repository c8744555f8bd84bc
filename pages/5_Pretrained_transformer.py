"""Lesson 5: the same attention inside a real pretrained transformer, computed offline."""

from __future__ import annotations

import streamlit as st

import charts
from attention.pretrained import MAX_PRETRAINED_TOKENS, MODEL_NAME
from ui import inputs, pretrained
from ui.show import plot, side_by_side

DEFAULT_TEXT = "The attention mechanism drives contextual embeddings."
TEXT, W_TEXT = "ax_l5_text", "w_l5_text"

st.set_page_config(page_title="Attention Explorer: a real transformer", layout="wide")
inputs.sidebar()

st.title("Attention in a real transformer")
st.caption("Attention Explorer · Lesson 5 of 5 · all-MiniLM-L6-v2, computed on this server")
st.markdown(
    f"**{MODEL_NAME}** is a small pretrained language model (a BERT-style encoder): 6 layers, "
    "each with 12 attention heads over 384-dimensional token vectors. Its weights ship inside a "
    "Python package, so nothing is downloaded. The forward pass here is the project's own code, "
    "and each layer's attention is the `multi_head_attention` function of lesson 4, running on "
    "the model's real W_query, W_key, W_value and output projection."
)


def on_text_change() -> None:
    text = st.session_state[W_TEXT]
    try:
        pretrained.attention_for(text)
    except ValueError as error:
        st.session_state["ax_l5_error"] = str(error)
        return
    st.session_state.pop("ax_l5_error", None)
    st.session_state[TEXT] = text


st.session_state.setdefault(TEXT, DEFAULT_TEXT)
st.session_state.setdefault(W_TEXT, st.session_state[TEXT])
st.text_input(
    "A sentence (press Enter)",
    key=W_TEXT,
    on_change=on_text_change,
    persist_state="session",
    help=f"At most {MAX_PRETRAINED_TOKENS} WordPiece tokens, counting [CLS] and [SEP].",
)
if "ax_l5_error" in st.session_state:
    st.error(st.session_state["ax_l5_error"], icon=":material/error:")
    st.caption("Still showing the last sentence that worked.")
tokens, weights = pretrained.attention_for(st.session_state[TEXT])  # (L, h, T, T)
L, h, T, _ = weights.shape

st.subheader(f"The {T} WordPiece tokens")
st.code(" · ".join(tokens), language=None, wrap_lines=True)
st.caption(
    "The tokenizer splits rare words into pieces (## marks a piece that continues a word) and "
    "adds [CLS] at the start and [SEP] at the end."
)

st.header("Every head at a glance")
plot(charts.head_grid(weights), key="l5_head_grid")
st.caption(
    "Each small square is one head's weights matrix: query tokens down, key tokens across, "
    "brighter = more weight (0 to 1). Pick one below to read its numbers."
)

st.header("One head, up close")
c1, c2, c3 = st.columns(3)
layer = c1.selectbox(
    "Layer", list(range(L)), format_func=lambda i: f"Layer {i + 1}", key="w_l5_layer"
)
head = c2.selectbox("Head", list(range(h)), format_func=lambda i: f"Head {i + 1}", key="w_l5_head")
query = c3.selectbox(
    "Query token",
    list(range(T)),
    format_func=lambda i: f"{i + 1}: {tokens[i]}",
    key="w_l5_query",
)
plot(
    charts.attention_heatmap(
        weights[layer, head],
        tokens,
        title=f"Layer {layer + 1}, head {head + 1}: attention weights",
        value_name="weight",
    ),
    key="l5_head_heatmap",
)
left, right = side_by_side(2)
with left:
    plot(charts.weights_bar(weights[layer, head, query], tokens, query), key="l5_query_bar")
with right:
    plot(
        charts.attention_lines(
            weights[layer, head],
            tokens,
            query,
            title=f"Layer {layer + 1}, head {head + 1} as lines",
        ),
        key="l5_lines",
    )

with st.expander("Things to look for", expanded=True):
    st.markdown(
        "These are patterns people often report in maps like these; check whether you can "
        "find them, and whether they hold for your own sentences:\n"
        "- **Resting places.** Some heads send most of every row to [CLS], [SEP] or a full "
        "stop. A head with nothing useful to do has to put its weight somewhere, since each "
        "row must add up to 1.\n"
        "- **Neighbours.** Some heads look mostly one token back or one token ahead: a "
        "diagonal stripe just below or above the main diagonal.\n"
        "- **Same word.** In some heads the pieces of one word (attention, ##s) or repeats "
        "of a word attend to each other.\n"
        "- **Broad heads.** Some heads, often in early layers, spread their weight evenly, "
        "like averaging.\n\n"
        "A high weight shows where a head reads from, not why: it is not, by itself, an "
        "explanation of what the model does."
    )
