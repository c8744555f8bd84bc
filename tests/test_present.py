"""Presentation mode: larger charts, no editing, lesson 1 one step at a time."""

from __future__ import annotations

import pytest
from app_support import charts, open_app


def test_the_link_parameter_starts_presentation_mode_at_step_one():
    at = open_app(present="true")
    assert at.toggle(key="w_present").value is True
    assert at.query_params["present"] == "true"
    assert at.button(key="present_back").disabled
    inputs = next(df.value for df in at.dataframe if "dim 1" in df.value.columns)
    assert inputs["token"].tolist()[0] == "Attention" and inputs.shape == (5, 4)
    assert not charts(at)  # step 1 is the table only
    assert "Step 1 of 5" in at.get("progress")[0].proto.text


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (1, {"query_scores_bar"}),
        (2, {"query_weights_bars"}),
        (3, {"vectors_plot"}),
        (4, {"scores_heatmap", "weights_heatmap"}),
    ],
)
def test_next_steps_through_the_lesson_with_large_chart_text(step, expected):
    at = open_app(present="true")
    for _ in range(step):
        at.button(key="present_next").click().run()
    specs = charts(at)
    assert set(specs) == expected
    for spec in specs.values():
        assert spec["layout"]["font"]["size"] >= 18
        assert spec["layout"]["title"]["font"]["size"] >= 18
    assert f"Step {step + 1} of 5" in at.get("progress")[0].proto.text
    assert at.button(key="present_next").disabled == (step == 4)


def test_back_and_leaving_presentation_mode():
    at = open_app(present="true")
    at.button(key="present_next").click().run()
    at.button(key="present_next").click().run()
    at.button(key="present_back").click().run()
    assert set(charts(at)) == {"query_scores_bar"}
    leave = next(b for b in at.button if b.label == "Leave presentation mode")
    leave.click().run()
    assert not at.exception
    assert "present" not in at.query_params
    specs = charts(at)
    assert {"query_scores_bar", "weights_heatmap", "weights_by_query"} <= set(specs)
    assert specs["weights_heatmap"]["layout"].get("font", {}).get("size") is None


def test_other_pages_use_large_charts_while_presenting():
    at = open_app(present="true")
    at.switch_page("pages/2_Trainable_weights.py").run()
    assert not at.exception
    specs = charts(at)
    assert specs and all(spec["layout"]["font"]["size"] >= 18 for spec in specs.values())
