"""AppTest: lesson 6 generates a short text on the page and shows the model's own tokens and
attention rows."""

from __future__ import annotations

import json

import pytest
import torch
from app_support import chart, charts, open_app, step_label

from attention import model_files
from attention.decoder import SmolLM2
from lessons import lesson6

PAGE = "pages/7_Generating_text.py"
TOKENS = 3


@pytest.fixture(scope="module")
def model(model_path) -> SmolLM2:
    return SmolLM2(model_path)


@pytest.fixture(scope="module")
def expected(model):
    """The model's own generation for the page's defaults, with TOKENS tokens."""
    return model.generate(model.encode(lesson6.DEFAULT_PROMPT), max_new_tokens=TOKENS)


def generate(at, tokens: int = TOKENS):
    at.number_input(key="l6_tokens").set_value(tokens)
    at.button(key="w_l6_generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_page_generates_and_shows_the_models_token_and_row(model, expected):
    at = generate(open_app(PAGE, timeout=180))
    last = expected.steps[-1]
    codes = [c.value for c in at.code]
    assert codes[0] == (lesson6.DEFAULT_PROMPT + last.text).rstrip("\n")  # st.code drops it
    assert (
        json.dumps(last.token_text, ensure_ascii=False) in codes
    )  # the new token, in a plain-text block
    L = model.config.num_layers
    bars = chart(at, "l6_step_bar")["data"][0]
    shown = torch.tensor(bars["y"])
    torch.testing.assert_close(shown, last.attn_row[L // 2 - 1].mean(0), atol=1e-5, rtol=0)
    assert len(bars["x"]) == last.position + 1  # every earlier token and the query itself
    # step back to the first token, one head
    at.slider(key="w_l6_step_1").set_value(1).run()
    at.selectbox(key="w_l6_head").set_value(2).run()
    first = expected.steps[0]
    assert json.dumps(first.token_text, ensure_ascii=False) in [c.value for c in at.code]
    shown = torch.tensor(chart(at, "l6_step_bar")["data"][0]["y"])
    torch.testing.assert_close(shown, first.attn_row[L // 2 - 1, 2], atol=1e-5, rtol=0)
    # the full causal matrix: empty above the diagonal
    z = chart(at, "l6_matrix")["data"][0]["z"]
    T = len(expected.prompt_ids) + TOKENS - 1
    assert len(z) == T and all(z[i][j] is None for i in range(T) for j in range(i + 1, T))
    full = expected.attention_matrix(L // 2 - 1)[2]
    torch.testing.assert_close(torch.tensor(z[-1]), full[-1], atol=1e-5, rtol=0)
    # the KV cache table shows the steps up to the chosen one
    table = next(df.value for df in at.dataframe if "tokens in cache" in df.value.columns)
    assert table["tokens in cache"].tolist() == [len(expected.prompt_ids)]


def test_the_uncached_run_agrees_and_the_quiz_reveals(expected):
    at = generate(open_app(PAGE, timeout=180))
    at.button(key="w_l6_uncached").click().run()
    assert not at.exception
    assert any("same tokens" in s.value for s in at.success)
    radio = next(r for r in at.radio if r.key.startswith("w_predict_l6_sink_"))
    radio.set_value("first").run()
    at.button(key="w_reveal_l6_sink").click().run()
    revealed = [s.value for s in at.success] + [i.value for i in at.info]
    assert any(v.startswith(("Right", "Not quite")) for v in revealed)


def test_a_share_link_sets_the_prompt_and_settings():
    at = open_app(PAGE, timeout=180, l6_prompt="Hello", l6_tokens="2", l6_chat="true")
    assert at.text_area(key="l6_prompt").value == "Hello"
    assert at.number_input(key="l6_tokens").value == 2
    assert at.toggle(key="l6_chat").value is True
    assert any("<|im_start|>user\nHello<|im_end|>" in c.value for c in at.code)


def test_a_bad_link_value_is_not_used():
    at = open_app(PAGE, timeout=180, l6_tokens="5000", l6_tau="-3")
    value = at.number_input(key="l6_tokens").value
    assert 1 <= value <= lesson6.MAX_NEW_TOKENS
    assert at.number_input(key="l6_tau").value >= 0


def test_an_empty_prompt_shows_an_error_and_cannot_generate():
    at = open_app(PAGE, timeout=180)
    at.text_area(key="l6_prompt").set_value("   ").run()
    assert at.error and not at.exception
    assert at.button(key="w_l6_generate").disabled


def test_the_lesson_can_be_presented_step_by_step():
    at = open_app(PAGE, timeout=180, present="true")
    count = len(lesson6.STEP_TITLES)
    assert step_label(at)[:2] == (1, count)
    at.button(key="present_next").click().run()
    generate(at, tokens=2)
    assert step_label(at)[0] == 2 and not charts(at)
    expected_charts = {3: "l6_step_bar", 4: "l6_matrix", 5: "l6_sink", 7: "l6_rope"}
    for step in range(3, count + 1):
        at.button(key="present_next").click().run()
        assert not at.exception and step_label(at)[0] == step
        if step in expected_charts:
            assert chart(at, expected_charts[step])
    assert not any(b.key == "l6_export_csv" for b in at.get("download_button"))


def test_without_the_model_file_the_page_says_how_to_fetch_it(monkeypatch, tmp_path):
    monkeypatch.setenv(model_files.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(model_files, "installed_package_file", lambda: None)
    at = open_app(PAGE, timeout=180)
    assert any(lesson6.FETCH_COMMAND in i.value for i in at.info)
    assert at.button(key="w_l6_fetch")
