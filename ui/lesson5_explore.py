"""Lesson 5's explore steps on screen: two heads side by side, the head summary, attention
rollout, what a head passes on, and word order. The logic and words are in
lessons/lesson5_explore.py (and lessons/explore.py); analyses are cached per sentence."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

import charts
from attention.analysis import HeadNorms, OrderComparison
from charts.layers import position_similarity_heatmap
from lessons import lesson5_explore as lx
from lessons.explore import FLOW_TEXT, NORMS_TEXT, ROLLOUT_TEXT, head_rule_text
from ui import lazy, page, pretrained
from ui.present import presenting
from ui.show import plot, side_by_side


@st.cache_resource(max_entries=16, show_spinner="Analysing the layers…")
def analysis_for(text: str) -> lx.Analysis:
    """The encoder's states, rollout and head summary for `text` (a sentence lesson 5 took).
    Shared by every session (cache_resource: no copy per rerun); never mutated."""
    return lx.analyse(text, pretrained.model())


@st.cache_data(max_entries=64, show_spinner=False)
def norms_for(text: str, layer: int, head: int) -> HeadNorms:
    """‖a(i, j) · v(j) W_O‖ of one head for `text`: weighted_norms (T, T)."""
    return lx.head_passes_on(pretrained.model(), analysis_for(text), layer, head)


@st.cache_resource(max_entries=32, show_spinner="Running the swapped sentence…")
def swap_for(text: str, first: int, second: int) -> OrderComparison:
    """Both orders' weights (L, h, T, T), in the original token order, and their difference."""
    return lx.swap_words(pretrained.model(), analysis_for(text), first, second)


@st.cache_resource(show_spinner=False)
def positions_for(n: int) -> lx.PositionFigures:
    """The first n position embeddings' similarity (shared by every session; never mutated)."""
    return lx.position_figures(pretrained.model(), n)


def layer_head(key: str, L: int, h: int, label: str = "", default: tuple[int, int] = (0, 0)):
    """Two selects, layer and head (0-based values, 1-based on screen)."""
    left, right = st.columns(2)
    layer = left.selectbox(
        f"{label}Layer".strip(),
        list(range(L)),
        index=default[0],
        format_func=lambda i: f"Layer {i + 1}",
        key=f"{key}_layer",
    )
    head = right.selectbox(
        f"{label}Head".strip(),
        list(range(h)),
        index=default[1],
        format_func=lambda i: f"Head {i + 1}",
        key=f"{key}_head",
    )
    return int(layer), int(head)


def title_of(layer: int, head: int) -> str:
    return f"Layer {layer + 1}, head {head + 1}"


def three_maps(figures, keys: tuple[str, str, str], words: str) -> None:
    """Two maps side by side, then their difference next to `words` (three maps in one row
    leave 13 tokens' cells too thin at 1280 px; on a phone every column stacks)."""
    for column, figure, key in zip(side_by_side(2), figures[:2], keys[:2], strict=True):
        with column:
            plot(figure, key=key)
    left, right = side_by_side(2)
    with left:
        plot(figures[2], key=keys[2])
    right.markdown(words)


def compare_step(analysis: lx.Analysis) -> None:
    weights = analysis.states.attn_weights  # (L, h, T, T)
    L, h = weights.shape[:2]
    columns = st.columns(2)
    with columns[0]:
        a = layer_head("w_l5x_a", L, h, "A: ", (0, 0))
    with columns[1]:
        b = layer_head("w_l5x_b", L, h, "B: ", (min(1, L - 1), 0))
    figures = charts.compare_heatmaps(
        weights[a], weights[b], analysis.tokens, (title_of(*a), title_of(*b)), present=presenting()
    )
    three_maps(figures, ("l5x_compare_a", "l5x_compare_b", "l5x_compare_diff"), lx.COMPARE_TEXT)


def summary_step(analysis: lx.Analysis) -> None:
    st.markdown(head_rule_text(analysis.summary.threshold))
    groups = analysis.groups
    label = st.segmented_control(
        "Heads labelled",
        list(groups),
        format_func=lambda name: lx.group_label(name, len(groups[name])),
        default="previous",
        required=True,
        key="w_l5x_group",
    )
    members = groups[label or "previous"]
    if not members:
        st.info("No head has this label on this sentence.", icon=":material/info:")
        return
    chosen = st.pills(
        "Heads with this label (click one to see it)",
        list(range(len(members))),
        format_func=lambda n: lx.head_name(*members[n]),
        default=0,
        key=f"w_l5x_member_{label}",
    )
    layer, head = members[chosen if chosen is not None else 0]
    left, right = side_by_side(2)
    page.heatmap(
        analysis.states.attn_weights[layer, head],
        analysis.tokens,
        f"{title_of(layer, head)}: attention weights a(i, j)",
        "l5x_group_head",
        container=left,
    )
    with right:
        st.caption("Its shares (averaged over the queries)")
        st.code("\n".join(lx.shares_lines(analysis.summary, layer, head)), language=None)


