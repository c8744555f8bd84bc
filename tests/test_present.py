"""Presentation mode: larger charts, no editing, each lesson one step at a time, a step label
that agrees with the step's heading, each page its own step, and a way to the next lesson."""

from __future__ import annotations

import pytest
from app_support import charts, open_app, step_label

from charts import CHART_FONT_PX
from ui import lazy, present

LESSON1_CHARTS = [
    set(),  # the inputs table
    {"query_scores_bar"},
    {"query_weights_bars"},
    {"vectors_plot"},
    {"scores_heatmap", "weights_heatmap"},
    {"shuffled_weights_heatmap"},
]


def next_links(at) -> list[str]:
    """The pages the page links point to."""
    return [link.proto.page for link in at.get("page_link")]


def test_the_link_parameter_starts_presentation_mode_at_step_one():
    at = open_app(present="true")
    assert at.toggle(key="w_present").value is True
    assert at.query_params["present"] == "true"
    assert at.button(key="present_back").disabled
    inputs = next(df.value for df in at.dataframe if "dim 1" in df.value.columns)
    assert inputs["token"].tolist()[0] == "Attention" and inputs.shape == (5, 4)
    assert not charts(at)  # step 1 is the table only
    assert step_label(at)[:2] == (1, len(LESSON1_CHARTS))


@pytest.mark.parametrize("step", range(1, len(LESSON1_CHARTS)))
def test_next_steps_through_the_lesson_with_large_chart_text(step):
    at = open_app(present="true")
    for _ in range(step):
        at.button(key="present_next").click().run()
    specs = charts(at)
    assert set(specs) == LESSON1_CHARTS[step]
    for spec in specs.values():
        assert spec["layout"]["font"]["size"] >= CHART_FONT_PX
        assert spec["layout"]["title"]["font"]["size"] >= CHART_FONT_PX
    number, count, _title = step_label(at)
    assert (number, count) == (step + 1, len(LESSON1_CHARTS))
    assert not at.main.header  # the label is the step's only heading: nothing to disagree with


def test_every_step_label_matches_its_heading_and_the_last_step_leads_on():
    at = open_app(present="true")
    titles = []
    for step in range(len(LESSON1_CHARTS)):
        number, _count, title = step_label(at)
        assert number == step + 1
        titles.append(title)
        if step < len(LESSON1_CHARTS) - 1:
            at.button(key="present_next").click().run()
    # The last step: Next is a link to lesson 2 instead of a disabled button.
    assert not [b for b in at.button if b.key == "present_next"]
    assert "Trainable_weights" in next_links(at)
    # Out of presentation mode the same steps carry the same titles, in the same order.
    at.button(key="present_leave").click().run()
    assert [header.value for header in at.main.header][: len(titles)] == titles


def test_back_and_leaving_presentation_mode():
    at = open_app(present="true", opened=[lazy.opened_key("l1", "rows")])
    at.button(key="present_next").click().run()
    at.button(key="present_next").click().run()
    at.button(key="present_back").click().run()
    assert set(charts(at)) == {"query_scores_bar"}
    at.button(key="present_leave").click().run()
    assert not at.exception
    assert "present" not in at.query_params
    specs = charts(at)
    assert {"query_scores_bar", "weights_heatmap", "weights_by_query"} <= set(specs)
    assert specs["weights_heatmap"]["layout"].get("font", {}).get("size") is None


def test_each_page_keeps_its_own_step():
    at = open_app(present="true")
    at.button(key="present_next").click().run()
    at.button(key="present_next").click().run()
    assert step_label(at)[0] == 3
    at.switch_page("pages/2_Trainable_weights.py").run()
    assert not at.exception
    assert at.session_state[present.STEP].get("pages/2_Trainable_weights.py", 0) == 0
    at.switch_page("app.py").run()
    assert step_label(at)[0] == 3  # lesson 1 remembers where it was


def test_a_page_without_steps_has_a_way_out():
    at = open_app("pages/1_About_attention.py", present="true")
    at.button(key="present_leave").click().run()
    assert not at.exception
    assert "present" not in at.query_params


def test_other_pages_use_large_charts_while_presenting():
    at = open_app("pages/2_Trainable_weights.py", present="true")
    specs = charts(at)
    assert specs and all(spec["layout"]["font"]["size"] >= 18 for spec in specs.values())


STEPPED_PAGES = [
    None,  # lesson 1, app.py
    "pages/2_Trainable_weights.py",
    "pages/3_Causal_attention.py",
    "pages/4_Multi-head_attention.py",
    "pages/5_Pretrained_transformer.py",
    "pages/6_Softmax_lab.py",
]


@pytest.mark.parametrize("path", STEPPED_PAGES)
def test_each_step_has_one_title_and_it_is_the_heading_outside_presentation(path):
    at = open_app(path, present="true")
    number, count, title = step_label(at)
    titles = []
    for step in range(count):
        number, _count, title = step_label(at)
        assert number == step + 1
        assert not at.main.header, (title, [h.value for h in at.main.header])  # one title only
        titles.append(title)
        if step < count - 1:
            at.button(key="present_next").click().run()
            assert not at.exception
    at.button(key="present_leave").click().run()
    assert [header.value for header in at.main.header][:count] == titles
