"""AppTest: lessons 2-4 show the golden numbers by default and react to their settings."""

from __future__ import annotations

import pytest
import torch
from app_support import ROOT, chart, charts, open_app, step_label
from golden_data import load_golden
from streamlit.testing.v1 import AppTest

from attention import seed_inputs
from lessons import lesson2, lesson4

GOLDEN = load_golden()
TOL = GOLDEN["tolerance"]


def table(at: AppTest, first_column: str, *columns: str) -> torch.Tensor:
    """The numeric columns of the first table that has all of `columns`."""
    for df in at.dataframe:
        frame = df.value
        if first_column in frame.columns and all(c in frame.columns for c in columns):
            return torch.tensor(frame[list(columns)].values.tolist(), dtype=torch.float64)
    raise AssertionError(f"no table with columns {columns}")


def assert_golden(actual, expected) -> None:
    actual = torch.as_tensor(actual, dtype=torch.float64)
    torch.testing.assert_close(
        actual, torch.tensor(expected, dtype=torch.float64), atol=TOL, rtol=0
    )


# Lesson 2 -----------------------------------------------------------------------------------


def test_trainable_page_shows_golden_weights_and_context():
    at = open_app("pages/2_Trainable_weights.py")
    golden = GOLDEN["trainable"]
    assert_golden(chart(at, "l2_weights_heatmap")["data"][0]["z"], golden["weights"])
    context = [df.value for df in at.dataframe if "out 1" in df.value.columns][-1]
    assert_golden(context[["out 1", "out 2"]].values.tolist(), golden["context"])
    for name in ("W_query", "W_key", "W_value"):
        editor = next(
            df.value
            for df in at.dataframe
            if df.value.columns.tolist()[0] == "input"
            and df.proto.id.rsplit("-", 1)[-1].startswith(f"w_l2_{name}_")
        )
        assert_golden(editor[["out 1", "out 2"]].values.tolist(), golden[name])
    scaled = torch.tensor(chart(at, "l2_scaled_heatmap")["data"][0]["z"])
    scores = torch.tensor(chart(at, "l2_scores_heatmap")["data"][0]["z"])
    torch.testing.assert_close(scaled, scores / 2**0.5, atol=1e-6, rtol=0)
    curve = chart(at, "l2_variance_chart")["data"]
    assert curve[0]["y"][-1] > 100 and 0.8 < curve[1]["y"][-1] < 1.2


def test_trainable_page_reacts_to_d_out_seed_and_the_scale_factor():
    at = open_app("pages/2_Trainable_weights.py")
    before = chart(at, "l2_weights_heatmap")["data"][0]["z"]
    at.number_input(key="l2_seed").set_value(7).run()
    assert not at.exception
    assert chart(at, "l2_weights_heatmap")["data"][0]["z"] != before
    at.number_input(key="l2_d_out").set_value(3).run()
    assert not at.exception
    assert "out 3" in [df.value for df in at.dataframe if "out 1" in df.value.columns][-1]
    peak = max(chart(at, "l2_scale_bars")["data"][1]["y"])
    at.slider(key="l2_factor").set_value(2.0).run()
    assert max(chart(at, "l2_scale_bars")["data"][1]["y"]) < peak


@pytest.mark.parametrize(("link", "expected"), [("200", 200.0), ("300", None), ("x", None)])
def test_the_scale_factor_link_parameter(link, expected):
    at = open_app("pages/2_Trainable_weights.py", l2_factor=link)
    value = at.slider(key="l2_factor").value
    assert value == (lesson2.DEFAULT_FACTOR if expected is None else expected)


def test_changing_d_in_redraws_the_weights_with_a_note():
    at = open_app("pages/2_Trainable_weights.py")
    at.number_input(key="w_dim").set_value(4).run()
    assert not at.exception
    assert any("changed from 3 to 4" in info.value for info in at.info)
    assert table(at, "input", "out 1", "out 2").shape[0] >= 4


# Lesson 3 -----------------------------------------------------------------------------------


def test_causal_page_shows_golden_weights_and_both_ways():
    at = open_app("pages/3_Causal_attention.py")
    golden = GOLDEN["causal"]
    assert_golden(chart(at, "l3_weights_heatmap")["data"][0]["z"], golden["weights"])
    assert_golden(chart(at, "l3_renormalized")["data"][0]["z"], golden["weights"])
    context = [df.value for df in at.dataframe if "out 1" in df.value.columns][-1]
    assert_golden(context[["out 1", "out 2"]].values.tolist(), golden["context"])
    mask = chart(at, "l3_mask")["data"][0]
    assert mask["z"][0] == [1, 0, 0, 0, 0] and mask["text"][0][1] == "hidden"
    assert any(s.value.startswith("Both ways agree") for s in at.success)
    assert not at.error


