"""Lesson 4: multi-head attention, built two ways that agree, and the code that computes it."""

from __future__ import annotations

import streamlit as st

import charts
from attention.multihead import MultiHeadSteps
from lessons import lesson4
from lessons.numbers import fmt
from ui import explore, inputs, page, qkv, quiz, state
from ui.present import presenting
from ui.show import agreement, chart_grid, matrix_frame, plot, table

PATH = "pages/4_Multi-head_attention.py"


@state.part("l4_query_bar")
def query_bar(tokens: list[str], split: MultiHeadSteps) -> None:
    """One head's weights for one query as bars, with the head and query pickers (a part of
    the page: they rerun only this)."""
    h = split.attn_weights.shape[0]
    left, right = st.columns(2)
    with left:
        head = st.selectbox(
            "Head", options=list(range(h)), format_func=lambda i: f"Head {i + 1}", key="w_l4_head"
        )
    with right:
        inputs.query_picker("Query token", ("l4_query_bar",))
    q = state.query()
    plot(
        charts.weights_bar(split.attn_weights[head, q], tokens, q, present=presenting()),
        key="l4_query_weights_bar",
    )
    top = int(split.attn_weights[head, q].argmax())
    st.caption(
        f"Head {head + 1}, query q({q + 1}): the largest weight, "
        f"{fmt(float(split.attn_weights[head, q, top]))}, goes to key k({top + 1})."
    )
    st.caption(
        "Without the causal mask every head is blind to word order: shuffle the tokens and "
        "each output row just moves with its token (lesson 1 shows this with your tokens). "
        "The mask is the only place order enters here, and it says only which tokens come "
        "earlier. Real models add position embeddings to the inputs (lesson 5)."
    )


tokens, x, settings = page.lesson_opening(
    PATH,
    "Multi-head attention",
    "several attentions side by side",
    lesson4.BUILDS_ON,
    lesson4.SOURCE,
)  # x: (T, d_in)
T, d_in = x.shape

with settings:
    settings = qkv.multihead_settings()
    h, hd, d_out = settings.num_heads, settings.head_dim, settings.d_out
    st.markdown(
        f"d_out = num_heads × head_dim = {h} × {hd} = **{d_out}**. The weights start from "
        f"`torch.manual_seed({settings.seed})` and `nn.Linear` layers."
    )
result = lesson4.compute(x, settings)
split = result.split
STEPS = lesson4.STEPS
show = page.steps(STEPS)

if show(0):
    page.heading(STEPS[0])
    st.markdown(
        f"Each head compares queries q(i) with keys k(j) of size head_dim = d_k = {hd}, so it "
        f"divides its scores by √{hd}. Row i is query q(i), column j key k(j), the cell a(i, j)."
        + (" The causal mask hides the future (j > i) in every head." if settings.causal else "")
    )
    heads_grid = chart_grid(320)
    heads_range = charts.shared_range(split.attn_weights, from_zero=True)  # heads compared
    for head in range(h):
        page.heatmap(
            split.attn_weights[head],
            tokens,
            f"Head {head + 1}: a(i, j)",
            f"l4_head_{head}",
            zrange=heads_range,
            container=heads_grid,
        )
    ask = lesson4.heads_question(split.attn_weights)
    if ask is None:
        st.caption("With two heads or more, a question appears here.")
    else:
        quiz.ask(
            "l4_heads", quiz.inputs_id(tokens, x, settings), ask, "tokens, vectors or settings"
        )

if show(1):
    page.heading(STEPS[1])
    st.markdown(
        f"Each head returns a context vector z(i) of size head_dim = {hd} per token. Side by "
        f"side they make a (T, d_out) = ({T}, {d_out}) matrix. The output projection, a "
        f"({d_out}, {d_out}) linear layer with a bias, mixes what the heads found."
    )
    heads = lesson4.head_columns(settings)
    st.subheader("Concatenated context vectors")
    table(matrix_frame(split.concat_context, tokens, heads), key="l4_concat_table")
    st.subheader("Output after the projection")
    out = [f"out {j + 1}" for j in range(d_out)]
    table(matrix_frame(split.output, tokens, out), key="l4_output_table")

if show(2):
    page.heading(STEPS[2])
    st.markdown(
        "This is the code that computed the numbers above, for the current settings (it "
        "changes when you change them). W_query, W_key and W_value are the (d_in, d_out) "
        "weights of build 2 below, the `nn.Linear` weights transposed; W_out is "
        "`out_proj.weight` transposed and b_out its bias. `view` cuts each row of d_out "
        "numbers into num_heads pieces of head_dim; `transpose(0, 1)` puts the head first, "
        "so one matrix product computes every head at once."
    )
    st.code(result.code, language="python", wrap_lines=True)
    agreement(
        "This code, run on your numbers, gives the output and weights of build 2",
        result.code_difference,
    )

if show(3):
    page.heading(STEPS[3])
    st.markdown(
        f"**1. A stack of heads:** {h} separate single-head modules, each with "
        f"(head_dim, d_in) = ({hd}, {d_in}) `nn.Linear` weights; concatenate their outputs, "
        "then project. Easy to read, but one small matrix product per head.\n\n"
        f"**2. One module, split into heads:** one ({d_out}, {d_in}) `nn.Linear` each for "
        "queries, keys and values, split into heads as in the code above: fewer, bigger "
        "matrix products, which is what real models do. Its weights are build 1's copied: head "
        "i's rows become rows i × head_dim to (i + 1) × head_dim − 1 (counting from 0), and the "
        "output projection is copied as it is."
    )
    agreement("Both builds agree, in the output and in the weights", result.builds_difference)

if show(4):
    page.heading(STEPS[4])
    query_bar(tokens, split)
    explore.for_lesson4(x, tokens, settings, split)

data = lesson4.lesson_data(tokens, x, result)
page.export_section(data, lesson4.script(data), key_prefix="l4")
page.next_lesson(PATH)
