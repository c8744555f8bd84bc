"""AppTest: the parts of lessons 1-4 that rerun alone (fragments). A query change reruns only
the parts that show the query, and what they draw is what a full run draws.

AppTest runs a fragment alone only when a callback names it (st.rerun with fragment keys), as
the query picker's does; a widget inside a fragment (the 3-D toggle, the cell explorer, a
lesson setting) reruns the whole script here, though only its fragment in a browser. For those
widgets these tests check the numbers; after a partial run, AppTest's element tree holds only
what that run drew, so a test runs the page in full before it touches another widget."""

from __future__ import annotations

import pytest
import torch
from app_support import chart, charts, open_app, step_label
from streamlit.testing.v1 import AppTest

from attention import SEED_INPUTS, SEED_TOKENS, query_walkthrough
from lessons import explore, lesson1, lesson2, lesson3, lesson4
from ui import lazy, state

TOL = 1e-6
X = torch.tensor(SEED_INPUTS, dtype=torch.float32)  # (T, 3), the seed example
T = len(SEED_TOKENS)
L1_QUERY_CHARTS = {"query_scores_bar", "query_weights_bars", "vectors_plot", "weights_by_query"}


def close(actual, expected, tol: float = TOL) -> bool:
    """Numbers (nested lists) equal within `tol`."""
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(
            close(a, e, tol) for a, e in zip(actual, expected, strict=True)
        )
    return abs(actual - expected) <= tol


@pytest.fixture
def full_runs(monkeypatch) -> dict[str, int]:
    """How many times each lesson's page ran its whole script: counts of lessonN.compute,
    which each page calls once per full run and never inside a part."""
    counts = {"1": 0, "2": 0, "3": 0, "4": 0}
    for name, module in (("1", lesson1), ("2", lesson2), ("3", lesson3), ("4", lesson4)):
        original = module.compute

        def counted(*args, _original=original, _name=name, **kwargs):
            counts[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, "compute", counted)
    return counts


def share_link(at: AppTest) -> str:
    """The sidebar's share link (its code block)."""
    links = [c.value for c in at.sidebar.code if c.value.startswith("?tokens=")]
    assert len(links) == 1, links
    return links[0]


def assert_as_a_full_run(at: AppTest) -> None:
    """Every chart the last (partial) run drew, and the share link, are what a full run of
    the page draws now."""
    partial, link = charts(at), share_link(at)
    assert partial
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    full = charts(at)
    for key, figure in partial.items():
        assert figure == full[key], key
    assert share_link(at) == link


# Lesson 1 ---------------------------------------------------------------------------------


def test_a_query_change_reruns_only_the_parts_that_show_the_query(full_runs):
    at = open_app(opened=[lazy.opened_key("l1", "rows")])
    assert full_runs["1"] == 1
    at.selectbox(key=state.W_QUERY).select(3).run()
    assert not at.exception, [e.value for e in at.exception]
    assert full_runs["1"] == 1  # the page's script did not run again
    assert set(charts(at)) == L1_QUERY_CHARTS  # no heatmap, no explorer: they were left alone
    walk = query_walkthrough(X, 3)
    assert close(chart(at, "query_scores_bar")["data"][0]["y"], walk.attn_scores.tolist())
    softmax = chart(at, "query_weights_bars")["data"][2]
    assert close(softmax["y"], walk.normalized["softmax"].weights.tolist())
    context = ", ".join(f"{v:.4f}" for v in walk.context_vec.tolist())
    assert any(c.value.endswith(f"= z(4) = [{context}]") for c in at.code)
    assert chart(at, "weights_by_query")["layout"]["sliders"][0]["active"] == 3
    assert any(
        s.value.startswith("Check: row 4 of Z equals the step-by-step z(4)") for s in at.success
    )
    # The question asks about the new query.
    assert any(
        r.label.startswith("Predict first: which key j gets the largest score ω(4, j)")
        for r in at.radio
    )
    # The share link and the address bar carry the new query.
    assert share_link(at).endswith("&q=3")
    assert at.query_params["q"] == "3"
    assert_as_a_full_run(at)
    assert full_runs["1"] == 2


def test_the_parts_keep_the_query_through_a_full_run(full_runs):
    at = open_app(opened=[lazy.opened_key("l1", "rows")])
    at.selectbox(key=state.W_QUERY).select(2).run()
    at.run()
    at.text_input(key=state.W_TOKENS).input(" ".join(SEED_TOKENS) + " new").run()
    assert full_runs["1"] == 3
    assert at.selectbox(key=state.W_QUERY).value == 2
    assert share_link(at).endswith("&q=2")
    assert chart(at, "weights_by_query")["layout"]["sliders"][0]["active"] == 2


def test_the_3d_toggle_draws_the_query_picked_before():
    at = open_app(opened=[lazy.opened_key("l1", "rows")])
    at.selectbox(key=state.W_QUERY).select(1).run()
    at.run()
    at.toggle(key="w_vectors_3d").set_value(True).run()
    assert not at.exception
    vectors = chart(at, "vectors_plot")["data"]
    assert vectors[-1]["type"] == "scatter3d"
    z = query_walkthrough(X, 1).context_vec.tolist()
    assert close([vectors[-1][a][0] for a in "xyz"], z)  # z(2), the query picked before


