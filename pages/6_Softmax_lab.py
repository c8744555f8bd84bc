"""Softmax lab: one row of scores ω, three ways to turn it into weights, and where two of them
break in 32-bit floats. The logic is in lessons/softmax_lab.py; this page only draws it."""

from __future__ import annotations

import streamlit as st

import charts
from lessons import softmax_lab as lab
from lessons.validate import InputError
from ui import page, present, quiz
from ui.present import presenting
from ui.show import plot, side_by_side, text_table

PATH = "pages/6_Softmax_lab.py"
LESSON_1 = "app.py"
SCORES = "ax_softmax_scores"  # canonical: the last good row of scores, a list of floats
ERROR = "ax_softmax_error"  # the message about the last bad input, if any
W_SCORES, W_SCALE = "w_softmax_scores_text", "w_softmax_scale"
ICONS = {"success": ":material/check_circle:", "info": ":material/info:"}


def on_scores_change() -> None:
    try:
        st.session_state[SCORES] = lab.parse_scores(st.session_state[W_SCORES])
    except InputError as error:
        st.session_state[ERROR] = str(error)
        return
    st.session_state.pop(ERROR, None)


def use_preset(scores: list[float]) -> None:
    st.session_state[SCORES] = list(scores)
    st.session_state[W_SCORES] = lab.scores_text(scores)
    st.session_state.pop(ERROR, None)


def say(verdict: lab.Verdict) -> None:
    """A verdict as a coloured box (its text is the app's own, never user text)."""
    show_box = {"success": st.success, "info": st.info, "warning": st.warning}[verdict.kind]
    show_box(verdict.text, icon=ICONS.get(verdict.kind, ":material/warning:"))


info = page.start(PATH)
st.session_state.setdefault(SCORES, list(lab.GOLDEN_SCORES))
st.session_state.setdefault(W_SCORES, lab.scores_text(st.session_state[SCORES]))
page.header(info, "Softmax lab", "from scores to weights, and where it can go wrong")
STEPS = lab.STEPS
show = page.steps(STEPS)

if show(0):
    st.markdown(
        "**Builds on lesson 1's attention-weights step.** There each query's row of scores "
        "ω(i, j) = x(i) · x(j) became weights a(i, j) by softmax. Here you type one such row "
        "yourself and compare three ways to turn it into weights, which should lie between 0 "
        "and 1 and add up to 1: sum normalisation, a naive softmax, and the stable softmax "
        "PyTorch uses. Every number is computed in 32-bit floats (float32), as in a real "
        "model, so you also see where the first two break."
    )
    st.page_link(LESSON_1, label="Back to lesson 1: simple self-attention", icon=":material/undo:")
    page.heading(STEPS[0])
    st.text_input(
        f"Scores ω, {lab.MIN_SCORES} to {lab.MAX_SCORES} numbers separated by commas (press Enter)",
        key=W_SCORES,
        on_change=on_scores_change,
        persist_state="session",
        help="Each score is a number between -10000 and 10000. Use a point for decimals (0.5), "
        "or separate the scores with semicolons to write a decimal comma (0,5; 1,5).",
    )
    if ERROR in st.session_state:
        st.error(st.session_state[ERROR], icon=":material/error:")
        st.caption(
            "The lab still shows the last good scores: " + lab.scores_text(st.session_state[SCORES])
        )
    st.caption("Or start from an example:")
    with st.container(horizontal=True):
        for name, (label, preset) in lab.PRESETS.items():
            st.button(label, key=f"w_softmax_preset_{name}", on_click=use_preset, args=(preset,))
    st.select_slider(
        "Multiply every score by m",
        options=lab.SCALES,
        value=1.0,
        format_func=lambda m: f"×{m:g}",
        key=W_SCALE,
        persist_state="session",
        help="×1 keeps your scores. Go up to ×1000 to see the naive softmax overflow.",
    )
scale = float(st.session_state.get(W_SCALE, 1.0))
row = lab.compute(st.session_state[SCORES], scale)
if not show(0):
    st.caption(f"Scores ω = {lab.scores_text(st.session_state[SCORES])}; m = {scale:g}")
else:
    st.markdown(lab.scale_sentence(scale))

