"""Lesson 4: multi-head attention, built two ways that agree."""

from __future__ import annotations

import streamlit as st
import torch

import charts
from attention.multihead import from_wrapper, init_wrapper
from lessons.export import lesson4_data, pytorch_snippet
from ui import inputs, state
from ui.export_widgets import export_panel
from ui.show import agreement, chart_grid, matrix_frame, plot, table

st.set_page_config(page_title="Attention Explorer: multi-head attention", layout="wide")
inputs.sidebar()

tokens = state.tokens()
x = state.inputs()  # (T, d_in)
T, d_in = x.shape

st.title("Multi-head attention")
st.caption("Attention Explorer · Lesson 4 of 5 · several attentions side by side")
st.markdown(
    "One attention head learns one way of relating tokens. **Multi-head attention** runs "
    "several heads in parallel, each with its own W_query, W_key and W_value, so different "
    "heads can pick up different patterns. Their context vectors are put side by side "
    "(concatenated) and mixed by one more matrix, the **output projection**."
)
with st.expander(f"Tokens and embeddings (T = {T}, d_in = {d_in}; shared with every lesson)"):
    inputs.embedding_editor()

st.header("Settings")
c1, c2, c3, c4 = st.columns(4)
num_heads = int(
    c1.number_input(
        "num_heads",
        min_value=1,
        max_value=8,
        value=2,
        step=1,
        key="l4_heads",
        persist_state="session",
        bind="query-params",
    )
)
head_dim = int(
    c2.number_input(
        "head_dim",
        min_value=1,
        max_value=8,
        value=2,
        step=1,
        key="l4_head_dim",
        persist_state="session",
        bind="query-params",
    )
)
seed = int(
    c3.number_input(
        "Random seed",
        min_value=0,
        max_value=2**31 - 1,
        value=123,
        step=1,
        key="l4_seed",
        persist_state="session",
        bind="query-params",
    )
)
causal = c4.toggle(
    "Causal mask", value=True, key="l4_causal", persist_state="session", bind="query-params"
)
d_out = num_heads * head_dim
st.markdown(
    f"d_out = num_heads × head_dim = {num_heads} × {head_dim} = **{d_out}**. Weights start "
    f"from `torch.manual_seed({seed})` and `nn.Linear` layers, as in the notebook."
)

wrapper = init_wrapper(d_in, num_heads, head_dim, seed=seed, causal=causal)
module = from_wrapper(wrapper)
with torch.inference_mode():
    stacked = wrapper.steps(x)  # build 1: a stack of single-head modules
    split = module.steps(x)  # build 2: one module, heads split by view + transpose

st.header("Each head's attention weights")
heads_grid = chart_grid(320)
for h in range(num_heads):
    plot(
        charts.attention_heatmap(
            split.attn_weights[h], tokens, title=f"Head {h + 1}", value_name="weight"
        ),
        key=f"l4_head_{h}",
        container=heads_grid,
    )

st.header("Concatenate the heads, then project")
st.markdown(
    f"Each head returns a context vector of size head_dim = {head_dim} per token. Side by side "
    f"they make a (T, d_out) = ({T}, {d_out}) matrix. The output projection, a "
    f"({d_out}, {d_out}) linear layer with a bias, mixes what the heads found."
)
concat_columns = [f"head {h + 1} · {j + 1}" for h in range(num_heads) for j in range(head_dim)]
st.subheader("Concatenated context vectors")
table(matrix_frame(split.concat_context, tokens, concat_columns), key="l4_concat_table")
st.subheader("Output after the projection")
table(
    matrix_frame(split.output, tokens, [f"out {j + 1}" for j in range(d_out)]),
    key="l4_output_table",
)

st.header("Two ways to build it")
st.markdown(
    "**1. A stack of heads:** `num_heads` separate single-head modules, each with "
    "(d_in, head_dim) weights; concatenate their outputs. Easy to read, but one small "
    "matrix product per head.\n\n"
    "**2. One module, split into heads:** one (d_in, d_out) projection each for queries, keys "
    "and values, then reshape so each head gets its own slice. Same numbers, fewer and "
    "bigger matrix products, which is what real models do:"
)
st.code(
    "queries = x @ W_query                                  # (T, d_in) -> (T, d_out)\n"
    f"queries = queries.view(T, num_heads, head_dim)         # ({T}, {d_out}) -> "
    f"({T}, {num_heads}, {head_dim})\n"
    f"queries = queries.transpose(0, 1)                      # -> ({num_heads}, {T}, {head_dim})\n"
    f"scores = queries @ keys.transpose(1, 2)                # -> ({num_heads}, {T}, {T})\n"
    "weights = softmax(scores / head_dim ** 0.5, dim=-1)  # one matrix per head\n"
    f"context = (weights @ values).transpose(0, 1)         # -> ({T}, {num_heads}, {head_dim})\n"
    f"context = context.reshape(T, d_out)                  # -> ({T}, {d_out}): concatenated\n"
    "output = context @ W_out.T + b_out                     # output projection",
    language="python",
    wrap_lines=True,
)
difference = max(
    float((stacked.output - split.output).abs().max()),
    float((stacked.attn_weights - split.attn_weights).abs().max()),
)
agreement("Both builds agree, in the output and in the weights", difference)

st.header("One head, one query")
left, right = st.columns(2)
with left:
    head = st.selectbox(
        "Head",
        options=list(range(num_heads)),
        format_func=lambda h: f"Head {h + 1}",
        key="w_l4_head",
    )
with right:
    q = inputs.query_picker("Query token")
plot(
    charts.weights_bar(split.attn_weights[head, q], tokens, q),
    key="l4_query_weights_bar",
)

# Take the numbers home ----------------------------------------------------------------------
st.header("Take the numbers home")
lesson4 = lesson4_data(tokens, x, module, split, seed=seed)
export_panel(lesson4, pytorch_snippet(lesson4), key_prefix="l4")
