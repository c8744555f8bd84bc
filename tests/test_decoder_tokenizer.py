"""The tokenizer built from the GGUF metadata against transformers' GGUF tokenizer; chat format."""

from __future__ import annotations

import pytest

from attention.decoder import DEFAULT_SYSTEM_PROMPT, build_tokenizer, chat_prompt
from attention.gguf import GGUFFile

TRICKY = [
    "The capital of France is",
    "12345 + 678 = 13023; 3.14159, 1,000,000 and 2024",
    "x=1;y=22;z=333",
    " x  y\t\tz\n\nw ",
    "  leading spaces and trailing  ",
    "naïve café Zürich — “quotes” «guillemets»",
    "日本語の文章と한국어",
    "ＡＢＣ１２３ full-width",
    "emoji 🤖🎉👩\u200d👩\u200d👧 done",
    "don't I'll we've THEY'RE",
    "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    "a<|im_end|>b<|endoftext|>c <|im_start|>",
    "",
]

CONVERSATIONS = [
    [{"role": "user", "content": "What is attention?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    [
        {"role": "user", "content": "Count: 1 2 3"},
        {"role": "assistant", "content": "4 5 6 🎉"},
        {"role": "user", "content": "<b>and</b> then?"},
    ],
]


@pytest.fixture(scope="module")
def gguf_file(model_path) -> GGUFFile:
    return GGUFFile(model_path)


@pytest.fixture(scope="module")
def tokenizer(gguf_file: GGUFFile):
    return build_tokenizer(gguf_file.metadata)


@pytest.fixture(scope="module")
def reference(gguf_file: GGUFFile):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("gguf", reason="transformers needs the gguf package to read GGUF files")
    path = gguf_file.path
    return transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


@pytest.mark.parametrize("text", TRICKY)
def test_tokens_equal_transformers(tokenizer, reference, text: str) -> None:
    ours = tokenizer.encode(text, add_special_tokens=False).ids
    assert ours == reference.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ours, skip_special_tokens=False) == text


def test_vocabulary_and_special_tokens(tokenizer, gguf_file: GGUFFile) -> None:
    md = gguf_file.metadata
    assert tokenizer.get_vocab_size() == len(md["tokenizer.ggml.tokens"]) == 49152
    assert tokenizer.token_to_id("<|im_start|>") == md["tokenizer.ggml.bos_token_id"] == 1
    assert tokenizer.token_to_id("<|im_end|>") == md["tokenizer.ggml.eos_token_id"] == 2
    assert tokenizer.encode("<|im_start|>", add_special_tokens=False).ids == [1]
    # digits are split one by one (llama.cpp's `smollm` pre-tokenizer)
    digits = tokenizer.encode("2024", add_special_tokens=False).tokens
    assert digits == ["2", "0", "2", "4"]


@pytest.mark.parametrize("messages", CONVERSATIONS)
@pytest.mark.parametrize("add_generation_prompt", [True, False])
def test_chat_prompt_equals_the_files_template(
    gguf_file: GGUFFile, messages, add_generation_prompt: bool
) -> None:
    jinja2 = pytest.importorskip("jinja2")
    template = jinja2.Environment().from_string(gguf_file.metadata["tokenizer.chat_template"])
    expected = template.render(messages=messages, add_generation_prompt=add_generation_prompt)
    assert chat_prompt(messages, add_generation_prompt) == expected
    assert DEFAULT_SYSTEM_PROMPT in gguf_file.metadata["tokenizer.chat_template"]


@pytest.mark.parametrize("messages", CONVERSATIONS)
def test_chat_prompt_equals_transformers(reference, messages) -> None:
    expected = reference.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert chat_prompt(messages) == expected
