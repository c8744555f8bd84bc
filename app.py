"""Attention Explorer, lesson 1: simple self-attention, step by step (the home page)."""

from __future__ import annotations

import streamlit as st
import torch

import charts
from attention import AttentionSteps, QueryWalkthrough, pca_2d, query_walkthrough, simple_attention
from lessons.export import lesson1_data, pytorch_snippet
from lessons.numbers import elide, fmt, fmt_factor, fmt_input
from ui import inputs, present, pretrained, state
from ui.export_widgets import export_panel
from ui.show import agreement, matrix_frame, plot, side_by_side, table

HAND_MADE, MODEL = "hand-made", "model"
SOURCES = {HAND_MADE: "Hand-made vectors", MODEL: "A real model's token embeddings"}
W_SOURCE = "w_embedding_source"

st.set_page_config(page_title="Attention Explorer: simple self-attention", layout="wide")
inputs.sidebar()
tokens = state.tokens()


def embeddings() -> tuple[torch.Tensor, str]:
    """The lesson's inputs (T, d) from the chosen source, and that source."""
    source = st.session_state.get(W_SOURCE) or HAND_MADE
    if source == MODEL:
        try:
            return pretrained.word_embeddings(tuple(tokens)), MODEL  # (T, 384)
        except ValueError as error:
            st.error(f"{error} Showing the hand-made vectors instead.", icon=":material/error:")
    return state.inputs(), HAND_MADE


def section_inputs(x: torch.Tensor, source: str) -> slice:
    """The tokens as vectors; returns which dimensions the tables show."""
    T, d = x.shape
    st.header("Your tokens as vectors")
    if present.presenting():
        st.markdown(f"Each of the **{T}** tokens is a vector of **d = {d}** numbers.")
        shown = slice(0, 8)
        table(matrix_frame(x[:, shown], tokens, DIMS[shown]), key="inputs_table")
        return shown
    st.segmented_control(
        "Embedding source",
        options=list(SOURCES),
        format_func=SOURCES.get,
        default=HAND_MADE,
        required=True,
        key=W_SOURCE,
        persist_state="session",
    )
    if source == HAND_MADE:
        st.markdown(
            f"Each of the **{T}** tokens is a vector of **d = {d}** numbers. "
            "Real models learn these embeddings; here you can type them. "
            "Edit a cell and press Enter; change the tokens or d in the sidebar."
        )
        inputs.embedding_editor()
        return slice(None)
    st.markdown(
        "Each token's vector is its row in the token-embedding table of the pretrained model "
        f"all-MiniLM-L6-v2 (lesson 5): **d = {d}** numbers learned in training. A word the "
        "model splits into several pieces gets the mean of its pieces' rows. These values "
        "are read-only; switch to hand-made vectors to type your own."
    )
    first = st.number_input(
        "Show 8 dimensions starting at",
        min_value=1,
        max_value=d - 7,
        value=1,
        key="w_model_dims",
        persist_state="session",
    )
    shown = slice(int(first) - 1, int(first) + 7)
    table(matrix_frame(x[:, shown], tokens, DIMS[shown]), key="model_embeddings_table")
    return shown


def section_query() -> int:
    st.header("Pick a query token")
    st.markdown(
        "The *query* is the token whose context vector we build. "
        "Every token, the query included, is compared with it."
    )
    return inputs.query_picker()


def section_scores(walk: QueryWalkthrough) -> None:
    q = walk.query_index
    st.header("Step 1 · Attention scores")
    st.markdown(
        "The score of token j for the query i is the **dot product** ω(i, j) = x(i) · x(j): "
        "multiply the vectors entry by entry and add up. Vectors that point the same way get "
        "large scores; vectors at right angles get 0; opposite ones get negative scores."
    )
    plot(charts.scores_bar(walk.attn_scores, tokens, q), key="query_scores_bar")
    arithmetic = [
        f"ω({q + 1},{dp.key_index + 1}) = "
        + " + ".join(
            elide(
                [
                    f"{fmt_factor(a)}×{fmt_factor(b)}"
                    for a, b in zip(dp.left.tolist(), dp.right.tolist(), strict=True)
                ]
            )
        )
        + f" = {fmt(dp.value)}"
        + f"    ({tokens[q]} · {tokens[dp.key_index]})"
        for dp in walk.dot_products
    ]
    st.caption("The dot products, term by term:")
    st.code("\n".join(arithmetic), language=None, wrap_lines=True)


