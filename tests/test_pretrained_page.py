"""AppTest: lesson 5 (a real transformer) and the model's embeddings in lesson 1."""

from __future__ import annotations

import torch
from app_support import chart, open_app

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
    at.selectbox(key="w_l5_layer").select(5).run()
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
