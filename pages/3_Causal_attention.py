"""Lesson 3: causal attention (no looking ahead) and dropout on the attention weights."""

from __future__ import annotations

import streamlit as st

import charts
from attention.causal import apply_dropout, causal_attention, init_linear_qkv
from lessons.export import lesson3_data, pytorch_snippet
from ui import inputs, qkv, state
from ui.export_widgets import export_panel
from ui.show import agreement, chart_grid, matrix_frame, plot, side_by_side, table

st.set_page_config(page_title="Attention Explorer: causal attention", layout="wide")
inputs.sidebar()

tokens = state.tokens()
x = state.inputs()  # (T, d_in)
T, d_in = x.shape

st.title("Causal attention and dropout")
st.caption("Attention Explorer · Lesson 3 of 5 · hiding the future")
st.markdown(
    "A model that writes text one token at a time (like GPT) must not peek at the tokens it "
    "has not written yet. **Causal attention** lets token i attend only to tokens 1..i: every "
    "weight above the diagonal becomes 0, and each row still adds up to 1."
)
with st.expander(f"Tokens and embeddings (T = {T}, d_in = {d_in}; shared with every lesson)"):
    inputs.embedding_editor()

st.header("The weights")
st.markdown(
    "As in the notebook: `torch.manual_seed(seed)`, then `nn.Linear(d_in, d_out, bias=False)` "
    "for the query, key and value maps, in that order (shown here as (d_in, d_out) matrices)."
)
d_out, seed = qkv.d_out_and_seed("l3", default_seed=789)
weights = qkv.qkv_weights("l3", init_linear_qkv, d_out, seed)
with st.expander("W_query, W_key, W_value (editable)"):
    qkv.weight_editors("l3")
steps = causal_attention(x, *weights)

st.header("The causal mask")
st.markdown(
    "Row i is the query, column j the key. Query i may see key j only when j ≤ i: the "
    "diagonal and everything below it."
)
plot(charts.mask_heatmap(steps.mask, tokens, title="Which keys each query may see"), key="l3_mask")

st.header("Way 1 · Softmax, hide the future, renormalise")
st.markdown(
    "Compute the ordinary weights of lesson 2, set the future to 0 (now the rows add up to "
    "less than 1), then divide each row by its sum."
)
way1 = chart_grid(340)
for key, matrix, title in (
    ("l3_unmasked", steps.unmasked_weights, "1. softmax(Ω / √d_k), no mask"),
    ("l3_zeroed", steps.zeroed_weights, "2. future set to 0"),
    ("l3_renormalized", steps.renormalized_weights, "3. each row divided by its sum"),
):
    plot(
        charts.attention_heatmap(matrix, tokens, title=title, value_name="weight"),
        key=key,
        container=way1,
    )
row_sums = steps.zeroed_weights.sum(dim=-1)
st.caption("Row sums after step 2: " + ", ".join(f"{v:.4f}" for v in row_sums.tolist()) + ".")

st.header("Way 2 · −∞ before the softmax")
st.markdown(
    "Simpler and what models do: replace the future scores by −∞ before the softmax. "
    "exp(−∞) = 0, so those weights are exactly 0 and the rest already add up to 1."
)
left, right = side_by_side(2)
with left:
    plot(
        charts.attention_heatmap(
            steps.masked_scores,
            tokens,
            title="Scaled scores with the future set to −∞",
            value_name="scaled score",
            weights=False,
        ),
        key="l3_masked_scores",
    )
    st.caption("Empty cells are −∞.")
with right:
    plot(
        charts.attention_heatmap(
            steps.attn_weights, tokens, title="Causal attention weights", value_name="weight"
        ),
        key="l3_weights_heatmap",
    )
agreement(
    "Both ways agree",
    float((steps.attn_weights - steps.renormalized_weights).abs().max()),
)
agreement(
    "The last token sees everything, so its row equals the unmasked one",
    float((steps.attn_weights[-1] - steps.unmasked_weights[-1]).abs().max()),
)
st.subheader("Context vectors Z = weights · V")
table(
    matrix_frame(steps.context_vecs, tokens, [f"out {j + 1}" for j in range(d_out)]),
    key="l3_context_table",
)
q = inputs.query_picker("Query token for the bar chart")
plot(charts.weights_bar(steps.attn_weights[q], tokens, q), key="l3_query_weights_bar")

st.header("Dropout")
st.markdown(
    "During training, dropout randomly switches off a share p of the attention weights, so the "
    "model cannot lean on a few connections. Every weight that is kept is multiplied by "
    "1 / (1 − p): on average a weight then keeps its value, because it survives with "
    "probability 1 − p. (For p = 0.5 that factor is 2.) At inference (`model.eval()`) dropout "
    "is switched off and the weights are used as they are."
)
left, right = st.columns(2)
p = left.slider(
    "Dropout probability p",
    min_value=0.0,
    max_value=0.9,
    value=0.5,
    step=0.05,
    key="l3_p",
    persist_state="session",
    bind="query-params",
)
dropout_seed = right.number_input(
    "Dropout seed",
    min_value=0,
    max_value=2**31 - 1,
    value=123,
    step=1,
    key="l3_dropout_seed",
    persist_state="session",
    bind="query-params",
)
dropout = apply_dropout(steps.attn_weights, p, int(dropout_seed))
kept = int(dropout.mask_kept.sum())
plot(
    charts.attention_heatmap(
        dropout.dropped_weights,
        tokens,
        title=f"Causal weights after dropout (p = {p:.2f})",
        value_name="weight",
    ),
    key="l3_dropout_heatmap",
)
st.caption(
    f"{kept} of {T * T} entries kept (the mask's zeros stay zero), each multiplied by "
    f"1 / (1 − {p:.2f}) = {1 / (1 - p):.4f}. Row sums are now "
    + ", ".join(f"{v:.3f}" for v in dropout.dropped_weights.sum(dim=-1).tolist())
    + ": 1 only on average."
)

# Take the numbers home ----------------------------------------------------------------------
st.header("Take the numbers home")
lesson3 = lesson3_data(tokens, x, weights, steps, seed=seed)
export_panel(lesson3, pytorch_snippet(lesson3), key_prefix="l3")