def section_weights(walk: QueryWalkthrough) -> None:
    q = walk.query_index
    st.header("Step 2 · Attention weights")
    st.markdown(
        "Scores can be any size, so we **normalise** them into weights a(i, j) that are "
        "positive and add up to 1. Three ways, side by side:\n"
        "- **sum normalisation**: ω(i, j) / Σⱼ ω(i, j)\n"
        "- **naive softmax**: exp(ω(i, j)) / Σⱼ exp(ω(i, j))\n"
        "- **softmax (stable)**: the same, computed as exp(ω − max ω) / Σ exp(ω − max ω), "
        "which PyTorch's `torch.softmax` does"
    )
    weights_by_method = {method: n.weights for method, n in walk.normalized.items()}
    plot(charts.weights_grouped_bar(weights_by_method, tokens, q), key="query_weights_bars")
    step2 = matrix_frame(
        walk.attn_scores[:, None],
        tokens,
        ["score"],
    )
    for method, label in (
        ("sum", "sum normalisation"),
        ("naive_softmax", "naive softmax"),
        ("softmax", "softmax (stable)"),
    ):
        step2[label] = walk.normalized[method].weights.double().tolist()
    table(step2, key="query_weights_table")
    st.caption(
        "Sum of the weights: "
        + " · ".join(
            f"{label} = {fmt(walk.normalized[method].total)}"
            for method, label in (
                ("sum", "sum normalisation"),
                ("naive_softmax", "naive softmax"),
                ("softmax", "softmax (stable)"),
            )
        )
    )
    sum_weights = walk.normalized["sum"].weights
    if not bool(sum_weights.isfinite().all()) or bool((sum_weights < 0).any()):
        st.warning(
            "Sum normalisation breaks here: with negative scores (or scores that add up to 0) "
            "it gives negative or undefined weights. Softmax never does.",
            icon=":material/warning:",
        )
    if not bool(walk.normalized["naive_softmax"].weights.isfinite().all()):
        st.warning(
            "The naive softmax overflowed: exp of a score above about 88 is too large for a "
            "32-bit float (inf), and inf / inf is NaN. The stable softmax subtracts the largest "
            "score first, so every exp is at most 1, and gets the right answer.",
            icon=":material/warning:",
        )
    st.info(
        "**Why softmax?** Every weight is positive even when scores are negative; large scores "
        "stand out more (exp grows fast) without ever reaching exactly 0 or 1; and it is smooth, "
        "so gradients flow to every score during training. Subtracting the row's largest score "
        "changes nothing mathematically but keeps exp from overflowing.",
        icon=":material/lightbulb:",
    )


def section_context(x: torch.Tensor, walk: QueryWalkthrough) -> None:
    q, d = walk.query_index, x.shape[1]
    st.header("Step 3 · Context vector")
    st.markdown(
        "The context vector is the weighted sum of **all** input vectors, using the softmax "
        "weights: z(i) = Σⱼ a(i, j) · x(j). Because the weights are positive and add up to 1, "
        "z(i) is an average that leans towards the tokens with the most weight."
    )
    weighted_sum = [
        f"{fmt(a)} × [{', '.join(elide([fmt_input(v) for v in row]))}]    ({tokens[j]})"
        for j, (a, row) in enumerate(zip(walk.attn_weights.tolist(), x.tolist(), strict=True))
    ]
    context_text = ", ".join(elide([fmt(v) for v in walk.context_vec.tolist()]))
    weighted_sum.append(f"z({q + 1}) = [{context_text}]")
    st.code(
        "\n+ ".join(weighted_sum[:-1]) + "\n= " + weighted_sum[-1], language=None, wrap_lines=True
    )

    three_d = d == 3 and st.toggle(
        "Draw in 3-D (drag to turn it)",
        key="w_vectors_3d",
        persist_state="session",
        help="The 3-D picture shows the raw vectors from the origin. It takes longer to draw "
        "than the flat one, so it is off by default.",
    )
    if d == 2 or three_d:
        figure = charts.vectors_figure(
            x,
            tokens,
            walk.context_vec,
            q,
            title=f"The input vectors and the context vector z({q + 1})",
            axis_titles=DIMS,
            from_origin=True,
        )
        st.caption("Grey lines run from the origin to each input vector; the diamond is z.")
    else:
        projection = pca_2d(x)
        figure = charts.vectors_figure(
            projection.points,
            tokens,
            projection.project(walk.context_vec),
            q,
            title=f"The input vectors and z({q + 1}), projected to 2-D (PCA)",
            axis_titles=["principal component 1", "principal component 2"],
            from_origin=False,
        )
        kept = float(projection.explained.sum())
        why = (
            "For a flat picture"
            if d == 3
            else f"With d = {d} the vectors cannot be drawn directly, so"
        )
        st.caption(
            f"{why} the vectors are projected onto the two directions along which they vary "
            f"most (PCA). The picture keeps {kept:.0%} of their spread; distances in it are "
            "only approximate."
        )
    plot(figure, key="vectors_plot")


