"""AppTest: lesson 5's explore steps show the numbers they claim to show."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from app_support import chart, open_app
from app_support import charts as charts_on

from attention.analysis import head_norms, summarize_heads
from attention.pretrained import load_model
from lessons import lesson5_explore as lx
from ui import lazy

PAGE = "pages/5_Pretrained_transformer.py"


def z(at, key: str) -> np.ndarray:
    return np.array(chart(at, key)["data"][0]["z"], dtype=float)


ALL_STEPS = [lazy.opened_key("l5x", f"step{n}") for n in range(1, len(lx.STEP_TITLES) + 1)]


@pytest.fixture(scope="module")
def at():
    return open_app(PAGE, timeout=180, opened=ALL_STEPS)


@pytest.fixture(scope="module")
def analysis(at):
    return lx.analyse(at.text_input(key="w_l5_text").value, load_model())


def test_two_heads_share_a_range_and_the_third_map_is_their_difference(at, analysis):
    at.selectbox(key="w_l5x_b_layer").select(3).run()
    at.selectbox(key="w_l5x_b_head").select(7).run()
    assert not at.exception
    weights = analysis.states.attn_weights.double().numpy()
    a, b = z(at, "l5x_compare_a"), z(at, "l5x_compare_b")
    np.testing.assert_allclose(a, weights[0, 0], atol=1e-6)
    np.testing.assert_allclose(b, weights[3, 7], atol=1e-6)
    np.testing.assert_allclose(z(at, "l5x_compare_diff"), a - b, atol=1e-6)
    first, second = chart(at, "l5x_compare_a")["data"][0], chart(at, "l5x_compare_b")["data"][0]
    assert (first["zmin"], first["zmax"]) == (second["zmin"], second["zmax"])


def test_the_head_summary_lists_the_heads_of_each_label(at, analysis):
    summary = summarize_heads(analysis.states.attn_weights, analysis.tokens)
    for label in ("[CLS]", "mixed"):
        at.segmented_control(key="w_l5x_group").set_value(label).run()
        assert not at.exception
        expected = [
            (layer, head)
            for layer in range(6)
            for head in range(12)
            if summary.labels[layer][head] == label
        ]
        pills = at.pills(key=f"w_l5x_member_{label}")
        shown = [option.content for option in pills.proto.options]
        assert shown == [lx.head_name(layer, head) for layer, head in expected]
        pills.set_value(len(expected) - 1).run()
        layer, head = expected[-1]
        np.testing.assert_allclose(
            z(at, "l5x_group_head"), analysis.states.attn_weights[layer, head].numpy(), atol=1e-6
        )


def test_rollout_rows_sum_to_one_and_the_bars_are_the_chosen_row(at, analysis):
    at.selectbox(key="w_l5x_rollout_token").select(4).run()
    shown = z(at, "l5x_rollout")
    np.testing.assert_allclose(shown.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(shown, analysis.rollout[-1].numpy(), atol=1e-6)
    bars = np.array(chart(at, "l5x_rollout_bar")["data"][0]["y"], dtype=float)
    np.testing.assert_allclose(bars, shown[4], atol=1e-6)
    at.selectbox(key="w_l5x_rollout_layer").select(0).run()
    np.testing.assert_allclose(z(at, "l5x_rollout"), analysis.rollout[0].numpy(), atol=1e-6)


def test_the_weight_and_what_it_carries_side_by_side(at, analysis):
    at.selectbox(key="w_l5x_norm_layer").select(2).run()
    at.selectbox(key="w_l5x_norm_head").select(5).run()
    norms = head_norms(load_model(), analysis.states, 2, 5)
    weights = z(at, "l5x_norm_weight")
    np.testing.assert_allclose(weights, analysis.states.attn_weights[2, 5].numpy(), atol=1e-6)
    lengths = norms.transformed_norms.double().numpy()
    np.testing.assert_allclose(z(at, "l5x_norm_carried"), weights * lengths[None, :], atol=1e-5)


def test_swapping_two_words_shows_both_maps_and_their_difference(at, analysis):
    at.selectbox(key="w_l5x_swap_1").select(1).run()
    at.selectbox(key="w_l5x_swap_2").select(3).run()
    at.selectbox(key="w_l5x_order_layer").select(1).run()
    assert not at.exception
    comparison = lx.swap_words(load_model(), analysis, 1, 3)
    a, b = z(at, "l5x_order_a"), z(at, "l5x_order_b")
    np.testing.assert_allclose(a, comparison.original[1, 0].numpy(), atol=1e-6)
    np.testing.assert_allclose(b, comparison.other[1, 0].numpy(), atol=1e-6)
    np.testing.assert_allclose(z(at, "l5x_order_diff"), a - b, atol=1e-6)
    assert np.abs(a - b).max() > 1e-3
    positions = z(at, "l5x_positions")
    assert positions.shape == (32, 32)
    np.testing.assert_allclose(np.diag(positions), 1.0, atol=1e-6)
    assert any("the · drives · mechanism · attention · context" in c.value for c in at.code)


def test_a_one_word_sentence_cannot_swap():
    at = open_app(PAGE, timeout=180, opened=ALL_STEPS)
    at.text_input(key="w_l5_text").input("Hello").run()
    assert not at.exception
    assert any("two words" in i.value for i in at.info)
    assert torch.tensor(z(at, "l5x_rollout")).sum(dim=1).sub(1).abs().max() < 1e-6


def test_closed_steps_draw_no_chart():
    at = open_app(PAGE, timeout=180)
    assert not [key for key in charts_on(at) if key.startswith("l5x_")]
    assert [e.label for e in at.expander].count("Show this step's charts") == len(lx.STEP_TITLES)
