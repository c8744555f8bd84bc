"""Lesson 3: causal attention (no looking ahead) and dropout on the attention weights."""

from __future__ import annotations

import streamlit as st
import torch

import charts
from attention.causal import CausalSteps, init_linear_qkv
from attention.trainable import QKVWeights
from lessons import lesson3
from lessons.numbers import fmt
from ui import explore, inputs, page, present, qkv, quiz, state
from ui.present import presenting
from ui.show import agreement, chart_grid, matrix_frame, plot, side_by_side, table

PATH = "pages/3_Causal_attention.py"


@state.part("l3_query_bar")
def query_bar(tokens: list[str], steps: CausalSteps) -> None:
    """The query picker and the query's row of causal weights as bars (a part of the page:
    a query change reruns only this)."""
    inputs.query_picker("Query token for the bar chart", ("l3_query_bar",))
    q = state.query()
    plot(
        charts.weights_bar(steps.attn_weights[q], tokens, q, present=presenting()),
        key="l3_query_weights_bar",
    )


@st.fragment
def section_dropout(
    x: torch.Tensor, tokens: list[str], weights: QKVWeights, steps: CausalSteps
) -> None:
    """Dropout on the causal weights, p and its seed, then the explorer (a part: p and the
    seed rerun only this)."""
    slot = present.picture_slot()  # the heatmap first on a projector
    st.markdown(
        "During training, dropout sets each attention weight to 0 independently with "
        "probability p, which is meant to keep the model from relying on a few connections "
        "(Srivastava et al., 2014). Every weight that is "
        "kept is multiplied by 1 / (1 − p): its expected value is then its old value, because "
        "it survives with probability 1 − p. (For p = 0.5 that factor is 2.) At inference "
        "(`model.eval()`) dropout is switched off and the weights are used as they are."
    )
    left, right = st.columns(2)
    p = left.slider(
        "Dropout probability p",
        min_value=0.0,
        max_value=lesson3.MAX_P,
        value=lesson3.DEFAULT_P,
        step=0.05,
        key="l3_p",
        persist_state="session",
        bind="query-params",
    )
    dropout_seed = right.number_input(
        "Dropout seed",
        min_value=0,
        max_value=2**31 - 1,
        value=lesson3.DEFAULT_DROPOUT_SEED,
        step=1,
        key="l3_dropout_seed",
        persist_state="session",
        bind="query-params",
    )
    drop = lesson3.dropout(steps, p, int(dropout_seed))
    page.heatmap(
        drop.result.dropped_weights,
        tokens,
        f"Causal weights after dropout (p = {p:.2f})",
        "l3_dropout_heatmap",
        value_name="weight after dropout",
        container=slot,
    )
    sums = ", ".join(f"{v:.3f}" for v in drop.row_sums.tolist())
    st.caption(
        f"{drop.kept} of the {drop.visible} visible weights kept, each multiplied by "
        f"1 / (1 − {p:.2f}) = {drop.factor:.4f}; the hidden ones stay 0. Row sums are now "
        f"{sums}: each is 1 only on average over the random draws."
    )
    explore.for_lesson3(x, tokens, weights, steps, p, drop.result.mask_kept)


tokens, x, settings = page.lesson_opening(
    PATH,
    "Causal attention and dropout",
    "hiding the future",
    lesson3.BUILDS_ON,
    lesson3.SOURCE,
)  # x: (T, d_in)
T, d_in = x.shape

with settings:
    d_out, seed = qkv.d_out_and_seed("l3", default_seed=lesson3.DEFAULT_SEED)
weights = qkv.qkv_weights("l3", init_linear_qkv, d_out, seed)
result = lesson3.compute(x, weights)
steps = result.steps
STEPS = lesson3.STEPS
show = page.steps(STEPS)

if show(0):
    page.heading(STEPS[0])
    st.markdown(
        "The weights: `torch.manual_seed(seed)`, then `nn.Linear(d_in, d_out, bias=False)` for "
        "the query, key and value maps, in that order (shown as their transposes, "
        "(d_in, d_out) matrices). Row i is query q(i), column j key k(j). Query q(i) may see "
        "key k(j) only when j ≤ i: the diagonal and everything below it."
    )
    with st.expander("W_query, W_key, W_value (editable)"):
        qkv.weight_editors("l3")
    plot(
        charts.mask_heatmap(
            steps.mask, tokens, title="Which keys each query may see", present=presenting()
        ),
        key="l3_mask",
    )
    st.markdown(
        "The mask is not only for writing one token at a time. In training the model reads a "
        "whole sequence at once and every position i predicts the token that follows it, all "
        "in parallel; the mask keeps each prediction from seeing the token it must predict, "
        "or any later one. The mask also brings in the only sense of order so far: without "
        "it, shuffling the tokens just shuffles the output rows (lesson 1 shows this)."
    )
    ask = lesson3.rows_question(result)
    quiz.ask("l3_rows", quiz.inputs_id(tokens, x, steps.queries), ask, "tokens, vectors or weights")

if show(1):
    page.heading(STEPS[1])
    st.markdown(
        "Compute lesson 2's weights, set the future to 0 (now the rows add up to less than 1), "
        "then divide each row by its sum. Why this is right, in one line of algebra:"
    )
    st.code(lesson3.ALGEBRA, language="text", wrap_lines=True)
    way1 = chart_grid(340)
    way1_range = charts.shared_range(
        steps.unmasked_weights, steps.renormalized_weights, from_zero=True
    )  # one colour range for the three steps (zeroing only lowers values)
    for key, matrix, title in (
        ("l3_unmasked", steps.unmasked_weights, "1. softmax(ω / √d_k), no mask"),
        ("l3_zeroed", steps.zeroed_weights, "2. future set to 0"),
        ("l3_renormalized", steps.renormalized_weights, "3. each row divided by its sum"),
    ):
        page.heatmap(matrix, tokens, title, key, zrange=way1_range, container=way1)
    sums = ", ".join(fmt(v) for v in steps.zeroed_weights.sum(dim=-1).tolist())
    st.caption(f"Row sums after step 2: {sums}.")

if show(2):
    page.heading(STEPS[2])
    st.markdown(
        "Simpler, and what models do: replace the future scores by −∞ before the softmax. "
        "e^−∞ = 0, so those weights are exactly 0 and the rest already add up to 1."
    )
    left, right = side_by_side(2)
    with left:
        page.heatmap(
            steps.masked_scores,
            tokens,
            "Scaled scores ω(i, j) / √d_k, future set to −∞",
            "l3_masked_scores",
            scores=True,
            value_name="scaled score ω / √d_k",
        )
        st.caption("Empty cells are −∞.")
    with right:
        page.heatmap(
            steps.attn_weights, tokens, "Causal attention weights a(i, j)", "l3_weights_heatmap"
        )
    agreement("Both ways agree", result.ways_difference)
    agreement(
        "The last token sees everything, so its row equals the unmasked one",
        result.last_row_difference,
    )
    st.subheader("Context vectors z(i) = Σ_j a(i, j) v(j)")
    out_columns = [f"out {j + 1}" for j in range(d_out)]
    table(matrix_frame(steps.context_vecs, tokens, out_columns), key="l3_context_table")
    query_bar(tokens, steps)

if show(3):
    page.heading(STEPS[3])
    section_dropout(x, tokens, weights, steps)

data = lesson3.lesson_data(tokens, x, weights, result, seed=seed)
page.export_section(data, lesson3.script(data), key_prefix="l3")
page.next_lesson(PATH)