def section_matrices(steps: AttentionSteps, walk: QueryWalkthrough, shown: slice) -> None:
    q, (T, d) = walk.query_index, steps.context_vecs.shape
    st.header("All tokens at once: matrices")
    st.markdown(
        "Doing this for every query is three matrix products: scores **Ω = X Xᵀ**, "
        "weights **A = softmax(Ω)** row by row, context vectors **Z = A X**. Row i of each "
        "matrix is exactly what the steps above computed for query i."
    )
    left, right = side_by_side(2)
    with left:
        plot(
            charts.attention_heatmap(
                steps.attn_scores,
                tokens,
                title="Attention scores Ω = X Xᵀ",
                value_name="score",
                weights=False,
            ),
            key="scores_heatmap",
        )
    with right:
        plot(
            charts.attention_heatmap(
                steps.attn_weights,
                tokens,
                title="Attention weights A = softmax(Ω)",
                value_name="weight",
            ),
            key="weights_heatmap",
        )
    if T > charts.MAX_CELL_TEXT:
        st.caption(
            f"With more than {charts.MAX_CELL_TEXT} tokens the cells are too small for numbers: "
            "hover over a cell to read it."
        )
    st.subheader("Context vectors Z = A X")
    table(
        matrix_frame(steps.context_vecs[:, shown], tokens, [f"z {c}" for c in DIMS[shown]]),
        key="context_table",
    )
    if d > len(DIMS[shown]):
        st.caption(f"Showing the same 8 of the {d} dimensions as the embeddings table above.")
    difference = float((steps.context_vecs[q] - walk.context_vec).abs().max())
    agreement(f"Check: row {q + 1} of Z equals the step-by-step z({q + 1}) above", difference)


def section_each_query(steps: AttentionSteps, query: int) -> None:
    T = steps.attn_weights.shape[0]
    st.header("Attention weights for each query")
    if T <= charts.MAX_CELL_TEXT:
        st.markdown(
            "Every query's row of the weights matrix as bars: drag the slider under the chart "
            "to step through the queries. The query's own bar is the orange, hatched one; all "
            "rows share one axis, so you can compare them."
        )
        plot(charts.weights_by_query(steps.attn_weights, tokens, query), key="weights_by_query")
    else:
        st.markdown(
            f"With {T} tokens a chart per query would be unreadable. Pick a query above to "
            "see its weights in Step 2, or hover over a row of the weights heatmap."
        )


st.title("Simple self-attention")
st.caption("Attention Explorer · Lesson 1 of 5 · no trainable weights yet")
x, source = embeddings()  # (T, d)
DIMS = [f"dim {j + 1}" for j in range(x.shape[1])]
steps = simple_attention(x)

if present.presenting():
    STEP_TITLES = ["Tokens as vectors", "Scores", "Weights", "Context vector", "All at once"]
    current = present.step_controls(STEP_TITLES)
    if current == 0:
        section_inputs(x, source)
    else:
        walk = query_walkthrough(x, inputs.query_picker())
        if current == 1:
            section_scores(walk)
        elif current == 2:
            section_weights(walk)
        elif current == 3:
            section_context(x, walk)
        else:
            section_matrices(steps, walk, slice(0, 8))
else:
    st.markdown(
        "Self-attention turns each token's vector **x(i)** into a **context vector z(i)**: "
        "a weighted average of *all* the tokens' vectors, where the weights say how relevant "
        "each token is to token i. This lesson computes it in three steps, first for one query "
        "token, then for all of them at once. Change any number and watch everything follow."
    )
    shown = section_inputs(x, source)
    walk = query_walkthrough(x, section_query())
    section_scores(walk)
    section_weights(walk)
    section_context(x, walk)
    section_matrices(steps, walk, shown)
    section_each_query(steps, walk.query_index)
    st.header("Take the numbers home")
    lesson1 = lesson1_data(tokens, x, steps)
    export_panel(lesson1, pytorch_snippet(lesson1), key_prefix="l1")