def test_causal_page_dropout_reacts_to_p():
    at = open_app("pages/3_Causal_attention.py")
    at.slider(key="l3_p").set_value(0.0).run()
    assert_golden(chart(at, "l3_dropout_heatmap")["data"][0]["z"], GOLDEN["causal"]["weights"])
    at.slider(key="l3_p").set_value(0.5).run()
    dropped = torch.tensor(chart(at, "l3_dropout_heatmap")["data"][0]["z"])
    weights = torch.tensor(GOLDEN["causal"]["weights"])
    kept = dropped != 0
    assert 0 < int(kept.sum()) < int((weights != 0).sum())
    torch.testing.assert_close(dropped[kept], 2 * weights[kept], atol=2 * TOL, rtol=0)


# Lesson 4 -----------------------------------------------------------------------------------


def test_multihead_page_draws_one_heatmap_per_head_and_both_builds_agree():
    at = open_app("pages/4_Multi-head_attention.py")
    assert [k for k in list(charts(at)) if k.startswith("l4_head_")] == ["l4_head_0", "l4_head_1"]
    first = torch.tensor(chart(at, "l4_head_0")["data"][0]["z"])
    assert torch.all(first.triu(1) == 0)  # causal by default
    torch.testing.assert_close(first.sum(-1), torch.ones(5, dtype=first.dtype), atol=1e-6, rtol=0)
    assert any(s.value.startswith("Both builds agree") for s in at.success)
    assert any(s.value.startswith("This code, run on your numbers") for s in at.success)
    assert not at.error
    concat = [df.value for df in at.dataframe if "head 2 · 2" in df.value.columns]
    assert concat and concat[0].shape == (5, 5)


def test_multihead_page_reacts_to_heads_and_causal_toggle():
    at = open_app("pages/4_Multi-head_attention.py")
    at.number_input(key="l4_heads").set_value(3).run()
    assert not at.exception
    assert [k for k in list(charts(at)) if k.startswith("l4_head_")] == [
        "l4_head_0",
        "l4_head_1",
        "l4_head_2",
    ]
    at.toggle(key="l4_causal").set_value(False).run()
    first = torch.tensor(chart(at, "l4_head_0")["data"][0]["z"])
    assert torch.any(first.triu(1) > 0)
    at.selectbox(key="w_l4_head").select(2).run()
    bars = chart(at, "l4_query_weights_bar")["data"][0]["y"]
    third = torch.tensor(chart(at, "l4_head_2")["data"][0]["z"])
    torch.testing.assert_close(torch.tensor(bars), third[0], atol=1e-7, rtol=0)


def test_lesson_settings_come_from_the_link():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.query_params["l4_heads"] = "3"
    at.query_params["l4_causal"] = "false"
    at.switch_page("pages/4_Multi-head_attention.py").run()
    assert not at.exception
    assert at.number_input(key="l4_heads").value == 3
    assert [k for k in list(charts(at)) if k.startswith("l4_head_")] == [
        "l4_head_0",
        "l4_head_1",
        "l4_head_2",
    ]
    first = torch.tensor(chart(at, "l4_head_0")["data"][0]["z"])
    assert torch.any(first.triu(1) > 0)  # not causal


def shown_code(at: AppTest) -> str:
    """Lesson 4's code block (the one that starts with the head settings)."""
    return next(c.value for c in at.code if c.value.startswith("num_heads, head_dim"))


def assert_shown_code_gives_the_page_numbers(at: AppTest, settings: lesson4.Settings) -> None:
    """Run the code shown on the page on the page's inputs and build 2's weights (drawn from
    the page's seed); its weights must be the heatmaps' and its output the table's."""
    x = seed_inputs()
    result = lesson4.compute(x, settings)
    code = shown_code(at)
    assert code == result.code
    scope = {"torch": torch, "inputs": x, **result.weights._asdict()}
    exec(compile(code, "<shown code>", "exec"), scope)
    for h in range(settings.num_heads):
        heatmap = torch.tensor(chart(at, f"l4_head_{h}")["data"][0]["z"], dtype=torch.float64)
        torch.testing.assert_close(scope["attn_weights"][h].double(), heatmap, atol=1e-5, rtol=0)
    columns = [f"out {j + 1}" for j in range(settings.d_out)]
    torch.testing.assert_close(
        scope["output"].double(), table(at, "token", *columns), atol=1e-5, rtol=0
    )


