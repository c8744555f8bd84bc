"""AppTest: lessons 2-4 show the golden numbers by default and react to their settings."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from app_support import chart, charts, open_app
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((ROOT / "tests" / "data" / "seed.json").read_text())
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
    at.slider(key="l2_factor").set_value(16.0).run()
    assert max(chart(at, "l2_scale_bars")["data"][1]["y"]) > peak


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
    assert at.success[0].value.startswith("Both ways agree")
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
    assert at.success[0].value.startswith("Both builds agree")
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
