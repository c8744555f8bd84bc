"""Softmax lab: one row of scores, three ways to turn it into weights, and where two of them
break in 32-bit floats."""

from __future__ import annotations

import math

import streamlit as st
import torch

import charts
from attention import normalize
from lessons.numbers import fmt_any, fmt_row
from lessons.validate import InputError, check_value
from ui import inputs, quiz
from ui.show import plot, text_table

# The seed notebook's softmax example: softmax gives 0.2105, 0.1469, 0.2676, 0.0822, 0.2928.
GOLDEN_SCORES = [0.12, -0.24, 0.36, -0.82, 0.45]
MIN_SCORES, MAX_SCORES = 2, 16
SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
PRESETS = {
    "golden": ("Golden example", GOLDEN_SCORES),
    "negative": ("Negative sum", [0.5, -1.0, 0.25, -0.25]),
    "zero_sum": ("Scores add up to 0", [2.0, -1.0, 0.0, 3.0, -4.0]),
    "large": ("Large scores (about 100)", [100.0, 85.0, 103.0, 60.0, 101.0]),
}
METHODS = {
    "sum": "sum normalisation",
    "naive_softmax": "naive softmax",
    "softmax": "softmax (stable)",
}
SHORT = {"sum": "sum", "naive_softmax": "naive", "softmax": "stable"}  # narrow table headers
EXP_LIMIT = math.log(torch.finfo(torch.float32).max)  # about 88.72

# Canonical state under plain keys (widget keys are dropped on a page switch).
SCORES = "ax_softmax_scores"  # the last good row of scores, a list of floats
ERROR = "ax_softmax_error"  # the message about the last bad input, if any
W_SCORES = "w_softmax_scores_text"
W_SCALE = "w_softmax_scale"


# Input -----------------------------------------------------------------------------------------


def parse_scores(text: str) -> list[float]:
    """MIN_SCORES..MAX_SCORES checked numbers from text: separated by commas (or by
    semicolons, then a comma may be the decimal mark, "0,5; 1,5"), or by spaces alone."""
    text = text.strip()
    if not text:
        raise InputError(
            f"The scores are empty. Type {MIN_SCORES} to {MAX_SCORES} numbers separated by "
            "commas, for example 0.12, -0.24, 0.36."
        )
    if ";" in text:
        parts = text.split(";")
    elif "," in text:
        parts = text.split(",")
    else:
        parts = text.split()
    if len(parts) > MAX_SCORES:
        raise InputError(
            f"That is {len(parts)} scores; the lab takes at most {MAX_SCORES}. "
            "Remove some and press Enter again."
        )
    scores = [check_value(part, f"Score {j + 1}") for j, part in enumerate(parts)]
    if len(scores) < MIN_SCORES:
        raise InputError(
            f"That is one score; the lab needs {MIN_SCORES} to {MAX_SCORES}, separated by commas."
        )
    return scores


def scores_text(scores: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in scores)


def on_scores_change() -> None:
    try:
        st.session_state[SCORES] = parse_scores(st.session_state[W_SCORES])
    except InputError as error:
        st.session_state[ERROR] = str(error)
        return
    st.session_state.pop(ERROR, None)


def use_preset(scores: list[float]) -> None:
    st.session_state[SCORES] = list(scores)
    st.session_state[W_SCORES] = scores_text(scores)
    st.session_state.pop(ERROR, None)


# Display helpers -------------------------------------------------------------------------------


# Page ------------------------------------------------------------------------------------------

st.set_page_config(page_title="Attention Explorer: softmax lab", layout="wide")
inputs.sidebar()
if SCORES not in st.session_state:
    st.session_state[SCORES] = list(GOLDEN_SCORES)
if W_SCORES not in st.session_state:
    st.session_state[W_SCORES] = scores_text(st.session_state[SCORES])

