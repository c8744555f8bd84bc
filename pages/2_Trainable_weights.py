"""Lesson 2: self-attention with trainable weights W_query, W_key, W_value, scaled by sqrt(d_k)."""

from __future__ import annotations

import math

import streamlit as st

import charts
from attention import normalize
from attention.trainable import (
    VarianceCurve,
    init_qkv_weights,
    trainable_attention,
    variance_curve,
)
from lessons.export import lesson2_data, pytorch_snippet
from lessons.numbers import fmt
from ui import inputs, qkv, state
from ui.export_widgets import export_panel
from ui.show import matrix_frame, plot, side_by_side, table


@st.cache_data(max_entries=32, show_spinner=False)
def cached_variance_curve(seed: int) -> VarianceCurve:
    """The why-scale experiment: the same for a seed, so computed once, not on every rerun."""
    return variance_curve((1, 2, 4, 8, 16, 32, 64, 128, 256, 512), samples=2000, seed=seed)


st.set_page_config(page_title="Attention Explorer: trainable weights", layout="wide")
inputs.sidebar()

tokens = state.tokens()
x = state.inputs()  # (T, d_in)
T, d_in = x.shape

st.title("Self-attention with trainable weights")
st.caption("Attention Explorer · Lesson 2 of 5 · queries, keys, values and scaling")
st.markdown(
    "In lesson 1 every token was compared with the others using its raw embedding. Real "
    "models first give each token three different roles, each a learned linear map of its "
    "embedding: a **query** q (what this token looks for), a **key** k (what it offers to "
    "others) and a **value** v (what it passes on when chosen). The maps are the weight "
    "matrices **W_query**, **W_key** and **W_value**, which training adjusts."
)
with st.expander(f"Tokens and embeddings (T = {T}, d_in = {d_in}; shared with every lesson)"):
    inputs.embedding_editor()

st.header("The weight matrices")
st.markdown(
    f"Each matrix has shape (d_in, d_out) = ({d_in}, d_out). As in the notebook, they start as "
    "random numbers in [0, 1): `torch.manual_seed(seed)`, then `torch.rand(d_in, d_out)` for "
    "W_query, W_key and W_value, in that order. Edit any entry to see its effect."
)
d_out, seed = qkv.d_out_and_seed("l2", default_seed=123)
weights = qkv.qkv_weights("l2", init_qkv_weights, d_out, seed)
qkv.weight_editors("l2")
steps = trainable_attention(x, weights)
d_k = d_out

st.header("Step 1 · Queries, keys and values")
st.markdown(
    "Multiply the embeddings by each matrix: **Q = X W_query**, **K = X W_key**, "
    f"**V = X W_value**. Each token now has three vectors of size d_out = {d_out}."
)
out_columns = [f"out {j + 1}" for j in range(d_out)]
for column, (name, matrix) in zip(
    st.columns(3),
    (("Q (queries)", steps.queries), ("K (keys)", steps.keys), ("V (values)", steps.values)),
    strict=True,
):
    with column:
        st.subheader(name)
        table(matrix_frame(matrix, tokens, out_columns), key=f"l2_table_{name[0]}")

st.header("Step 2 · Scores, then scaling by √d_k")
st.markdown(
    "A score compares one token's query with another token's key: ω(i, j) = q(i) · k(j), all "
    f"at once **Ω = Q Kᵀ**. Then every score is divided by √d_k = √{d_k} = {math.sqrt(d_k):.4f} "
    "(d_k is the size of the keys) before the softmax. Why? See the experiment at the bottom."
)
left, right = side_by_side(2)
with left:
    plot(
        charts.attention_heatmap(
            steps.attn_scores, tokens, title="Scores Ω = Q Kᵀ", value_name="score", weights=False
        ),
        key="l2_scores_heatmap",
    )
with right:
    plot(
        charts.attention_heatmap(
            steps.scaled_scores,
            tokens,
            title="Scaled scores Ω / √d_k",
            value_name="scaled score",
            weights=False,
        ),
        key="l2_scaled_heatmap",
    )

st.header("Step 3 · Weights and context vectors")
st.markdown(
    "Softmax each row of scaled scores into weights, then mix the **value** vectors (not the "
    "embeddings, as in lesson 1): **Z = softmax(Q Kᵀ / √d_k) V**."
)
left, right = side_by_side(2)
with left:
    plot(
        charts.attention_heatmap(
            steps.attn_weights, tokens, title="Attention weights", value_name="weight"
        ),
        key="l2_weights_heatmap",
    )
with right:
    st.subheader("Context vectors Z")
    table(matrix_frame(steps.context_vecs, tokens, out_columns), key="l2_context_table")

q = inputs.query_picker("Query token for the bar chart")
plot(charts.weights_bar(steps.attn_weights[q], tokens, q), key="l2_query_weights_bar")

st.header("Why scale by √d_k?")
st.markdown(
    "If the entries of q and k are random with variance 1, their dot product is a sum of d_k "
    "such products, so its **variance grows like d_k**. Large scores push softmax towards a "
    "one-hot vector: one token gets nearly all the weight, and the gradients of the others "
    "become tiny, so training stalls. Dividing by √d_k brings the variance back to about 1."
)
factor = st.slider(
    "Multiply this query's scaled scores by",
    min_value=1.0,
    max_value=16.0,
    value=4.0,
    step=0.5,
    key="l2_factor",
    persist_state="session",
    bind="query-params",
    help="Bigger scores are what an unscaled model with a large d_k would produce.",
)
row = steps.scaled_scores[q]
before, after = normalize(row, "softmax"), normalize(row * factor, "softmax")
plot(
    charts.grouped_bars(
        {"softmax(scores)": before, f"softmax({factor:g} × scores)": after},
        tokens,
        title=f"Softmax of the scores, and of {factor:g} × the scores",
        y_title="weight",
        styles=(("#0072B2", ""), ("#D55E00", "/")),
    ),
    key="l2_scale_bars",
)
st.caption(
    f"Largest weight: {fmt(float(before.max()))} before, {fmt(float(after.max()))} after "
    f"multiplying by {factor:g}."
)
curve = cached_variance_curve(seed)
plot(
    charts.variance_chart(curve.d_ks, curve.var_unscaled, curve.var_scaled),
    key="l2_variance_chart",
)
st.caption(
    "Each point: 2,000 random pairs q, k with standard normal entries (seed above). "
    f"At d_k = 512 the variance of q · k is {curve.var_unscaled[-1]:.0f}; divided by √d_k "
    f"it is {curve.var_scaled[-1]:.2f}."
)

# Take the numbers home ----------------------------------------------------------------------
st.header("Take the numbers home")
lesson2 = lesson2_data(tokens, x, weights, steps, seed=seed)
export_panel(lesson2, pytorch_snippet(lesson2), key_prefix="l2")
