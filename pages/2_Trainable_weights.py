"""Lesson 2: self-attention with trainable weights W_query, W_key, W_value, scaled by √d_k."""

from __future__ import annotations

import streamlit as st

import charts
from attention.trainable import (
    TrainableSteps,
    init_qkv_weights,
)
from lessons import lesson2
from ui import explore, inputs, page, qkv, quiz, state
from ui.present import presenting
from ui.show import agreement, matrix_frame, plot, side_by_side, table

PATH = "pages/2_Trainable_weights.py"
# The parts of the page that show the query (fragments): a query change reruns only these.
QUERY_PARTS = ("l2_query_bar", "l2_scale")


@state.part("l2_query_bar")
def query_bar(tokens: list[str], steps: TrainableSteps) -> None:
    """The query picker and the query's row of weights as bars (a part of the page)."""
    inputs.query_picker("Query token for the bar chart", QUERY_PARTS)
    q = state.query()
    plot(
        charts.weights_bar(steps.attn_weights[q], tokens, q, present=presenting()),
        key="l2_query_weights_bar",
    )


@state.part("l2_scale")
def scale_demo(tokens: list[str], steps: TrainableSteps, picker: bool) -> None:
    """The query's scaled scores, multiplied by the slider's factor, before and after the
    softmax (a part: the factor and the query rerun only this); with the query picker if
    `picker` (the weights step, which has it, is not shown)."""
    if picker:
        inputs.query_picker("Query token for the bar chart", QUERY_PARTS)
    q = state.query()
    factor = st.slider(
        "Multiply this query's scaled scores by",
        min_value=1.0,
        max_value=lesson2.MAX_FACTOR,
        value=lesson2.DEFAULT_FACTOR,
        step=lesson2.FACTOR_STEP,
        key="l2_factor",
        persist_state="session",
        bind="query-params",
        help="Bigger scores are what an unscaled model with a large d_k would produce.",
    )
    scale = lesson2.scaling(steps.scaled_scores[q], factor)
    plot(
        charts.grouped_bars(
            {
                "softmax(ω / √d_k)": scale.before,
                f"softmax({factor:g} × ω / √d_k)": scale.after,
            },
            tokens,
            title=f"Softmax of the scaled scores ω(i, j) / √d_k, and of {factor:g} × them",
            y_title="weight",
            styles=(("#0072B2", ""), ("#D55E00", "/")),
            present=presenting(),
        ),
        key="l2_scale_bars",
    )
    st.caption(lesson2.scaling_sentence(scale))


tokens, x, settings = page.lesson_opening(
    PATH,
    "Self-attention with trainable weights",
    "queries, keys, values and scaling",
    lesson2.BUILDS_ON,
    lesson2.SOURCE,
)  # x: (T, d_in)
T, d_in = x.shape

with settings:
    d_out, seed = qkv.d_out_and_seed("l2", default_seed=lesson2.DEFAULT_SEED)
weights = qkv.qkv_weights("l2", init_qkv_weights, d_out, seed)
result = lesson2.compute(x, weights)
steps, d_k = result.steps, result.d_k
out_columns = [f"out {j + 1}" for j in range(d_out)]
STEPS = lesson2.STEPS
show = page.steps(STEPS)

if show(0):
    page.heading(STEPS[0])
    st.markdown(
        f"Each matrix has shape (d_in, d_out) = ({d_in}, {d_out}) and starts as random numbers in "
        f"[0, 1): `torch.manual_seed({seed})`, then `torch.rand(d_in, d_out)` for W_query, W_key "
        "and W_value, in that order. Edit any entry to see its effect."
    )
    with st.expander("W_query, W_key, W_value (editable)"):
        qkv.weight_editors("l2")
    i = result.walk.query_index + 1
    st.markdown(
        f"As the book does, take one query first: token {i}'s. Its query q({i}) meets every "
        f"key k(j); the score ω({i}, {i}) is one dot product, and `query_{i} @ keys.T` gives all "
        f"of row {i} at once."
    )
    st.code("\n".join(lesson2.walk_lines(x, weights, result)), language="text", wrap_lines=True)
    plot(
        charts.query_bar(
            result.walk.attn_scores,
            tokens,
            i - 1,
            title=f"Scores ω({i}, j) = q({i}) · k(j) for every key k(j)",
            value_name="score",
            y_title=f"score q({i}) · k(j)",
            present=presenting(),
        ),
        key="l2_walk_scores_bar",
    )
    agreement(f"The loop over keys gives row {i} of the matrix form", result.walk_difference)

