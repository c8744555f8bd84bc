"""Lesson 6's decoder against transformers' LlamaForCausalLM loaded from the same GGUF file.

transformers (and its GGUF loader's `gguf` and `accelerate`) are test dependencies only.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from attention.decoder import (
    KVCache,
    SmolLM2,
    apply_rope,
    count_multiply_adds,
    decoder_causal_mask,
    grouped_query_attention,
    grouped_query_attention_loop,
    kv_cache_bytes_per_token,
    pick_next_token,
    rope_angles,
    unpermute_rope_rows,
)

PROMPTS = [
    "The capital of France is",
    "Attention is all you need. 12 + 30 =",
    "<|im_start|>user\nWrite a haiku about cats.<|im_end|>\n<|im_start|>assistant\n",
]
ATOL = 1e-4


@pytest.fixture(scope="module")
def model(model_path) -> SmolLM2:
    return SmolLM2(model_path)


@pytest.fixture(scope="module")
def reference(model: SmolLM2):
    """transformers' LlamaForCausalLM from the same file, float32, eager attention."""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("gguf", reason="transformers needs the gguf package to read GGUF files")
    pytest.importorskip("accelerate", reason="transformers needs accelerate to load GGUF files")
    path = model.gguf.path
    hf = transformers.LlamaForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, attn_implementation="eager"
    )
    return hf.eval()


@pytest.fixture(autouse=True)
def _no_grad():
    with torch.no_grad():
        yield


# -- pieces that need no model file ----------------------------------------------------------