def test_the_cell_explorer_shows_the_picked_cell():
    at = open_app(opened=[lazy.opened_key("l1", "cell")])
    at.selectbox(key="l1_cell_i").select(2).run()
    at.selectbox(key="l1_cell_j").select(4).run()
    assert not at.exception
    lines = explore.explain_lesson1(X, 2, 4).lines
    assert "\n".join(lines) in [c.value for c in at.code]


def test_presenting_a_query_change_keeps_the_step(full_runs):
    at = open_app(present="true")
    at.button(key="present_next").click().run()  # step 2: Scores, with the query picker
    assert step_label(at) == (2, 6, "Scores")
    runs = full_runs["1"]
    at.selectbox(key=state.W_QUERY).select(4).run()
    assert not at.exception
    assert full_runs["1"] == runs
    assert set(charts(at)) == {"query_scores_bar"}
    walk = query_walkthrough(X, 4)
    assert close(chart(at, "query_scores_bar")["data"][0]["y"], walk.attn_scores.tolist())
    assert share_link(at).endswith("&q=4")
    assert_as_a_full_run(at)
    assert step_label(at) == (2, 6, "Scores")
    at.button(key="present_next").click().run()  # step 3: Weights, for the new query
    assert step_label(at) == (3, 6, "Weights")
    softmax = chart(at, "query_weights_bars")["data"][2]
    assert close(softmax["y"], walk.normalized["softmax"].weights.tolist())


# Lessons 2-4 ------------------------------------------------------------------------------


def test_lesson2_query_change_reruns_the_bar_and_the_scaling(full_runs):
    at = open_app("pages/2_Trainable_weights.py")
    assert full_runs["2"] == 1
    at.selectbox(key=state.W_QUERY).select(3).run()
    assert not at.exception
    assert full_runs["2"] == 1
    assert set(charts(at)) == {"l2_query_weights_bar", "l2_scale_bars"}
    bar = chart(at, "l2_query_weights_bar")["data"][0]["y"]
    before = chart(at, "l2_scale_bars")["data"][0]["y"]
    assert close(bar, before)  # both are softmax(ω(4, j) / √d_k), the new query's weights
    assert share_link(at).endswith("&q=3")
    assert_as_a_full_run(at)


def test_lesson2_factor_scales_the_picked_query():
    at = open_app("pages/2_Trainable_weights.py")
    at.selectbox(key=state.W_QUERY).select(2).run()
    at.run()
    bar = chart(at, "l2_query_weights_bar")["data"][0]["y"]
    at.slider(key="l2_factor").set_value(4.0).run()
    assert not at.exception
    figure = chart(at, "l2_scale_bars")
    before, after = (trace["y"] for trace in figure["data"])
    # softmax(4 ω / √d_k) from softmax(ω / √d_k): the same scaled scores, up to a constant.
    logits = torch.tensor(before, dtype=torch.float64).log() * 4.0
    assert close(before, bar)  # query 3's weights
    assert close(after, torch.softmax(logits, dim=0).tolist())


def test_lesson2_presenting_the_scaling_step_alone_has_its_own_picker(full_runs):
    at = open_app("pages/2_Trainable_weights.py", present="true")
    for _ in range(4):
        at.button(key="present_next").click().run()
    assert step_label(at)[0] == 5
    runs = full_runs["2"]
    at.selectbox(key=state.W_QUERY).select(1).run()
    assert not at.exception
    assert full_runs["2"] == runs
    assert set(charts(at)) == {"l2_scale_bars"}
    assert_as_a_full_run(at)


def test_lesson3_query_change_reruns_only_the_bar(full_runs):
    at = open_app("pages/3_Causal_attention.py", opened=[lazy.opened_key("l3", "cell")])
    at.selectbox(key=state.W_QUERY).select(2).run()
    assert not at.exception
    assert full_runs["3"] == 1
    assert set(charts(at)) == {"l3_query_weights_bar"}
    bar = chart(at, "l3_query_weights_bar")["data"][0]["y"]
    assert close(bar[3:], [0.0] * (T - 3)) and close(sum(bar), 1.0)  # query 3 sees keys 1-3
    assert share_link(at).endswith("&q=2")
    assert_as_a_full_run(at)
    at.slider(key="l3_p").set_value(0.0).run()
    assert not at.exception
    dropped = chart(at, "l3_dropout_heatmap")["data"][0]["z"]
    causal = chart(at, "l3_cell_chart")["data"][0]["z"]
    assert close(dropped, causal)  # p = 0 keeps every weight as it is


def test_lesson4_query_change_reruns_only_the_bar(full_runs):
    at = open_app("pages/4_Multi-head_attention.py")
    at.selectbox(key=state.W_QUERY).select(4).run()
    assert not at.exception
    assert full_runs["4"] == 1
    assert set(charts(at)) == {"l4_query_weights_bar"}
    assert share_link(at).endswith("&q=4")
    assert_as_a_full_run(at)
    at.selectbox(key="w_l4_head").select(1).run()
    assert not at.exception
    bar = chart(at, "l4_query_weights_bar")["data"][0]["y"]
    top = max(range(T), key=lambda j: bar[j])
    assert any(
        c.value.startswith("Head 2, query q(5): the largest weight")
        and f"key k({top + 1})" in c.value
        for c in at.caption
    )