st.title("Softmax lab")
st.caption("Attention Explorer · lab · from scores to weights, and where it can go wrong")
st.markdown(
    "Attention turns a row of **scores** (how well one query matches each key) into "
    "**weights** that are positive and add up to 1. Here you type that row yourself and "
    "compare three ways of doing it: sum normalisation, a naive softmax and the stable "
    "softmax PyTorch uses. Every number below is computed in 32-bit floats (float32), as in "
    "a real model, so you also see where the first two break."
)

st.header("Your row of scores ω")
st.text_input(
    f"Scores ω, {MIN_SCORES} to {MAX_SCORES} numbers separated by commas (press Enter)",
    key=W_SCORES,
    on_change=on_scores_change,
    persist_state="session",
    help="Each score is a number between -10000 and 10000. Use a point for decimals (0.5), "
    "or separate the scores with semicolons to write a decimal comma (0,5; 1,5).",
)
if ERROR in st.session_state:
    st.error(st.session_state[ERROR], icon=":material/error:")
    st.caption("The lab still shows the last good scores: " + scores_text(st.session_state[SCORES]))
st.caption("Or start from an example:")
with st.container(horizontal=True):
    for name, (label, preset) in PRESETS.items():
        st.button(label, key=f"w_softmax_preset_{name}", on_click=use_preset, args=(preset,))

scale = st.select_slider(
    "Multiply every score by s",
    options=SCALES,
    value=1.0,
    format_func=lambda s: f"×{s:g}",
    key=W_SCALE,
    persist_state="session",
    help="×1 keeps your scores. Go up to ×1000 to see the naive softmax overflow.",
)
st.markdown(
    f"The weights are computed from **z = s × ω** (here s = {scale:g}). Multiplying by s is "
    f"the same as dividing by a softmax *temperature* T = 1/s (here T = {1 / scale:g}): "
    "s above 1 sharpens the weights towards the largest score, s below 1 flattens them "
    "towards equal weights."
)

omega = torch.tensor(st.session_state[SCORES], dtype=torch.float32)  # (T,)
z = omega * scale  # (T,) float32, the row every method below normalises
T = z.shape[0]
labels = [f"x{j + 1}" for j in range(T)]
weights = {method: normalize(z, method) for method in METHODS}  # each (T,)

# Side by side ----------------------------------------------------------------------------------
st.header("Three normalisations side by side")
st.markdown(
    "- **sum normalisation**: z(j) / Σ z\n"
    "- **naive softmax**: exp(z(j)) / Σ exp(z)\n"
    "- **softmax (stable)**: exp(z(j) − max z) / Σ exp(z − max z), what `torch.softmax` does"
)
plot(
    charts.normalization_bars(weights, labels, title=f"Weights of the row z = {scale:g} × ω"),
    key="softmax_lab_bars",
)
nonfinite = [METHODS[m] for m, w in weights.items() if not bool(w.isfinite().all())]
if nonfinite:
    st.caption(
        "Gaps in the chart: " + " and ".join(nonfinite) + " gave inf or NaN here, which "
        "cannot be drawn as a bar; the word at the foot of each gap says which it is."
    )
text_table(
    {"entry": [*labels, "total"]}
    | {"z": [*(fmt_any(v) for v in z.double().tolist()), fmt_any(float(z.sum()))]}
    | {
        SHORT[m]: [*(fmt_any(v) for v in w.double().tolist()), fmt_any(float(w.sum()))]
        for m, w in weights.items()
    },
    key="softmax_lab_table",
    helps={"z": f"z = s × ω, the score times s = {scale:g}"}
    | {SHORT[m]: f"weights by {METHODS[m]}" for m in METHODS},
)
st.caption(
    "Columns: z = s × ω, then the weights by sum normalisation, naive softmax and stable "
    "softmax. The last row adds up each column: weights that work add up to 1."
)

