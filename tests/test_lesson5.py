"""Lesson 5's pure logic (lessons/lesson5.py), and every claim the page makes about the model,
checked against the forward pass the app runs (attention/pretrained.py) by recomputing it by
hand: inputs, biases, scaling, no mask, the block between layers, order, lower-casing."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from attention.pretrained import load_model, model_path, pretrained_attention
from lessons import lesson5
from lessons.validate import InputError

ATOL = 1e-5


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def default(model) -> lesson5.Lesson5:
    return lesson5.compute(lesson5.DEFAULT_TEXT, model)


def by_hand(model, token_ids: list[int]) -> list[torch.Tensor]:
    """Every layer's weights (h, T, T), written out from the page's description: inputs
    LayerNorm(word + position + token type 0); per layer Q/K/V with biases, 12 heads of 32,
    softmax(q kᵀ / √32) with no mask, W_out, residual + LayerNorm, feed-forward 384 -> 1536
    -> 384 with GELU, residual + LayerNorm; the next layer reads that output."""
    cfg, emb = model.config, model.embeddings
    ids = torch.tensor(token_ids)
    T, h = len(token_ids), cfg.num_heads
    hd = cfg.hidden_size // h
    x = emb.word[ids] + emb.position[:T] + emb.token_type[0]
    x = F.layer_norm(x, (cfg.hidden_size,), emb.ln_weight, emb.ln_bias, cfg.layer_norm_eps)
    found = []
    for layer in model.layers:
        q = (x @ layer.W_query.T + layer.b_query).view(T, h, hd).transpose(0, 1)  # (h, T, hd)
        k = (x @ layer.W_key.T + layer.b_key).view(T, h, hd).transpose(0, 1)
        v = (x @ layer.W_value.T + layer.b_value).view(T, h, hd).transpose(0, 1)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(32), dim=-1)  # (h, T, T), no mask
        found.append(a)
        context = (a @ v).transpose(0, 1).reshape(T, h * hd)
        out = context @ layer.W_out.T + layer.b_out
        x = F.layer_norm(x + out, x.shape[-1:], layer.attn_ln_weight, layer.attn_ln_bias, 1e-12)
        ff = F.gelu(x @ layer.W_ff_in.T + layer.b_ff_in) @ layer.W_ff_out.T + layer.b_ff_out
        x = F.layer_norm(x + ff, x.shape[-1:], layer.ff_ln_weight, layer.ff_ln_bias, 1e-12)
    return found


# The sentence ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\u200b", "no words"),
        ("x " * 300, "the limit is 128"),
        ("y" * 2001, "2,001 characters"),
    ],
)
def test_check_sentence_refuses_with_a_plain_message(model, text, message):
    with pytest.raises(InputError) as error:
        lesson5.check_sentence(text, model)
    assert message in str(error.value)


@pytest.mark.parametrize("text", [lesson5.DEFAULT_TEXT, "<script>alert(1)</script>", "a\u202eb 😀"])
def test_check_sentence_accepts_what_the_model_can_read(model, text):
    assert lesson5.check_sentence(text, model) == text


def test_compute_raises_input_error_for_bad_text(model):
    with pytest.raises(InputError):
        lesson5.compute("  ", model)


# The claims on the page, against the forward pass ----------------------------------------------


def test_the_shapes_the_page_states(model, default):
    cfg = model.config
    assert (cfg.num_layers, cfg.num_heads, cfg.hidden_size) == (6, 12, 384)
    assert cfg.hidden_size // cfg.num_heads == 32
    assert cfg.intermediate_size == 1536 and cfg.vocab_size == 30522
    assert default.weights.shape[:2] == (6, 12)
    assert default.tokens[0] == "[CLS]" and default.tokens[-1] == "[SEP]"


def test_every_layer_is_the_described_computation(model, default):
    ids = model.tokenizer.encode(lesson5.DEFAULT_TEXT).ids
    with torch.inference_mode():
        expected = by_hand(model, ids)
    for layer, weights in enumerate(expected):
        torch.testing.assert_close(default.weights[layer], weights, atol=ATOL, rtol=0)


def test_the_biases_are_real_and_matter(model, default):
    layer = model.layers[0]
    for bias in (layer.b_query, layer.b_key, layer.b_value):
        assert float(bias.abs().max()) > 0  # every one is there (the key bias is tiny)
    without = model.layers[0]._replace(b_query=torch.zeros_like(layer.b_query))
    changed = type(model)(model.config, model.tokenizer, model.embeddings, (without,), model.path)
    ids = model.tokenizer.encode(lesson5.DEFAULT_TEXT).ids
    with torch.inference_mode():
        weights = by_hand(changed, ids)[0]
    assert float((weights - default.weights[0]).abs().max()) > 0.01


def test_no_mask_later_tokens_get_weight(default):
    T = default.weights.shape[-1]
    later = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    assert bool((default.weights[..., later] > 0).all())
    share = (default.weights * later).sum(-1).mean(dim=(1, 2))
    torch.testing.assert_close(default.future_share, share)
    assert float(default.future_share.min()) > 0.05
    assert "exactly 0" in lesson5.no_mask_sentence(default, 0)


def test_the_model_is_uncased_and_strips_accents(model):
    tokens = pretrained_attention("Café NAÏVE", model).tokens
    assert tokens == ["[CLS]", "cafe", "naive", "[SEP]"]


def test_the_model_is_a_mean_pooled_sentence_embedding_model():
    folder = model_path()
    modules = [m["type"] for m in json.loads((folder / "modules.json").read_text())]
    assert modules[1].endswith("Pooling") and modules[2].endswith("Normalize")
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] is True
    assert "nreimers/MiniLM-L6-H384-uncased" in (folder / "README.md").read_text()


def test_word_order_matters_only_through_the_position_embeddings(model, default):
    assert default.order_change is not None and float(default.order_change[0]) > 0.1
    no_positions = model.embeddings._replace(position=torch.zeros_like(model.embeddings.position))
    blind = type(model)(model.config, model.tokenizer, no_positions, model.layers, model.path)
    blind_result = lesson5.compute(lesson5.DEFAULT_TEXT, blind)
    assert blind_result.order_change is not None
    assert float(blind_result.order_change.max()) < 1e-4


def test_a_sentence_that_reads_the_same_backwards_has_no_order_change(model):
    result = lesson5.compute("a b a", model)
    assert result.order_change is None
    assert "read the same reversed" in lesson5.order_sentence(result)


# Computed sentences and the question -----------------------------------------------------------


def test_resting_heads_are_counted_from_the_weights(default):
    received = default.weights.mean(dim=-2)  # (L, h, T)
    cls = int((received[..., 0] > 0.5).sum())
    sep = int((received[..., -1] > 0.5).sum())
    text = lesson5.resting_sentence(default)
    assert f"[CLS] in {cls} heads and [SEP] in {sep}" in text
    assert "not a rule" in text


@pytest.mark.parametrize("layer", range(6))
def test_the_question_answer_is_the_most_attended_token(default, layer):
    question = lesson5.most_attended_question(default, layer)
    received = default.weights[layer].mean(dim=(0, 1))
    top = int(received.argmax())
    T = received.shape[0]
    expected = "cls" if top == 0 else "sep" if top == T - 1 else "sentence"
    assert question.right == {expected}
    assert f"token {top + 1} gets the most: {float(received[top]):.4f}" in question.answer
    assert set(question.options) == {"cls", "sep", "sentence"}


def test_the_answer_never_holds_token_text(model):
    result = lesson5.compute("**bold** [x](javascript:alert(1))", model)
    question = lesson5.most_attended_question(result, 0)
    assert "*" not in question.answer and "javascript" not in question.answer


def test_the_comparison_names_every_difference():
    text = lesson5.comparison_markdown()
    for claim in ("bias", "√32", "no mask", "position embedding", "LayerNorm", "residual"):
        assert claim in text


def test_the_text_alternatives_name_the_strongest_keys(default):
    received = default.weights[2].mean(dim=-2)  # (h, T)
    text = lesson5.layer_alt(default, 2, range(6, 12))
    top = int(received[7].argmax())
    assert f"head 8: token {top + 1} ({default.tokens[top]})" in text
    assert "head 1:" not in text
    row = default.weights[1, 4, 3]
    assert f"to key {int(row.argmax()) + 1} " in lesson5.head_alt(default, 1, 4, 3)
