"""The explore tools on lessons 1-4 (AppTest): the cell explorer's selects and arithmetic, the
click layer and highlight on its heatmap, the comparison's difference map, the shuffle."""

from __future__ import annotations

import re

import pytest
from app_support import chart, open_app
from app_support import charts as charts_on

from lessons.explore import TOKEN_DIMS
from ui import lazy

PAGES = {
    1: None,
    2: "pages/2_Trainable_weights.py",
    3: "pages/3_Causal_attention.py",
    4: "pages/4_Multi-head_attention.py",
}
SHOWN = 5e-5  # the lines show 4 decimals


def opened(lesson: int, *parts: str):
    """The lesson's page with these explore sections ("cell", "compare", "shuffle") open."""
    return open_app(PAGES[lesson], opened=[lazy.opened_key(f"l{lesson}", p) for p in parts])


def arithmetic(at, query: int, key: int) -> str:
    """The code block that holds a(query, key)'s division (1-based in the text)."""
    for block in at.code:
        if f"a({query}, {key}) = " in block.value and "ω" in block.value:
            return block.value
    raise AssertionError(f"no arithmetic for a({query}, {key})")


def final_weight(text: str, query: int, key: int) -> float:
    """The number after the last '=' on the line that divides into a(query, key)."""
    for line in text.splitlines():
        if line.startswith(f"a({query}, {key}) = ") and "/" in line:
            return float(re.split(r"=\s*", line)[-1])
    raise AssertionError("no division line")


def select(at, label: str):
    return next(s for s in at.selectbox if s.label == label)


@pytest.mark.parametrize("lesson", [1, 2, 3, 4])
def test_selects_pick_a_cell_and_its_weight_matches_the_heatmap(lesson):
    at = opened(lesson, "cell")
    key = f"l{lesson}_cell_chart"
    figure = chart(at, key)
    heat, points = figure["data"][0], figure["data"][1]
    T = len(heat["z"])
    assert len(points["x"]) == T * T and points["marker"]["opacity"] == 0
    query, key_j = T - 1, 0  # the last query sees the first key, with or without a mask
    select(at, "Query i").set_value(query)
    select(at, "Key j").set_value(key_j)
    at.run()
    assert not at.exception
    figure = chart(at, key)
    shown = final_weight(arithmetic(at, query + 1, key_j + 1), query + 1, key_j + 1)
    assert shown == pytest.approx(figure["data"][0]["z"][query][key_j], abs=SHOWN)
    cell = figure["layout"]["shapes"][-1]
    assert (cell["x0"] + 0.5, cell["y0"] + 0.5) == (key_j, query)


@pytest.mark.parametrize("lesson", [2, 3, 4])
def test_difference_heatmap_is_a_minus_b(lesson):
    at = opened(lesson, "compare")
    a, b, diff = (
        chart(at, f"l{lesson}_compare_chart_{name}")["data"][0]["z"]
        for name in ("a", "b", "difference")
    )
    for row_a, row_b, row_d in zip(a, b, diff, strict=True):
        for va, vb, vd in zip(row_a, row_b, row_d, strict=True):
            assert vd == pytest.approx(va - vb, abs=1e-6)
    first, second = (chart(at, f"l{lesson}_compare_chart_{n}")["data"][0] for n in ("a", "b"))
    assert (first["zmin"], first["zmax"]) == (second["zmin"], second["zmax"])


def shuffled(lesson: int):
    at = opened(lesson, "shuffle")
    next(b for b in at.button if b.key == f"l{lesson}_shuffle_button").click()
    at.run()
    assert not at.exception
    return at


def test_shuffle_without_mask_every_output_moves_with_the_tokens():
    at = shuffled(2)
    frame = next(d for d in at.dataframe if "moved" in d.value.columns).value
    assert len(frame) == len(TOKEN_DIMS[2])
    assert set(frame["moved"]) == {"yes"}
    assert at.success and not at.error
    assert all(float(v) <= 1e-6 for v in frame["difference"])


def test_shuffle_with_the_causal_mask_says_the_weights_change():
    at = shuffled(3)
    frame = next(d for d in at.dataframe if "moved" in d.value.columns).value
    moved = dict(zip(frame["output"], frame["moved"], strict=True))
    assert moved["weights A"] == "no" and moved["queries Q"] == "yes"
    assert any("do NOT just move" in i.value for i in at.info)
    assert not at.error


@pytest.mark.parametrize("lesson", [1, 2, 3, 4])
def test_closed_explore_sections_draw_nothing_until_opened(lesson):
    """Closed, the explore tools cost an edit nothing: no chart, no arithmetic."""
    closed = {c.rsplit("-", 1)[-1] for c in charts_on(open_app(PAGES[lesson]))}
    assert not {k for k in closed if "_cell_chart" in k or "_compare_chart_" in k}
    parts = ("cell",) if lesson == 1 else ("cell", "compare")
    shown = charts_on(opened(lesson, *parts))
    assert f"l{lesson}_cell_chart" in shown
    if lesson > 1:
        assert f"l{lesson}_compare_chart_difference" in shown
