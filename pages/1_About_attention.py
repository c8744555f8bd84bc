"""Why attention exists: the problem it solves, before any numbers."""

from __future__ import annotations

import streamlit as st

from ui import inputs

st.set_page_config(page_title="Attention Explorer: about attention", layout="wide")
inputs.sidebar()

st.title("About attention")
st.caption("Attention Explorer · background for the lessons")

st.header("The long-sequence problem")
st.markdown(
    "Language is full of long-range links: in *The keys that the teacher left on the desk "
    "**are** missing*, the verb agrees with *keys*, five words back. A model that reads one "
    "word at a time has to carry everything it might need later in a fixed amount of memory, "
    "and the further back a word is, the more likely it has been overwritten."
)

st.header("Why word-by-word translation fails")
st.markdown(
    "Translating one word at a time cannot work: languages order words differently "
    "(German often puts the verb at the end: *weil ich dich **gesehen habe***), one word can "
    "become several or none, and the right translation of a word depends on its neighbours "
    "(*bank* of a river or a bank for money). A translator has to read the whole sentence, "
    "then write, looking back at the relevant parts as it goes."
)

st.header("The encoder-decoder bottleneck")
st.markdown(
    "Before attention, neural translation used two recurrent networks (RNNs). The *encoder* "
    "reads the source sentence word by word, updating one hidden state; the *decoder* starts "
    "from the encoder's **last** hidden state and writes the translation. That single vector "
    "has to hold the whole sentence: it is a bottleneck, and quality drops as sentences get "
    "longer."
)

st.header("Attention: look back at every word")
st.markdown(
    "Attention (Bahdanau and colleagues, 2014) let the decoder look at **all** the encoder's "
    "hidden states at every step, with a weight for each that says how relevant it is right "
    "now. The weights are computed, not fixed, and they add up to 1, so the decoder reads a "
    "weighted average of the sentence instead of one compressed summary."
)

st.header("Self-attention")
st.markdown(
    "*Self*-attention applies the same idea inside one sequence: each token looks at every "
    "token of the **same** sentence, itself included, and builds a **context vector**: a "
    "weighted average of all the tokens' vectors, with weights from how well the tokens "
    "match. Because every pair is compared directly, a link five words back is as easy as "
    "one next door. Transformers (Vaswani and colleagues, 2017) are built from layers of it."
)
st.markdown(
    "The lessons build it up in steps:\n"
    "1. **Simple self-attention** (the home page): dot-product scores, softmax weights, "
    "context vectors, no trainable parts.\n"
    "2. Trainable query, key and value projections, and scaling by √d_k.\n"
    "3. Causal attention, which hides future tokens, and dropout.\n"
    "4. Multi-head attention: several attentions side by side.\n"
    "5. The same attention inside a real pretrained transformer."
)
st.page_link("app.py", label="Start with lesson 1: simple self-attention", icon="▶️")
