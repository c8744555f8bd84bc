"""Why attention exists: the problem it solves, before any numbers; the lessons; the glossary."""

from __future__ import annotations

import streamlit as st

from lessons import catalog, glossary
from lessons.numbers import number_word
from ui import page

PATH = "pages/1_About_attention.py"
# The example of a long-range link; the distance in the text is counted from it, not typed.
SENTENCE = "The keys that the teacher left on the desk are missing"
WORDS = SENTENCE.split()
BACK = WORDS.index("are") - WORDS.index("keys")  # how many words back "keys" stands from "are"
LESSONS = {
    1: "dot-product scores, three ways to turn them into weights, context vectors, the score "
    "matrix X Xᵀ, and why attention on its own is blind to word order. No trainable parts.",
    2: "queries, keys and values from trainable matrices W_query, W_key and W_value; scores "
    "Q Kᵀ; scaling by √d_k.",
    3: "the causal mask, which hides later tokens from each token; dropout on the weights.",
    4: "several attention heads side by side, joined and projected.",
    5: "every head of a pretrained transformer (all-MiniLM-L6-v2) on your sentence.",
}

info = page.start(PATH)
page.header(info, "About attention", "background for the lessons, no numbers")

st.header("The long-sequence problem")
st.markdown(
    f"Language is full of long-range links: in *{' '.join(WORDS[:-2])} **are** "
    f"{WORDS[-1]}*, the verb *are* agrees with *keys*, {number_word(BACK)} words back "
    f"({number_word(BACK - 1)} words stand between them). A model that reads one word at a "
    "time has to carry everything it might need later in a fixed amount of memory, and the "
    "further back a word is, the more likely it has been overwritten."
)

st.header("Why word-by-word translation fails")
st.markdown(
    "Translating one word at a time cannot work: languages order words differently "
    "(German often puts the verb at the end of a clause: *weil ich dich **gesehen habe***), "
    "one word can become several or none, and the right translation of a word depends on its "
    "neighbours (*bank* of a river or a bank for money). A translator has to read the whole "
    "sentence, then write, looking back at the relevant parts as it goes."
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
    f"match. Because every pair is compared directly, a link {number_word(BACK)} words back "
    "is as easy as one next door. Transformers (Vaswani and colleagues, 2017) are built from "
    "layers of it."
)

st.header("The lessons")
st.markdown(
    "\n".join(
        f"{number}. **{catalog.lesson(number).label.split(' · ', 1)[1]}**: {text}"
        for number, text in LESSONS.items()
    )
    + "\n\nThe **softmax lab** takes one row of scores through three ways of normalising them "
    "and shows where each one breaks. Each lesson ends with a link to the next one."
)
st.page_link(
    "app.py",
    label="Start with lesson 1: simple self-attention",
    icon=":material/arrow_forward:",
    width="stretch",
)

st.header("Glossary")
st.markdown(glossary.as_markdown())