def test_the_code_shown_on_lesson_4_computes_what_the_page_shows():
    at = open_app("pages/4_Multi-head_attention.py")
    assert_shown_code_gives_the_page_numbers(at, lesson4.Settings())
    assert "masked_fill" in shown_code(at)  # causal by default, and so is the code
    at.toggle(key="l4_causal").set_value(False).run()
    at.number_input(key="l4_heads").set_value(3).run()
    assert not at.exception
    assert_shown_code_gives_the_page_numbers(at, lesson4.Settings(3, 2, 123, False))
    assert "masked_fill" not in shown_code(at)


@pytest.mark.parametrize(
    ("page", "question", "pick", "right"),
    [
        ("pages/2_Trainable_weights.py", "l2_scale", "down", True),
        ("pages/2_Trainable_weights.py", "l2_scale", "up", False),
        ("pages/3_Causal_attention.py", "l3_rows", "last", True),
        ("pages/3_Causal_attention.py", "l3_rows", "first", False),
    ],
)
def test_each_lesson_asks_before_it_reveals(page, question, pick, right):
    at = open_app(page)
    radio = next(r for r in at.radio if r.key.startswith(f"w_predict_{question}_"))
    assert radio.value is None and at.button(key=f"w_reveal_{question}").disabled
    radio.set_value(pick).run()
    at.button(key=f"w_reveal_{question}").click().run()
    assert not at.exception
    assert any(s.value.startswith("Right") for s in at.success) == right
    if not right:
        assert any(i.value.startswith("Not quite") for i in at.info)


def test_lesson_4_question_is_answered_from_its_heads():
    at = open_app("pages/4_Multi-head_attention.py")
    result = lesson4.compute(seed_inputs(), lesson4.Settings())
    ask = lesson4.heads_question(result.split.attn_weights)
    (answer,) = ask.right
    radio = next(r for r in at.radio if r.key.startswith("w_predict_l4_heads_"))
    radio.set_value(answer).run()
    at.button(key="w_reveal_l4_heads").click().run()
    assert any(s.value.startswith("Right") for s in at.success)


@pytest.mark.parametrize(
    ("page", "following"),
    [
        ("pages/2_Trainable_weights.py", "Next: lesson 3"),
        ("pages/3_Causal_attention.py", "Next: lesson 4"),
        ("pages/4_Multi-head_attention.py", "Next: lesson 5"),
    ],
)
def test_each_lesson_ends_with_a_link_to_the_next(page, following):
    at = open_app(page)
    labels = [link.proto.label for link in at.main.get("page_link")]
    assert labels and labels[-1].startswith(following)


@pytest.mark.parametrize(
    ("page", "count", "first_charts"),
    [
        ("pages/2_Trainable_weights.py", 6, {"l2_walk_scores_bar"}),
        ("pages/3_Causal_attention.py", 4, {"l3_mask"}),
        ("pages/4_Multi-head_attention.py", 5, {"l4_head_0", "l4_head_1"}),
    ],
)
def test_each_lesson_can_be_presented_step_by_step(page, count, first_charts):
    at = open_app(present="true")
    at.switch_page(page).run()
    assert not at.exception
    assert step_label(at)[:2] == (1, count)
    assert set(charts(at)) == first_charts
    seen = set(charts(at))
    for step in range(2, count + 1):
        at.button(key="present_next").click().run()
        assert not at.exception
        assert step_label(at)[:2] == (step, count)
        seen |= set(charts(at))
    assert not [b for b in at.button if b.key == "present_next"]  # the last step leads on
    assert seen == set(charts(open_app(page)))  # every chart of the lesson in some step
    following = int(page.split("/")[1][0]) + 1
    assert any(link.proto.label == f"Lesson {following}" for link in at.get("page_link"))


@pytest.mark.parametrize(
    ("page", "param", "value", "widget", "default"),
    [
        ("pages/4_Multi-head_attention.py", "l4_heads", "99", "number_input", 2),
        ("pages/4_Multi-head_attention.py", "l4_head_dim", "0", "number_input", 2),
        ("pages/3_Causal_attention.py", "l3_p", "0.99", "slider", 0.5),
        ("pages/2_Trainable_weights.py", "l2_d_out", "abc", "number_input", 2),
    ],
)
def test_settings_outside_their_range_in_a_link_fall_back_to_the_default(
    page, param, value, widget, default
):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.query_params[param] = value
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert getattr(at, widget)(key=param).value == default
    assert not at.error
