"""Lesson 6's pure logic (lessons/lesson6.py) and its charts, on a real generation of the model
(loaded once for the module)."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from attention.decoder import MAX_NEW_TOKENS, SmolLM2
from charts import alt_text, decoder_charts
from lessons import lesson6
from lessons.export import to_csv, to_json
from lessons.validate import InputError

ROOT = Path(__file__).resolve().parents[1]
STEPS = 4


@pytest.fixture(scope="module")
def model(model_path) -> SmolLM2:
    return SmolLM2(model_path)


@pytest.fixture(scope="module")
def settings() -> lesson6.Settings:
    return lesson6.check_settings(lesson6.DEFAULT_PROMPT, max_new_tokens=STEPS)


@pytest.fixture(scope="module")
def lesson(model, settings) -> lesson6.Lesson6:
    return lesson6.compute(lesson6.generate(settings, model), model)


# Validation ------------------------------------------------------------------------------------


def test_the_defaults_are_valid():
    assert lesson6.check_settings(lesson6.DEFAULT_PROMPT) == lesson6.Settings()
    for prompt in lesson6.DEFAULT_PROMPTS:
        assert lesson6.check_settings(prompt, True, 100, 0.7, 50, 3).prompt == prompt


@pytest.mark.parametrize(
    "kwargs",
    [
        {"prompt": ""},
        {"prompt": "   \n"},
        {"prompt": None},
        {"prompt": "a" * (lesson6.MAX_PROMPT_CHARS + 1)},
        {"prompt": "a\x00b"},
        {"max_new_tokens": 0},
        {"max_new_tokens": MAX_NEW_TOKENS + 1},
        {"max_new_tokens": 2.5},
        {"max_new_tokens": "many"},
        {"temperature": -0.1},
        {"temperature": float("nan")},
        {"temperature": float("inf")},
        {"temperature": lesson6.MAX_TEMPERATURE + 1},
        {"top_k": -1},
        {"top_k": lesson6.MAX_TOP_K + 1},
        {"seed": -1},
        {"seed": 2**31},
    ],
)
def test_bad_settings_are_refused_with_a_message(kwargs):
    args = {"prompt": lesson6.DEFAULT_PROMPT} | kwargs
    with pytest.raises(InputError) as error:
        lesson6.check_settings(**args)
    assert str(error.value)


def test_link_values_arrive_as_text_and_are_converted():
    s = lesson6.check_settings("Hi", "1", "7", "0.5", "20", "9")
    assert (s.chat, s.max_new_tokens, s.temperature, s.top_k, s.seed) == (True, 7, 0.5, 20, 9)


def test_a_prompt_with_too_many_tokens_is_refused(model):
    settings = lesson6.check_settings("1 " * 150)  # every digit is its own token: 300 tokens
    with pytest.raises(InputError, match="200"):
        lesson6.prompt_ids(settings, model)


def test_the_chat_template_wraps_the_prompt(model):
    plain = lesson6.check_settings("Hello there")
    chat = plain._replace(chat=True)
    text = lesson6.prompt_text(chat)
    assert text.startswith("<|im_start|>system\n") and text.endswith("<|im_start|>assistant\n")
    assert "<|im_start|>user\nHello there<|im_end|>\n" in text
    ids = lesson6.prompt_ids(chat, model)
    start = model.encode("<|im_start|>")
    assert len(start) == 1 and ids.count(start[0]) == 3  # system, user, assistant
    assert lesson6.prompt_ids(plain, model) == model.encode("Hello there")


# Results ---------------------------------------------------------------------------------------


def test_tokens_are_the_prompt_then_the_new_tokens(lesson, model):
    g = lesson.generation
    assert len(g.steps) == STEPS
    assert lesson.tokens == [model.decode([i]) for i in g.prompt_ids + g.new_ids]
    assert lesson.prompt_len == len(model.encode(lesson6.DEFAULT_PROMPT))


def test_the_sink_is_the_mean_weight_on_the_first_position(lesson):
    for layer in (0, 15, 29):
        matrix = lesson.generation.attention_matrix(layer)  # (h, T, T)
        expected = matrix[:, 1:, 0].mean()  # every query after the first, every head
        assert math.isclose(float(lesson.sink[layer]), float(expected), abs_tol=1e-6)
    T = len(lesson6.matrix_tokens(lesson))
    assert math.isclose(lesson.uniform_sink, sum(1 / (i + 1) for i in range(1, T)) / (T - 1))
    assert math.isclose(lesson6.uniform_sink(3), (1 / 2 + 1 / 3) / 2)
    assert math.isnan(lesson6.uniform_sink(1))


def test_the_full_matrix_is_causal_with_empty_cells_above_the_diagonal(lesson):
    matrix = lesson6.full_matrix(lesson, 3, None)  # (T, T)
    T = matrix.shape[0]
    above = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    assert bool(matrix[above].isnan().all()) and not bool(matrix[~above].isnan().any())
    torch.testing.assert_close(matrix.nansum(-1), torch.ones(T), atol=1e-5, rtol=0)
    one_head = lesson6.full_matrix(lesson, 3, 2)
    torch.testing.assert_close(one_head[~above], lesson.generation.attention_matrix(3)[2][~above])


def test_a_shown_token_shows_spaces_and_line_breaks():
    assert lesson6.shown_token(" Paris") == '" Paris"'
    assert lesson6.shown_token("\n") == '"\\n"'
    assert lesson6.shown_token("é") == '"é"'


def test_chart_labels_show_line_breaks():
    assert lesson6.chart_tokens(["a\nb", "\t", " x"]) == ["a↵b", "⇥", " x"]


def test_a_step_row_is_the_models_row(lesson):
    for step in range(STEPS):
        s = lesson.generation.steps[step]
        torch.testing.assert_close(lesson6.step_row(lesson, step, 7, 4), s.attn_row[7, 4])
        torch.testing.assert_close(lesson6.step_row(lesson, step, 7, None), s.attn_row[7].mean(0))
        assert lesson6.step_row(lesson, step, 7, None).shape == (s.position + 1,)


def test_the_cache_table_grows_one_row_per_token(lesson):
    rows = lesson6.cache_rows(lesson)
    c = lesson.config
    per_token = c.num_layers * 2 * c.num_kv_heads * c.head_dim * 4
    assert [r.tokens_in_cache for r in rows] == [lesson.prompt_len + i for i in range(STEPS)]
    for r in rows:
        assert r.cache_bytes == r.tokens_in_cache * per_token
        assert r.cache_bytes_without_gqa == 3 * r.cache_bytes  # 9 heads instead of 3
        assert r.multiply_adds_cached <= r.multiply_adds_uncached
    assert [r.fed_with_cache for r in rows] == [lesson.prompt_len] + [1] * (STEPS - 1)
    assert rows[0].multiply_adds_cached == rows[0].multiply_adds_uncached  # the whole prompt
    new = lesson.tokens[lesson.prompt_len :]
    assert [r.new_token for r in rows] == [lesson6.shown_token(t) for t in new]
    assert f"{per_token:,}" in lesson6.cache_formula(c)


def test_without_the_cache_the_same_tokens_and_rows(lesson, model, settings):
    uncached = lesson6.generate(settings, model, use_cache=False)
    assert uncached.new_ids == lesson.generation.new_ids
    assert lesson6.max_row_difference(lesson.generation, uncached) < 1e-4
    shorter = dataclasses.replace(uncached, steps=uncached.steps[:-1])
    assert lesson6.max_row_difference(lesson.generation, shorter) == math.inf


def test_the_question_is_answered_from_the_last_step(lesson):
    question = lesson6.sink_question(lesson)
    steps = lesson.generation.steps
    row = steps[-1].attn_row[-1].mean(0)  # last layer, mean over heads
    top = int(row.argmax())
    expected = "first" if top == 0 else "self" if top == row.shape[0] - 1 else "other"
    assert question.right == {expected}
    assert set(question.options) == {"first", "self", "other"}


def test_sampling_depends_on_the_seed_and_greedy_does_not(model):
    base = lesson6.check_settings("Once upon a time", max_new_tokens=6, temperature=1.5)
    a = lesson6.generate(base, model).new_ids
    assert lesson6.generate(base, model).new_ids == a  # same seed, same text
    assert any(lesson6.generate(base._replace(seed=s), model).new_ids != a for s in (1, 2, 3))


def test_texts_name_positions_never_token_text(model):
    settings = lesson6.check_settings("**bold** <b>zz</b> [link](x)", max_new_tokens=3)
    lesson = lesson6.compute(lesson6.generate(settings, model), model)
    texts = [
        lesson6.step_sentence(lesson, 0, 0, None),
        lesson6.step_sentence(lesson, 2, 5, 1),
        lesson6.sink_sentence(lesson),
        lesson6.generated_summary(lesson, settings),
        lesson6.work_sentence(lesson),
        *lesson6.sink_question(lesson)[1:2][0].values(),
        lesson6.sink_question(lesson).answer,
        lesson6.sink_question(lesson).explanation,
    ]
    for text in texts:
        for marker in ("**bold", "<b>", "[link]", "zz"):
            assert marker not in text


# Export and script -----------------------------------------------------------------------------


def test_the_export_holds_the_attention_rows_and_the_tokens(lesson, settings):
    data = lesson6.lesson6_data(lesson, settings, 14, 3)
    parsed = json.loads(to_json(data))
    assert data.tokens == lesson.tokens
    head = data.matrices[0].values
    for s in lesson.generation.steps:
        torch.testing.assert_close(head[s.index, : s.position + 1], s.attn_row[14, 3])
        assert bool(head[s.index, s.position + 1 :].isnan().all())
    mean = data.matrices[1].values
    torch.testing.assert_close(mean[-1], lesson.generation.steps[-1].attn_row[14].mean(0))
    assert "attention_layer15_head4" in to_csv(data)
    assert json.dumps(parsed)  # valid JSON (NaN written as null)
    assert "NaN" not in to_json(data)


def test_the_script_reproduces_the_first_steps_row(lesson):
    code = lesson6.script(lesson, 10, 5)
    compile(code, "lesson6.py", "exec")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    printed = [float(line.split()[1]) for line in lines[1:-1]]
    expected = lesson.generation.steps[0].attn_row[10, 5]
    assert len(printed) == lesson.prompt_len
    torch.testing.assert_close(torch.tensor(printed), expected, atol=1e-4, rtol=0)
    assert float(lines[-1].rsplit(" ", 1)[1]) < 1e-5


# RoPE and charts -------------------------------------------------------------------------------


def test_rope_points_turn_by_the_pairs_angle(model):
    c = model.config
    points = lesson6.rope_points(c, positions=6, pair=3)
    theta = c.rope_theta ** (-2 * 3 / c.head_dim)
    angles = torch.atan2(points[:, 1], points[:, 0])
    torch.testing.assert_close(points.norm(dim=-1), torch.ones(6))
    torch.testing.assert_close(angles, torch.arange(6) * theta, atol=1e-5, rtol=0)


def test_the_charts_carry_their_numbers_and_a_text_alternative(lesson, model):
    sink = decoder_charts.sink_bars(lesson.sink, lesson.uniform_sink)
    assert sink.data[0].y == tuple(float(v) for v in lesson.sink)
    assert "layer" in alt_text(sink)
    rope = decoder_charts.rope_figure(lesson6.rope_points(model.config))
    assert len(rope.data) == lesson6.ROPE_POSITIONS and alt_text(rope)
    assert decoder_charts.rope_figure(lesson6.rope_points(model.config), present=True)


def test_sessions_that_generate_together_get_their_own_results(model, settings):
    """The model's layer buffers are shared: ui.decoder takes turns step by step."""
    from ui import decoder

    other = settings._replace(prompt=lesson6.DEFAULT_PROMPTS[1])
    expected = [lesson6.generate(s, model) for s in (settings, other)]
    results: list = [None, None]

    def work(i: int, s: lesson6.Settings) -> None:
        results[i] = decoder.generate(model, s)

    threads = [threading.Thread(target=work, args=pair) for pair in enumerate((settings, other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got, want in zip(results, expected, strict=True):
        assert got.new_ids == want.new_ids
        assert lesson6.max_row_difference(got, want) < 1e-6


def test_the_server_keeps_only_the_last_few_generations(monkeypatch):
    from collections import OrderedDict

    from ui import decoder

    made: list = []

    def fake_generate(llm, settings, use_cache, on_step):
        made.append((settings, use_cache))
        return object()

    monkeypatch.setattr(decoder, "generate", fake_generate)
    monkeypatch.setattr(decoder, "_KEPT", OrderedDict())
    all_settings = [lesson6.Settings(seed=i) for i in range(decoder.MAX_KEPT + 1)]
    first = decoder.generation(None, all_settings[0])
    assert decoder.generation(None, all_settings[0]) is first and len(made) == 1  # kept
    assert decoder.generation(None, all_settings[0], use_cache=False) is not first
    for s in all_settings[1:]:
        decoder.generation(None, s)
    assert len(decoder._KEPT) == decoder.MAX_KEPT
    decoder.generation(None, all_settings[0])  # dropped, so made again
    assert made.count((all_settings[0], True)) == 2