def test_unpermuting_rows_turns_pairwise_rope_into_rotate_half_rope() -> None:
    """llama.cpp rotates adjacent pairs of its permuted rows; rotate_half on the unpermuted rows
    gives the same vectors in the other order, so every dot product (attention score) agrees."""
    gen = torch.Generator().manual_seed(0)
    h, hd, C, T = 3, 8, 12, 5
    W_file = torch.randn(h * hd, C, generator=gen)  # rows in llama.cpp's order
    x = torch.randn(T, C, generator=gen)
    cos, sin = rope_angles(torch.arange(T), hd, 10000.0)  # (T, hd)

    q_hf = (x @ unpermute_rope_rows(W_file, h).T).view(T, h, hd).transpose(0, 1)
    q_hf = apply_rope(q_hf, cos, sin)  # (h, T, hd)

    q_file = (x @ W_file.T).view(T, h, hd // 2, 2)  # adjacent pairs (2i, 2i+1)
    a, b = q_file[..., 0], q_file[..., 1]
    c, s = cos[:, None, : hd // 2], sin[:, None, : hd // 2]
    rotated = torch.stack((a * c - b * s, b * c + a * s), dim=-1)  # (T, h, hd/2, 2)
    # pair i of the file order is (dim i, dim i + hd/2) of the Hugging Face order
    q_pairs = rotated.permute(1, 0, 3, 2).reshape(h, T, hd)
    assert torch.allclose(q_hf, q_pairs, atol=1e-5)


def test_causal_mask_with_cached_tokens() -> None:
    mask = decoder_causal_mask(2, 5)  # new tokens at positions 3 and 4
    expected = torch.tensor(
        [[False, False, False, False, True], [False, False, False, False, False]]
    )
    assert torch.equal(mask, expected)


def test_grouped_query_attention_loop_equals_matrix_form() -> None:
    gen = torch.Generator().manual_seed(1)
    queries = torch.randn(9, 2, 8, generator=gen)  # (h, T_new, hd)
    keys, values = torch.randn(2, 3, 5, 8, generator=gen)  # (g, T_total, hd) each
    mask = decoder_causal_mask(2, 5)
    matrix = grouped_query_attention(queries, keys, values, mask)
    loop = grouped_query_attention_loop(queries, keys, values, mask)
    for a, b in zip(matrix, loop, strict=True):
        torch.testing.assert_close(a, b)
    # heads 0-2 read kv head 0: with equal queries they give equal weights
    same = grouped_query_attention(queries[:1].expand(9, -1, -1), keys, values, mask)
    assert torch.equal(same.attn_weights[0], same.attn_weights[2])
    assert not torch.allclose(same.attn_weights[2], same.attn_weights[3])


def test_pick_next_token_sampling() -> None:
    logits = torch.tensor([0.0, 3.0, 1.0, 2.9])
    assert pick_next_token(logits) == 1
    draws = {pick_next_token(logits, 1.0, 2, torch.Generator().manual_seed(s)) for s in range(40)}
    assert draws == {1, 3}  # top-2 keeps exactly the two best
    first = [pick_next_token(logits, 0.7, None, torch.Generator().manual_seed(7)) for _ in range(3)]
    assert len(set(first)) == 1  # same seed, same token
    assert pick_next_token(logits, 5.0, 1, torch.Generator().manual_seed(3)) == 1
    with pytest.raises(ValueError):
        pick_next_token(logits, -1.0)


# -- the model against transformers -------------------------------------------------------------


@pytest.mark.parametrize("prompt", PROMPTS)
def test_logits_and_attention_equal_transformers(model: SmolLM2, reference, prompt: str) -> None:
    ids = model.encode(prompt)
    ours = model.forward(torch.tensor(ids))
    theirs = reference(torch.tensor([ids]), output_attentions=True)
    assert ours.logits.shape == (len(ids), model.config.vocab_size)
    torch.testing.assert_close(ours.logits, theirs.logits[0], atol=ATOL, rtol=0)
    assert len(theirs.attentions) == model.config.num_layers
    for layer, attn in enumerate(theirs.attentions):
        # (L, h, T, T) against each layer's (1, h, T, T)
        torch.testing.assert_close(ours.attn_weights[layer], attn[0], atol=ATOL, rtol=0)


def test_greedy_generation_equals_transformers(model: SmolLM2, reference) -> None:
    ids = model.encode(PROMPTS[0])
    n_new = 6
    ours = model.generate(ids, max_new_tokens=n_new, stop_at_eos=False)
    theirs = reference.generate(
        torch.tensor([ids]), max_new_tokens=n_new, min_new_tokens=n_new, do_sample=False
    )
    assert ours.new_ids == theirs[0, len(ids) :].tolist()
    assert ours.steps[-1].text == model.decode(ours.new_ids)


# -- cache, counts, sizes --------------------------------------------------------------------


def test_cached_and_uncached_decoding_agree(model: SmolLM2) -> None:
    ids = model.encode(PROMPTS[1])
    cached = model.generate(ids, max_new_tokens=5, use_cache=True, stop_at_eos=False)
    uncached = model.generate(ids, max_new_tokens=5, use_cache=False, stop_at_eos=False)
    assert cached.new_ids == uncached.new_ids
    torch.testing.assert_close(cached.prompt_attn, uncached.prompt_attn, atol=ATOL, rtol=0)
    for a, b in zip(cached.steps, uncached.steps, strict=True):
        assert a.attn_row.shape == (model.config.num_layers, model.config.num_heads, a.position + 1)
        torch.testing.assert_close(a.attn_row, b.attn_row, atol=ATOL, rtol=0)
        assert torch.allclose(a.attn_row.sum(-1), torch.ones(()), atol=1e-5)
        assert a.fed_tokens == (len(ids) if a.index == 0 else 1)
        assert b.fed_tokens == a.position + 1
    # the full matrix: causal (nothing above the diagonal), each row sums to 1
    matrix = cached.attention_matrix(layer=7)  # (h, T, T)
    T = len(ids) + len(cached.steps) - 1
    assert matrix.shape == (model.config.num_heads, T, T)
    assert torch.all(matrix.masked_select(decoder_causal_mask(T, T)) == 0)
    assert torch.allclose(matrix.sum(-1), torch.ones(()), atol=1e-5)


def test_a_prompt_fed_in_two_pieces_equals_one_pass(model: SmolLM2) -> None:
    ids = torch.tensor(model.encode(PROMPTS[0]))
    whole = model.forward(ids)
    cache = KVCache(model.config, capacity=len(ids))
    model.forward(ids[:3], cache)
    rest = model.forward(ids[3:], cache)
    assert cache.length == len(ids)
    torch.testing.assert_close(rest.logits, whole.logits[3:], atol=ATOL, rtol=0)
    torch.testing.assert_close(rest.attn_weights, whole.attn_weights[:, :, 3:], atol=ATOL, rtol=0)
    last = model.forward(ids, logits_rows=1, attn_rows=1)
    assert torch.equal(last.attn_weights, whole.attn_weights[:, :, -1:])
    torch.testing.assert_close(last.logits, whole.logits[-1:], atol=ATOL, rtol=0)


def test_kv_cache_size_and_the_grouped_query_saving(model: SmolLM2) -> None:
    c = model.config
    ids = model.encode(PROMPTS[0])
    cache = KVCache(c, capacity=len(ids) + 1)
    model.forward(torch.tensor(ids), cache)
    model.forward(torch.tensor([42]), cache)
    filled = sum(
        k[:, : cache.length].nbytes + v[:, : cache.length].nbytes
        for k, v in zip(cache.keys, cache.values, strict=True)
    )
    assert cache.nbytes == filled  # the formula counts exactly the stored floats
    per_token = kv_cache_bytes_per_token(c)
    assert per_token == c.num_layers * 2 * c.num_kv_heads * c.head_dim * 4
    assert cache.nbytes == cache.length * per_token
    without_gqa = kv_cache_bytes_per_token(c, num_kv_heads=c.num_heads)
    assert without_gqa / per_token == c.num_heads / c.num_kv_heads == 3


@pytest.mark.parametrize("cached", [True, False])
def test_multiply_add_count_equals_the_matrix_products_run(model: SmolLM2, cached: bool) -> None:
    """torch's own FLOP counter (2 per multiply-add) over a real step agrees with the formula."""
    ids = model.encode(PROMPTS[0])
    cache = KVCache(model.config, capacity=len(ids) + 1) if cached else None
    if cache is not None:
        model.forward(torch.tensor(ids), cache)
        feed, T_total = torch.tensor([42]), len(ids) + 1
    else:
        feed, T_total = torch.tensor([*ids, 42]), len(ids) + 1
    with FlopCounterMode(display=False) as counter:
        model.forward(feed, cache, logits_rows=1)
    expected = count_multiply_adds(model.config, feed.shape[0], T_total, logits_rows=1)
    assert counter.get_total_flops() == 2 * expected.total


def test_step_records(model: SmolLM2) -> None:
    ids = model.encode(PROMPTS[0])
    generation = model.generate(ids, max_new_tokens=3, stop_at_eos=False)
    c = model.config
    for step in generation.steps:
        assert step.kv_cache_bytes == (step.position + 1) * kv_cache_bytes_per_token(c)
        T_total = step.position + 1
        assert step.multiply_adds_uncached == count_multiply_adds(c, T_total, T_total).total
        assert step.token_text == model.decode([step.token_id])
        assert math.isfinite(step.seconds) and step.seconds > 0
    later = generation.steps[-1]
    assert later.multiply_adds_cached < later.multiply_adds_uncached
    assert generation.prompt_attn.shape == (c.num_layers, c.num_heads, len(ids), len(ids))


def test_generation_limits(model: SmolLM2) -> None:
    with pytest.raises(ValueError, match="no tokens"):
        model.generate([], max_new_tokens=2)
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.generate([1, 2], max_new_tokens=1000)