def rollout_step(analysis: lx.Analysis) -> None:
    st.markdown(ROLLOUT_TEXT)
    L, T = analysis.rollout.shape[:2]
    columns = st.columns(2)
    after = columns[0].selectbox(
        "Rollout after layer",
        list(range(L)),
        index=L - 1,
        format_func=lambda i: f"Layer {i + 1}",
        key="w_l5x_rollout_layer",
    )
    token = columns[1].selectbox(
        "Token i",
        list(range(T)),
        format_func=lambda i: f"{i + 1}: {analysis.tokens[i]}",
        key="w_l5x_rollout_token",
    )
    rollout = analysis.rollout[after]  # (T, T)
    left, right = side_by_side(2)
    page.heatmap(
        rollout,
        analysis.tokens,
        f"Rollout after layer {after + 1}: share of input token j in token i",
        "l5x_rollout",
        value_name="rollout share",
        axes=("token i (after the layers)", "input token j"),
        container=left,
    )
    with right:
        plot(
            charts.query_bar(
                rollout[token],
                analysis.tokens,
                token,
                title=f"Token {token + 1} after layer {after + 1}, by rollout",
                value_name="rollout share",
                y_title="share of input token j",
                present=presenting(),
            ),
            key="l5x_rollout_bar",
        )
    st.markdown(FLOW_TEXT)


def norms_step(text: str, analysis: lx.Analysis) -> None:
    st.markdown(NORMS_TEXT)
    L, h = analysis.states.attn_weights.shape[:2]
    st.caption("First shown: the head that gives [CLS] the most weight on this sentence.")
    layer, head = layer_head("w_l5x_norm", L, h, default=lx.heaviest_on(analysis.summary, "[CLS]"))
    norms = norms_for(text, layer, head)
    left, right = side_by_side(2)
    page.heatmap(
        norms.attn_weights,
        analysis.tokens,
        f"{title_of(layer, head)}: the weight a(i, j)",
        "l5x_norm_weight",
        container=left,
    )
    page.heatmap(
        norms.weighted_norms,
        analysis.tokens,
        f"{title_of(layer, head)}: what it passes on, ‖a(i, j) · v(j) W_O‖",
        "l5x_norm_carried",
        value_name="‖a(i, j) · v(j) W_O‖",
        container=right,
    )
    st.markdown(lx.norms_sentence(norms, layer, head))


def order_step(text: str, analysis: lx.Analysis) -> None:
    st.markdown(lx.ORDER_INTRO)
    labels = lx.word_labels(analysis.tokens, analysis.spans)
    if len(labels) < 2:
        st.info(
            "Type a sentence of at least two words to swap two of them.",
            icon=":material/info:",
        )
        return
    L, h = analysis.states.attn_weights.shape[:2]
    columns = st.columns(2)
    first = columns[0].selectbox(
        "Swap word", list(range(len(labels))), format_func=labels.__getitem__, key="w_l5x_swap_1"
    )
    second = columns[1].selectbox(
        "with word",
        list(range(len(labels))),
        index=1,
        format_func=labels.__getitem__,
        key="w_l5x_swap_2",
    )
    comparison = swap_for(text, int(first), int(second))
    st.caption("The swapped sentence's tokens:")
    st.code(
        " · ".join(lx.swapped_tokens(analysis.tokens, comparison.order)),
        language=None,
        wrap_lines=True,
    )
    layer, head = layer_head("w_l5x_order", L, h)
    figures = charts.compare_heatmaps(
        comparison.original[layer, head],
        comparison.other[layer, head],
        analysis.tokens,
        (
            f"{title_of(layer, head)}: your order",
            f"{title_of(layer, head)}: words swapped",
            "Difference: your order − words swapped",
        ),
        present=presenting(),
    )
    keys = ("l5x_order_a", "l5x_order_b", "l5x_order_diff")
    three_maps(figures, keys, lx.order_text(comparison, layer, head))
    figures = positions_for(lx.positions_shown(len(analysis.tokens)))
    left, right = side_by_side(2)
    with left:
        plot(
            position_similarity_heatmap(
                figures.similarity,
                title=f"The first {figures.similarity.shape[0]} position embeddings: "
                "cosine similarity",
                distances=figures.distances,
                present=presenting(),
            ),
            key="l5x_positions",
        )
    right.markdown(lx.positions_text(figures))


OPEN_LABEL = "Show this step's charts"


def render(text: str, show: Callable[[int], bool], first: int) -> None:
    """The explore steps, numbered from `first` in the page's steps (lx.STEP_TITLES). Outside
    presentation mode each step's charts sit in a closed expander that runs only while open
    (ui/lazy.py), so the analysis is made and the charts drawn only for a student who asks."""
    titles = lx.STEP_TITLES
    steps = (
        lambda: compare_step(analysis_for(text)),
        lambda: summary_step(analysis_for(text)),
        lambda: rollout_step(analysis_for(text)),
        lambda: norms_step(text, analysis_for(text)),
        lambda: order_step(text, analysis_for(text)),
    )
    for n, (title, step) in enumerate(zip(titles, steps, strict=True)):
        if not show(first + n):
            continue
        page.heading(title)
        if presenting():
            step()
            continue
        box = lazy.section(OPEN_LABEL, lazy.opened_key("l5x", f"step{n + 1}"))
        if box is not None:
            with box:
                step()