if show(1):
    page.heading(STEPS[1])
    slot = present.picture_slot()  # the chart first on a projector
    st.markdown(
        "- **sum normalisation**: m·ω(j) / Σ_l m·ω(l)\n"
        "- **naive softmax**: exp(m·ω(j)) / Σ_l exp(m·ω(l))\n"
        "- **softmax (stable)**: the same, after subtracting the largest score from every "
        "score first; what `torch.softmax` does"
    )
    plot(
        charts.normalization_bars(
            row.weights,
            row.labels,
            title=f"Weights of the row m·ω (m = {scale:g})",
            present=presenting(),
        ),
        key="softmax_lab_bars",
        container=slot,
    )
    broken = lab.nonfinite_methods(row)
    if broken:
        st.caption(
            "Gaps in the chart: " + " and ".join(broken) + " gave inf or NaN here, which "
            "cannot be drawn as a bar; the word at the foot of each gap says which it is."
        )
    text_table(
        lab.weights_table(row),
        key="softmax_lab_table",
        helps={"m·ω": f"each score ω times m = {scale:g}"}
        | {lab.SHORT[m]: f"weights by {name}" for m, name in lab.METHODS.items()},
    )
    st.caption(
        "Columns: m·ω, then the weights by sum normalisation, naive softmax and stable "
        "softmax. The last row adds up each column: weights that work add up to 1."
    )

if show(2):
    page.heading(STEPS[2])
    st.markdown(
        "Dividing by the sum only gives sensible weights when every score is positive or 0, "
        "and at least one is above 0. "
        "Scores are dot products, so they can be negative: then a weight can be negative or "
        "above 1, a negative sum reverses the order, and a sum of 0 leaves nothing to divide by."
    )
    say(lab.sum_verdict(row))
    st.markdown(
        "Softmax does not have this problem: exp grows with the score and is above 0 for "
        "every score (in exact arithmetic; float32 can round a tiny exp to 0), so its weights "
        "keep the order of the scores and are never negative."
    )

if show(3):
    page.heading(STEPS[3])
    st.markdown(
        f"A float32 holds numbers up to about 3.4 × 10³⁸, so exp(m·ω) overflows to **inf** as "
        f"soon as m·ω is above about {lab.EXP_LIMIT:.2f}, and inf / inf is **NaN** (not a "
        "number). Below about −104, exp(m·ω) underflows to 0 instead. Dot products of vectors "
        "with more dimensions tend to be larger (for independent zero-mean, unit-variance "
        "entries their variance is d_k), which is why lesson 2 divides them by √d_k."
    )
    naive_column, stable_column = side_by_side(2)
    with naive_column:
        st.subheader("Naive: exp(m·ω) straight away")
        text_table(lab.naive_table(row), key="softmax_lab_naive_table")
    with stable_column:
        st.subheader("Stable: subtract the largest first")
        text_table(lab.stable_table(row), key="softmax_lab_stable_table")
    say(lab.naive_verdict(row))
    st.subheader("The fix: subtract the largest score first")
    st.markdown(
        "Subtracting the same number c from every score changes no weight in exact "
        "arithmetic: exp(m·ω − c) = exp(m·ω) · exp(−c), and the factor exp(−c) cancels "
        "between each weight and the sum. With c = the largest score, the largest shifted "
        "score is exactly 0 and the others are 0 or below, so every exp lies between 0 and 1: "
        "nothing overflows, and the sum is at least 1, so it never underflows to 0."
    )
    st.code(lab.stable_steps(row), language=None, wrap_lines=True)

if show(4):
    page.heading(STEPS[4])
    st.markdown(
        "Guess first, then check. The answers are computed from your current row m·ω, so "
        "they follow every change you make to the scores or to m."
    )
    row_id = (scale, *st.session_state[SCORES])
    for (name, question), column in zip(
        zip(("top", "max"), lab.doubling_questions(row), strict=True),
        side_by_side(2),
        strict=True,
    ):
        with column:
            quiz.ask(
                name,
                row_id,
                question,
                "scores",
            )

st.divider()
st.page_link(LESSON_1, label="Back to lesson 1: simple self-attention", icon=":material/undo:")