# Where sum normalisation breaks ----------------------------------------------------------------
st.header("Where sum normalisation breaks: negative scores")
st.markdown(
    "Dividing by the sum only gives sensible weights when every score is positive. Scores "
    "are dot products, so they can be negative, and then the weights can be negative or "
    "larger than 1; when the scores add up to 0 there is nothing to divide by."
)
total = float(z.sum())
sum_weights = weights["sum"]
if total == 0.0:
    st.warning(
        "The scores z add up to exactly 0 in float32, so sum normalisation divides by zero: "
        "every non-zero score becomes inf or -inf, and a score of 0 becomes 0 / 0 = NaN.",
        icon=":material/warning:",
    )
elif bool((sum_weights < 0).any()) or bool((sum_weights > 1).any()):
    problems = [
        f"{count} of the {T} weights {'is' if count == 1 else 'are'} {what}"
        for count, what in (
            (int((sum_weights < 0).sum()), "negative"),
            (int((sum_weights > 1).sum()), "above 1"),
        )
        if count
    ]
    message = (
        f"Sum normalisation breaks here: {' and '.join(problems)}, although together they "
        "still add up to 1."
    )
    if total < 0:
        lowest = int(torch.argmin(z))
        message += (
            f" The scores add up to a negative number ({fmt_any(total)}), so every sign flips: "
            f"the lowest score, {labels[lowest]}, gets the largest weight."
        )
    st.warning(message, icon=":material/warning:")
else:
    st.success(
        "Every score is positive or 0 here, so sum normalisation gives weights in 0..1 that "
        "add up to 1. Try the preset *Negative sum* or type a negative score.",
        icon=":material/check_circle:",
    )
st.markdown(
    "Softmax never has this problem: exp(z) is positive for every z, so the weights are "
    "always positive and the sum is never 0."
)

# Where the naive softmax breaks ----------------------------------------------------------------
st.header("Where the naive softmax breaks: large scores")
st.markdown(
    f"A float32 can hold numbers up to about 3.4 × 10³⁸, so exp(z) overflows to **inf** as "
    f"soon as z is above about {EXP_LIMIT:.2f}, and inf / inf is **NaN** (not a number). "
    "Below about −103 exp(z) underflows to 0 instead. Scores that large are not rare: "
    "unscaled dot products of long vectors get there (lesson 2)."
)
exp_naive = torch.exp(z)  # (T,) may hold inf or 0
shifted = z - z.max()  # (T,) every entry <= 0
exp_stable = torch.exp(shifted)  # (T,) every entry in (0, 1], the largest exactly 1
naive_column, stable_column = st.columns(2)
with naive_column:
    st.subheader("Naive: exp(z) straight away")
    text_table(
        {
            "entry": labels,
            "z": [fmt_any(v) for v in z.double().tolist()],
            "exp(z)": [fmt_any(v) for v in exp_naive.double().tolist()],
            "naive softmax": [fmt_any(v) for v in weights["naive_softmax"].double().tolist()],
        },
        key="softmax_lab_naive_table",
    )
with stable_column:
    st.subheader("Stable: exp(z − max z)")
    text_table(
        {
            "entry": labels,
            "z − max z": [fmt_any(v) for v in shifted.double().tolist()],
            "exp(z − max z)": [fmt_any(v) for v in exp_stable.double().tolist()],
            "softmax (stable)": [fmt_any(v) for v in weights["softmax"].double().tolist()],
        },
        key="softmax_lab_stable_table",
    )
overflowed = int(exp_naive.isinf().sum())
if overflowed:
    st.warning(
        f"The naive softmax overflowed: {overflowed} of the {T} values exp(z) "
        f"{'is' if overflowed == 1 else 'are'} inf, so "
        "their sum is inf. Each weight is exp(z) / inf: 0 where exp(z) stayed finite, "
        "NaN where it is inf itself.",
        icon=":material/warning:",
    )
elif float(exp_naive.sum()) == 0.0:
    st.warning(
        "The naive softmax underflowed: every exp(z) is 0 in float32, so each weight is "
        "0 / 0 = NaN.",
        icon=":material/warning:",
    )
elif not bool(weights["naive_softmax"].isfinite().all()):
    st.warning("The naive softmax gave inf or NaN here.", icon=":material/warning:")
