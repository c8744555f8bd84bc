"""Lesson 5: all-MiniLM-L6-v2's attention, computed with the lessons' own functions.

The weights are checked against Hugging Face `transformers` (an independent implementation of
the same model), layer by layer and head by head.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
import torch
from golden_data import REPO_ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

import attention.pretrained as pretrained
from attention.pretrained import (
    MAX_PRETRAINED_TOKENS,
    EmptyTextError,
    PretrainedAttention,
    TooManyTokensError,
    embed_words,
    encoder_forward,
    load_model,
    pretrained_attention,
    token_embedding_table,
)

ATOL = 1e-5
N_LAYERS, N_HEADS, HIDDEN, VOCAB = 6, 12, 384, 30522

SENTENCE_10 = "The quick brown fox jumps over the lazy dog. "  # 10 WordPieces
# 12 x 10 + 6 + [CLS] + [SEP] = 128 WordPieces: exactly the limit.
TEXT_128 = SENTENCE_10 * 12 + "one two three four five six"
TEXT_129 = TEXT_128 + " seven"

SENTENCES = {
    "plain": "The cat sat on the mat because it was tired.",
    "punctuation": "Wait... what?! (Really) -- yes; \"quoted\", 'single' & more.",
    "digits": "In 2024, 3.14159 x 42 = 131.9 and 1,000,000 people paid $5.99.",
    "rare": "Floccinaucinihilipilification of xylophonists in Llanfairpwllgwyngyll 龘 ⅏",
    "emoji": "I love pizza 🍕🙂 and ❤️ coffee ☕!",
    "markup_rtl": '<a href="javascript:alert(1)">x</a> שלום a\u0301 \u202e\u200b end\nnext',
    "limit_128": TEXT_128,
}


def weights_digest(model: pretrained.PretrainedModel) -> str:
    """SHA-256 over every weight tensor's bytes."""
    digest = hashlib.sha256()
    tensors = [*model.embeddings, *(t for layer in model.layers for t in layer)]
    for tensor in tensors:
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Run this module on one torch thread: on a busy 2-core machine two threads mostly wait."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def model() -> pretrained.PretrainedModel:
    return load_model()


@pytest.fixture(scope="module")
def hf():
    """Hugging Face's BertModel (eager attention) and tokenizer on the same packaged files."""
    if os.environ.get("CI"):
        import transformers  # a dev requirement: CI must run the comparison, not skip it
    else:
        transformers = pytest.importorskip("transformers")
    path = str(pretrained.model_path())
    hf_model = transformers.BertModel.from_pretrained(path, attn_implementation="eager")
    hf_model.eval()
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    return hf_model, hf_tokenizer


# --- against Hugging Face transformers ---------------------------------------------------------


@pytest.mark.parametrize("name", list(SENTENCES))
def test_weights_match_transformers(name, model, hf):
    text = SENTENCES[name]
    hf_model, hf_tokenizer = hf
    encoded = hf_tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        out = hf_model(**encoded, output_attentions=True)
    expected = torch.stack([a[0] for a in out.attentions])  # L x (1, h, T, T) -> (L, h, T, T)

    result = pretrained_attention(text, model)

    assert result.tokens == encoded.tokens()
    assert result.token_ids == encoded["input_ids"][0].tolist()
    T = len(result.tokens)
    assert result.weights.shape == (N_LAYERS, N_HEADS, T, T) == expected.shape
    assert result.weights.dtype == torch.float32
    max_diff = float((result.weights - expected).abs().max())
    assert max_diff <= ATOL, f"{name}: max |ours - transformers| = {max_diff}"

    # The feed-forward half is checked too: the final hidden states agree.
    ours = encoder_forward(model, torch.tensor(result.token_ids)).last_hidden_state
    torch.testing.assert_close(ours, out.last_hidden_state[0], atol=ATOL, rtol=0)


def test_limit_sentence_is_exactly_the_limit(model, hf):
    _hf_model, hf_tokenizer = hf
    assert len(hf_tokenizer(TEXT_128)["input_ids"]) == MAX_PRETRAINED_TOKENS
    assert len(pretrained_attention(TEXT_128, model).tokens) == MAX_PRETRAINED_TOKENS


# --- the forward pass uses the lessons' multi-head attention ----------------------------------


def test_forward_pass_calls_lesson_multi_head_attention(model, monkeypatch):
    calls = []
    original = pretrained.multi_head_attention

    def spy(*args, **kwargs):
        steps = original(*args, **kwargs)
        calls.append(steps.attn_weights.shape)
        return steps

    monkeypatch.setattr(pretrained, "multi_head_attention", spy)
    result = pretrained_attention("attention is all you need", model)
    T = len(result.tokens)
    assert calls == [(N_HEADS, T, T)] * N_LAYERS


# --- the result --------------------------------------------------------------------------------


def test_result_shape_rows_and_tokens(model):
    text = "Attention drives contextual embeddings."
    result = pretrained_attention(text, model)
    assert isinstance(result, PretrainedAttention)
    assert result[0] is result.tokens and result[1] is result.weights
    assert result.tokens[0] == "[CLS]" and result.tokens[-1] == "[SEP]"
    T = len(result.tokens)
    assert result.weights.shape == (N_LAYERS, N_HEADS, T, T)
    torch.testing.assert_close(result.weights.sum(-1), torch.ones(N_LAYERS, N_HEADS, T))
    assert float(result.weights.min()) >= 0.0 and float(result.weights.max()) <= 1.0
    for token, (start, end) in zip(result.tokens[1:-1], result.offsets[1:-1], strict=True):
        assert text[start:end].lower() == token.removeprefix("##")
    assert result.offsets[0] == result.offsets[-1] == (0, 0)


