"""Lesson 6 in a browser: generate a few tokens, then step back and forth through them."""

from __future__ import annotations

import json

import pytest
from browser_helpers import (
    SKIP_WITHOUT_CHROMIUM,
    exception_texts,
    open_page,
    read_chart,
    script_runs,
    wait_charts,
    wait_idle,
)

from attention import model_files

pytestmark = [pytest.mark.browser, SKIP_WITHOUT_CHROMIUM]

TOKENS = 3
STEP_BAR = "l6_step_bar"
STEP_SLIDER = "[class*=st-key-w_l6_step_] input[type=range]"
NEW_TOKEN = "[data-testid=stCode] code"


def bar_count(page) -> int:
    chart = read_chart(page, STEP_BAR)
    assert chart is not None
    return len(chart["traces"][0]["y"])


def test_generate_and_step_through_the_tokens(page, app_url):
    if model_files.locate_model_file() is None:
        pytest.skip("the model file is not here; fetch it with python -m attention.model_files")
    open_page(page, f"{app_url}/Generating_text?l6_tokens={TOKENS}")
    runs = script_runs(page)
    page.get_by_role("button", name="Generate").click()
    wait_idle(page, since=runs)
    wait_charts(page, [STEP_BAR, "l6_matrix", "l6_sink", "l6_rope"])
    assert not exception_texts(page), exception_texts(page)
    last = bar_count(page)  # the last step's query sees every earlier token and itself
    codes = page.locator(NEW_TOKEN).all_inner_texts()
    slider = page.locator(STEP_SLIDER)
    assert slider.input_value() == str(TOKENS)
    seen = [last]
    for _ in range(TOKENS - 1):  # back to step 1: one bar fewer each time
        runs = script_runs(page)
        slider.focus()
        slider.press("ArrowLeft")
        wait_idle(page, since=runs)
        wait_charts(page, [STEP_BAR])
        seen.append(bar_count(page))
    assert seen == [last - i for i in range(TOKENS)]
    assert slider.input_value() == "1"
    runs = script_runs(page)
    slider.press("ArrowRight")  # and forward again
    wait_idle(page, since=runs)
    wait_charts(page, [STEP_BAR])
    assert bar_count(page) == last - TOKENS + 2
    tokens = [t for t in page.locator(NEW_TOKEN).all_inner_texts() if t.startswith('"')]
    assert tokens and all(json.loads(t) is not None for t in tokens)
    assert codes and not exception_texts(page)