if show(1):
    page.heading(STEPS[1])
    st.markdown(
        "Stack the inputs as rows of X: **Q = X W_query**, **K = X W_key**, **V = X W_value**. "
        f"Row i of Q is q(i); each token now has three vectors of size d_out = {d_out}."
    )
    for column, (name, matrix) in zip(
        st.columns(3),
        (("Q (queries)", steps.queries), ("K (keys)", steps.keys), ("V (values)", steps.values)),
        strict=True,
    ):
        with column:
            st.subheader(name)
            table(matrix_frame(matrix, tokens, out_columns), key=f"l2_table_{name[0]}")

if show(2):
    page.heading(STEPS[2])
    st.markdown(
        "ω(i, j) = q(i) · k(j), all at once **Ω = Q Kᵀ**. Unlike lesson 1's X Xᵀ this matrix is "
        "not symmetric: q(i) · k(j) and q(j) · k(i) use different vectors. Then every score "
        f"is divided by √d_k = {lesson2.sqrt_d_k(d_k)} (d_k is the size of the keys)."
    )
    left, right = side_by_side(2)
    scores_title, scaled_title = "Scores ω(i, j) = q(i) · k(j)", "Scaled scores ω(i, j) / √d_k"
    shared = charts.shared_range(steps.attn_scores, steps.scaled_scores)  # one range: scaling shows
    for column, matrix, title, key, name in (
        (left, steps.attn_scores, scores_title, "l2_scores_heatmap", page.SCORE),
        (right, steps.scaled_scores, scaled_title, "l2_scaled_heatmap", "scaled score ω / √d_k"),
    ):
        page.heatmap(
            matrix,
            tokens,
            title,
            key,
            scores=True,
            value_name=name,
            zrange=shared,
            container=column,
        )
    ask = lesson2.scale_question(steps)
    quiz.ask(
        "l2_scale", quiz.inputs_id(tokens, x, steps.queries), ask, "tokens, vectors or weights"
    )

if show(3):
    page.heading(STEPS[3])
    st.markdown(
        "Softmax each row of scaled scores into weights a(i, j), then mix the **values** (not "
        "the inputs, as in lesson 1): z(i) = Σ_j a(i, j) v(j), all at once "
        "**Z = softmax(Q Kᵀ / √d_k) V**."
    )
    left, right = side_by_side(2)
    page.heatmap(
        steps.attn_weights,
        tokens,
        "Attention weights a(i, j)",
        "l2_weights_heatmap",
        container=left,
    )
    with right:
        st.subheader("Context vectors z(i)")
        table(matrix_frame(steps.context_vecs, tokens, out_columns), key="l2_context_table")
    query_bar(tokens, steps)
    st.caption(
        "The weights ignore word order: shuffle the tokens (below) and each row just moves "
        "with its token. Lesson 5's model adds position embeddings to its inputs."
    )
    explore.for_lesson2(x, tokens, weights, steps)

if show(4):
    page.heading(STEPS[4])
    st.markdown(lesson2.WHY_SCALE)
    # Without the weights step (presenting), the query is picked here.
    scale_demo(tokens, steps, picker=not show(3))
    curve = qkv.variance_curve_for(seed)
    plot(
        charts.variance_chart(
            curve.d_ks, curve.var_unscaled, curve.var_scaled, present=presenting()
        ),
        key="l2_variance_chart",
    )
    st.caption(
        f"Each point: {lesson2.VARIANCE_SAMPLES:,} random pairs q, k with standard normal "
        f"entries (seed above). At d_k = 512 the sample variance of q · k is "
        f"{curve.var_unscaled[-1]:.0f}; divided by √d_k it is {curve.var_scaled[-1]:.2f}."
    )
    st.caption(lesson2.mean_sentence(result, x))

if show(5):
    page.heading(STEPS[5])
    st.markdown(lesson2.CLASSES)
    st.code(lesson2.classes_source(), language="python")
    agreement(
        f"v1 with this page's weights and v2 with their transposes ({d_out}, {d_in}) give the "
        "same context vectors",
        result.v1_v2_difference,
    )

data = lesson2.lesson_data(tokens, x, weights, steps, seed=seed)
page.export_section(data, lesson2.script(data), key_prefix="l2")
page.next_lesson(PATH)