def test_result_is_a_plain_tensor_the_caller_may_edit(model):
    first = pretrained_attention("the cat sat", model)
    assert not first.weights.is_inference()
    first.weights.zero_()
    second = pretrained_attention("the cat sat", model)
    assert float(second.weights.sum()) > 0


def test_same_text_same_weights(model):
    a = pretrained_attention("the cat the", model)
    b = pretrained_attention("the cat the", model)
    assert torch.equal(a.weights, b.weights)


# --- bad input ---------------------------------------------------------------------------------


def test_at_the_limit_works_and_one_over_raises(model):
    assert len(pretrained_attention(TEXT_128, model).tokens) == MAX_PRETRAINED_TOKENS
    with pytest.raises(TooManyTokensError) as info:
        pretrained_attention(TEXT_129, model)
    assert isinstance(info.value, ValueError)
    assert info.value.n_tokens == MAX_PRETRAINED_TOKENS + 1
    message = str(info.value)
    assert "129 tokens" in message and "limit is 128" in message


def test_long_text_raises_not_truncates(model):
    with pytest.raises(TooManyTokensError, match="1202 tokens"):
        pretrained_attention(SENTENCE_10 * 120, model)


@pytest.mark.parametrize("text", ["", "   ", "\n\t \r\n"])
def test_empty_text_raises(text, model):
    with pytest.raises(EmptyTextError, match="empty") as info:
        pretrained_attention(text, model)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("text", ["\u200b", "\x00", "\u202e \u200b"])
def test_invisible_only_text_raises(text, model):
    with pytest.raises(EmptyTextError, match="no words"):
        pretrained_attention(text, model)


def test_non_string_raises_type_error(model):
    with pytest.raises(TypeError):
        pretrained_attention(["the", "cat"], model)  # type: ignore[arg-type]


@settings(deadline=None, max_examples=20)
@given(st.text(max_size=60))
def test_any_text_gives_weights_or_a_value_error(text):
    model = load_model()
    try:
        result = pretrained_attention(text, model)
    except ValueError as error:
        assert isinstance(error, EmptyTextError | TooManyTokensError)
        return
    T = len(result.tokens)
    assert 3 <= T <= MAX_PRETRAINED_TOKENS
    assert not torch.isnan(result.weights).any()
    torch.testing.assert_close(result.weights.sum(-1), torch.ones(N_LAYERS, N_HEADS, T))


# --- the shared model --------------------------------------------------------------------------


def test_load_model_is_cached():
    assert load_model() is load_model()


def test_tokenizer_does_not_pad_or_truncate(model):
    assert model.tokenizer.padding is None
    assert model.tokenizer.truncation is None
    assert model.config.num_layers == N_LAYERS and model.config.num_heads == N_HEADS
    assert model.config.layer_norm_eps == 1e-12


def test_a_call_does_not_mutate_the_shared_model(model):
    before = weights_digest(model)
    pretrained_attention("Does this change the model? No.", model)
    embed_words(["the", "xylophonist"], model)
    with pytest.raises(TooManyTokensError):
        pretrained_attention(TEXT_129, model)
    assert weights_digest(model) == before
    assert model.tokenizer.padding is None and model.tokenizer.truncation is None


def test_model_is_frozen(model):
    with pytest.raises(AttributeError):
        model.layers = ()  # type: ignore[misc]


# --- embedding table and embed_words -----------------------------------------------------------


def test_token_embedding_table(model):
    table = token_embedding_table(model)
    assert table.shape == (VOCAB, HIDDEN) and table.dtype == torch.float32
    assert table is model.embeddings.word
    assert token_embedding_table() is table


def test_embed_words_shape_and_determinism(model):
    tokens = ["Attention", "Mechanism", "drives", "Contextual", "Embedding"]
    first = embed_words(tokens, model)
    assert first.shape == (5, HIDDEN) and first.dtype == torch.float32
    assert torch.equal(first, embed_words(tokens))
    assert embed_words([], model).shape == (0, HIDDEN)


def test_embed_words_looks_up_rows_and_averages_pieces(model):
    table = token_embedding_table(model)
    vocab = model.tokenizer.get_vocab()
    one_piece, cased, many = embed_words(["cat", "CAT", "xylophonist"], model)
    torch.testing.assert_close(one_piece, table[vocab["cat"]], atol=0, rtol=0)
    torch.testing.assert_close(cased, one_piece, atol=0, rtol=0)  # uncased model
    piece_ids = [vocab[p] for p in ["x", "##yl", "##op", "##hon", "##ist"]]
    torch.testing.assert_close(many, table[piece_ids].mean(0), atol=1e-7, rtol=0)
    assert not torch.allclose(many, table[piece_ids[0]])


def test_embed_words_rejects_a_token_with_no_pieces(model):
    with pytest.raises(EmptyTextError, match="no letters"):
        embed_words(["cat", "\u200b"], model)


# --- hygiene -----------------------------------------------------------------------------------


def test_import_is_offline_and_ui_free():
    code = (
        "import os, sys\n"
        "import attention.pretrained\n"
        "assert os.environ['HF_HUB_OFFLINE'] == '1', os.environ.get('HF_HUB_OFFLINE')\n"
        "assert os.environ['TRANSFORMERS_OFFLINE'] == '1'\n"
        "bad = [m for m in ('streamlit', 'plotly', 'pandas') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, check=True)
