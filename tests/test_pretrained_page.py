"""AppTest: lesson 5 (a real transformer) and the model's embeddings in lesson 1."""

from __future__ import annotations

import pytest
import torch
from app_support import chart, charts, open_app, page_markdown, step_label

from attention import SEED_TOKENS
from attention.pretrained import embed_words, pretrained_attention

PAGE = "pages/5_Pretrained_transformer.py"


def test_pretrained_page_shows_the_models_attention():
    at = open_app(PAGE, timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    text = at.text_input(key="w_l5_text").value
    expected = pretrained_attention(text)
    assert at.code[0].value == " · ".join(expected.tokens)
    assert chart(at, "l5_head_grid")["data"][0]["source"].startswith("data:image/png;base64,")
    heatmap = torch.tensor(chart(at, "l5_head_heatmap")["data"][0]["z"], dtype=torch.float64)
    torch.testing.assert_close(heatmap, expected.weights[0, 0].double(), atol=1e-6, rtol=0)
    assert chart(at, "l5_head_grid")["layout"]["yaxis"]["ticktext"] == ["1"]
    at.segmented_control(key="w_l5_layer").set_value(5).run()
    grid = chart(at, "l5_head_grid")["layout"]
    assert grid["yaxis"]["ticktext"] == ["6"] and grid["title"]["text"].startswith("Layer 6")
    assert chart(at, "l5_head_grid_2")["layout"]["xaxis"]["ticktext"] == [
        str(head) for head in range(7, 13)
    ]
    at.selectbox(key="w_l5_head").select(11).run()
    at.selectbox(key="w_l5_query").select(2).run()
    bars = torch.tensor(chart(at, "l5_query_bar")["data"][0]["y"], dtype=torch.float64)
    torch.testing.assert_close(bars, expected.weights[5, 11, 2].double(), atol=1e-6, rtol=0)
    assert chart(at, "l5_head_heatmap")["layout"]["title"]["text"].startswith("Layer 6, head 12")


def test_a_new_sentence_changes_the_tokens_and_bad_ones_keep_the_last_view():
    at = open_app(PAGE, timeout=120)
    at.text_input(key="w_l5_text").input("Cats chase mice.").run()
    assert not at.exception
    assert at.code[0].value == "[CLS] · cats · chase · mice · . · [SEP]"
    at.text_input(key="w_l5_text").input("word " * 200).run()
    assert not at.exception
    assert "202 tokens" in at.error[0].value and "128" in at.error[0].value
    assert at.code[0].value == "[CLS] · cats · chase · mice · . · [SEP]"
    assert at.text_input(key="w_l5_text").value == "word " * 200
    at.text_input(key="w_l5_text").input("<img src=x onerror=alert(1)>").run()
    assert not at.exception and not at.error
    assert at.code[0].value.startswith("[CLS] · < · im · ##g")


def test_lesson_one_can_use_the_models_token_embeddings():
    at = open_app(timeout=120)
    at.segmented_control(key="w_embedding_source").set_value("model").run()
    assert not at.exception
    x = embed_words(list(SEED_TOKENS))  # (5, 384)
    weights = torch.softmax(x @ x.T, dim=-1)
    heatmap = torch.tensor(chart(at, "weights_heatmap")["data"][0]["z"], dtype=torch.float64)
    torch.testing.assert_close(heatmap, weights.double(), atol=1e-5, rtol=0)
    assert "… 379 more …" in at.code[0].value
    assert "PCA" in chart(at, "vectors_plot")["layout"]["title"]["text"]
    shown = next(df.value for df in at.dataframe if "dim 8" in df.value.columns)
    assert shown.shape == (5, 9)
    at.segmented_control(key="w_embedding_source").set_value("hand-made").run()
    assert chart(at, "weights_heatmap")["data"][0]["z"][0][0] < 0.2


def test_lesson_five_opens_with_lesson_four_and_leads_to_lesson_six():
    at = open_app(PAGE, timeout=120)
    intro = page_markdown(at)[0]
    assert "lesson 4" in intro and "multi_head_attention" in intro
    links = [e.proto for e in at.get("page_link") if e.proto.label.startswith("Next")]
    assert [link.label for link in links] == ["Next: lesson 6 · Generating text"]


def test_the_question_reveals_the_computed_answer():
    at = open_app(PAGE, timeout=120)
    at.segmented_control(key="w_l5_layer").set_value(2).run()
    weights = pretrained_attention(at.text_input(key="w_l5_text").value).weights
    received = weights[2].mean(dim=(0, 1))  # (T,) mean over heads and queries
    top = int(received.argmax())
    right = "cls" if top == 0 else "sep" if top == len(received) - 1 else "sentence"
    wrong = next(option for option in ("cls", "sep", "sentence") if option != right)
    at.radio(key="w_predict_l5_most_attended_3").set_value(wrong).run()
    at.button(key="w_reveal_l5_most_attended").click().run()
    assert not at.exception
    shown = "\n".join(e.value for e in at.info)
    assert f"in layer 3 token {top + 1} gets the most: {float(received[top]):.4f}" in shown
    at.radio(key="w_predict_l5_most_attended_3").set_value(right).run()
    assert "Right, in layer 3" in at.success[0].value


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (0, set()),
        (1, set()),
        (2, {"l5_head_grid", "l5_head_grid_2"}),
        (3, {"l5_head_heatmap", "l5_query_bar", "l5_lines"}),
        (4, set()),
        (5, {"l5x_compare_a", "l5x_compare_b", "l5x_compare_diff"}),
        (6, {"l5x_group_head"}),
        (7, {"l5x_rollout", "l5x_rollout_bar"}),
        (8, {"l5x_norm_weight", "l5x_norm_carried"}),
        (9, {"l5x_order_a", "l5x_order_b", "l5x_order_diff", "l5x_positions"}),
    ],
)
def test_presentation_mode_shows_one_step_at_a_time(step, expected):
    at = open_app(PAGE, timeout=120, present="true")
    for _ in range(step):
        at.button(key="present_next").click().run()
    assert not at.exception
    assert step_label(at)[:2] == (step + 1, 10)
    assert set(charts(at)) == expected
    assert any(w.key == "w_l5_layer" for w in at.segmented_control) == (step in (2, 3))