else:
    st.info(
        f"No overflow at these scores: the largest exp(z) is {fmt_any(float(exp_naive.max()))}. "
        f"Push a score above {EXP_LIMIT:.2f} with a larger s, or press "
        "*Large scores (about 100)*.",
        icon=":material/info:",
    )
st.subheader("The fix: subtract the largest score first")
st.markdown(
    "Subtracting the same number c from every score changes nothing: exp(z − c) = "
    "exp(z) · exp(−c), and the factor exp(−c) cancels between each weight and the sum. "
    "With c = max z the largest shifted score is exactly 0 and the others are negative, so "
    "every exp lies between 0 and 1: nothing overflows, and the sum is at least 1, so it "
    "never underflows to 0."
)
st.code(
    f"max z          = {fmt_any(float(z.max()))}\n"
    f"z − max z      = {fmt_row(shifted)}\n"
    f"exp(z − max z) = {fmt_row(exp_stable)}\n"
    f"sum            = {fmt_any(float(exp_stable.sum()))}\n"
    f"softmax        = {fmt_row(weights['softmax'])}",
    language=None,
    wrap_lines=True,
)
stable = weights["softmax"]
st.caption(
    f"The stable softmax adds up to {fmt_any(float(stable.sum()))}"
    + ("." if bool(stable.isfinite().all()) else ", with non-finite entries.")
)

# Predict, then reveal --------------------------------------------------------------------------
st.header("Predict, then reveal")
st.markdown(
    "Guess first, then check. The answers are computed from your current row z, so they "
    "follow every change you make to the scores or to s."
)
row_id = (scale, *omega.tolist())
doubled = normalize(2 * z, "softmax")  # (T,) the stable softmax of the doubled row


top = float(doubled.max())
winners = [j for j in range(T) if float(doubled[j]) == top]
names = ", ".join(labels[j] for j in winners[:-1])
names = f"{names} and {labels[winners[-1]]}" if names else labels[winners[-1]]
before_top, after_top = float(stable.max()), top
if abs(after_top - before_top) <= 1e-6:
    change = "same"
else:
    change = "up" if after_top > before_top else "down"
CHANGES = {"up": "it goes up", "down": "it goes down", "same": "it stays the same"}
if change == "up":
    why = (
        "Each weight is the largest weight times exp(−gap), where the gap is how far its "
        "score lies below the largest score. Doubling doubles every gap, so the other "
        "weights shrink and the largest one, which takes what they give up, grows."
    )
elif bool((z == z[0]).all()):
    why = f"All the scores are equal, so every weight is 1/{T} whatever you multiply them by."
elif change == "same":
    why = (
        "The other scores already lie so far below the top that their weights are about 0 "
        "in float32: the top score already holds all the weight it can, so doubling "
        "cannot change it."
    )
else:
    why = "Doubling the scores changed the weights in this direction for this row."

left, right = st.columns(2)
with left:
    quiz.ask(
        "top",
        row_id,
        "If we double every score z, which entry gets the most weight (stable softmax)?",
        list(range(T)),
        lambda j: labels[j],
        set(winners),
        f"after doubling, {names} "
        + ("tie for" if len(winners) > 1 else "gets")
        + f" the most weight ({fmt_any(top)}).",
        "Doubling keeps the order of the scores, and softmax keeps the order too (a larger "
        "score always gets a larger exp), so the largest score keeps the largest weight. "
        f"Only its size changes: {fmt_any(float(stable[winners[0]]))} before doubling, "
        f"{fmt_any(top)} after.",
        inputs_name="scores",
    )
with right:
    quiz.ask(
        "max",
        row_id,
        "If we double every score z, what happens to the largest weight?",
        list(CHANGES),
        lambda c: CHANGES[c],
        {change},
        f"{CHANGES[change]}: {fmt_any(before_top)} before doubling, {fmt_any(after_top)} after.",
        why,
        inputs_name="scores",
    )
