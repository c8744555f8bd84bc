"""The GGUF reader: struct layout and dequantisation, on a hand-built file and on the model file."""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path

import pytest
import torch

from attention import model_files
from attention.gguf import (
    GGML_F32,
    GGML_Q4_1,
    GGML_Q8_0,
    GGUFError,
    GGUFFile,
    PackedQ4_1,
    Q4_1Scratch,
)

# -- a tiny GGUF file written by hand -----------------------------------------------------------


def _string(s: str) -> bytes:
    data = s.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def _kv_string(key: str, value: str) -> bytes:
    return _string(key) + struct.pack("<I", 8) + _string(value)


def _kv_u32(key: str, value: int) -> bytes:
    return _string(key) + struct.pack("<II", 4, value)


def _kv_f32(key: str, value: float) -> bytes:
    return _string(key) + struct.pack("<If", 6, value)


def _kv_string_array(key: str, values: list[str]) -> bytes:
    body = b"".join(_string(v) for v in values)
    return _string(key) + struct.pack("<IIQ", 9, 8, len(values)) + body


def _kv_i32_array(key: str, values: list[int]) -> bytes:
    body = struct.pack(f"<{len(values)}i", *values)
    return _string(key) + struct.pack("<IIQ", 9, 5, len(values)) + body


def _tensor_info(name: str, dims_fastest_first: list[int], ggml_type: int, offset: int) -> bytes:
    dims = struct.pack(f"<{len(dims_fastest_first)}Q", *dims_fastest_first)
    return (
        _string(name)
        + struct.pack("<I", len(dims_fastest_first))
        + dims
        + struct.pack("<IQ", ggml_type, offset)
    )


def _f16(x: float) -> bytes:
    return struct.pack("<e", x)


def _q8_0_block(d: float, q: list[int]) -> bytes:
    return _f16(d) + struct.pack("<32b", *q)


def _q4_1_block(d: float, m: float, q: list[int]) -> bytes:
    # byte j holds value j (low nibble) and value j + 16 (high nibble)
    packed = bytes(q[j] | (q[j + 16] << 4) for j in range(16))
    return _f16(d) + _f16(m) + packed


def _pad(data: bytes, alignment: int = 32) -> bytes:
    return data + b"\0" * (-len(data) % alignment)


@pytest.fixture
def tiny_gguf(tmp_path: Path):
    """A GGUF v3 file with an F32 vector, a 2 x 32 Q8_0 matrix and a 1 x 32 Q4_1 row."""
    f32_values = [1.5, -2.0, 0.25, 3.0]
    q8_rows = [
        (0.5, [i - 16 for i in range(32)]),
        (-0.25, [(7 * i) % 50 - 25 for i in range(32)]),
    ]
    q4 = (0.125, -1.0, [(5 * i + 3) % 16 for i in range(32)])

    f32_bytes = struct.pack("<4f", *f32_values)
    q8_bytes = b"".join(_q8_0_block(d, q) for d, q in q8_rows)
    q4_bytes = _q4_1_block(*q4)
    offsets = [0, len(_pad(f32_bytes))]
    offsets.append(offsets[1] + len(_pad(q8_bytes)))
    data = _pad(f32_bytes) + _pad(q8_bytes) + q4_bytes

    metadata = [
        _kv_string("general.architecture", "llama"),
        _kv_u32("llama.block_count", 2),
        _kv_f32("llama.rope.freq_base", 100000.0),
        _kv_string_array("tokenizer.ggml.tokens", ["a", "Ġb", "<|x|>"]),
        _kv_i32_array("tokenizer.ggml.token_type", [1, 1, 3]),
    ]
    infos = [
        _tensor_info("norm.weight", [4], GGML_F32, offsets[0]),
        _tensor_info("q8.weight", [32, 2], GGML_Q8_0, offsets[1]),
        _tensor_info("q4.weight", [32, 1], GGML_Q4_1, offsets[2]),
    ]
    header = b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(metadata))
    head = _pad(header + b"".join(metadata) + b"".join(infos))
    path = tmp_path / "tiny.gguf"
    path.write_bytes(head + data)

    def f16(x: float) -> float:  # the value a float16 field really holds
        return struct.unpack("<e", _f16(x))[0]

    expected = {
        "norm.weight": torch.tensor(f32_values),
        "q8.weight": torch.tensor([[f16(d) * q for q in qs] for d, qs in q8_rows]),
        "q4.weight": torch.tensor([[f16(q4[0]) * q + f16(q4[1]) for q in q4[2]]]),
    }
    return path, len(head), expected


def test_tiny_file_header_and_metadata(tiny_gguf) -> None:
    path, data_offset, _ = tiny_gguf
    g = GGUFFile(path)
    assert g.version == 3
    assert g.data_offset == data_offset
    assert g.metadata["general.architecture"] == "llama"
    assert g.metadata["llama.block_count"] == 2
    assert g.metadata["llama.rope.freq_base"] == pytest.approx(100000.0)
    assert g.metadata["tokenizer.ggml.tokens"] == ["a", "Ġb", "<|x|>"]
    assert g.metadata["tokenizer.ggml.token_type"] == [1, 1, 3]
    assert {n: t.shape for n, t in g.tensors.items()} == {
        "norm.weight": (4,),
        "q8.weight": (2, 32),
        "q4.weight": (1, 32),
    }


@pytest.mark.parametrize("name", ["norm.weight", "q8.weight", "q4.weight"])
def test_tiny_file_dequantises_by_the_block_formulas(tiny_gguf, name: str) -> None:
    path, _, expected = tiny_gguf
    values = GGUFFile(path).tensor(name)
    assert values.dtype == torch.float32
    assert torch.equal(values, expected[name])


def test_packed_q4_1_unpacks_to_the_same_values(tiny_gguf) -> None:
    path, _, expected = tiny_gguf
    g = GGUFFile(path)
    packed = PackedQ4_1(g.raw("q4.weight").reshape(-1, 20))  # (n_blocks, 20)
    out = torch.empty(packed.n_blocks, 32)
    packed.unpack_into(out, Q4_1Scratch(4).sized(packed.n_blocks))
    assert torch.equal(out.view(1, 32), expected["q4.weight"])


def test_not_a_gguf_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "not.gguf"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(GGUFError, match="not a GGUF file"):
        GGUFFile(path)


def test_truncated_file_is_refused(tiny_gguf, tmp_path: Path) -> None:
    path, _, _ = tiny_gguf
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(path.read_bytes()[:-40])  # the Q4_1 row loses its bytes
    with pytest.raises(GGUFError, match="past the end"):
        GGUFFile(cut)


# -- the model file ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_gguf() -> GGUFFile:
    try:
        path = model_files.fetch_model_file()
    except model_files.ModelUnavailableError as error:
        pytest.skip(f"the model file could not be obtained: {error}")
    return GGUFFile(path)


def test_model_file_layout(model_gguf: GGUFFile) -> None:
    md = model_gguf.metadata
    assert md["general.architecture"] == "llama"
    assert md["llama.block_count"] == 30
    assert md["llama.embedding_length"] == 576
    assert md["llama.attention.head_count"] == 9
    assert md["llama.attention.head_count_kv"] == 3
    assert len(md["tokenizer.ggml.tokens"]) == 49152
    assert model_gguf.data_offset % md.get("general.alignment", 32) == 0
    types = Counter(t.type_name for t in model_gguf.tensors.values())
    assert types == {"Q4_1": 210, "F32": 61, "Q8_0": 1}
    assert model_gguf.tensors["token_embd.weight"].shape == (49152, 576)
    assert model_gguf.tensors["blk.0.ffn_down.weight"].shape == (576, 1536)


@pytest.mark.parametrize(
    "name",
    ["token_embd.weight", "blk.0.attn_q.weight", "blk.29.ffn_down.weight", "output_norm.weight"],
)
def test_model_tensors_equal_the_gguf_package(model_gguf: GGUFFile, name: str) -> None:
    """An independent reader (the `gguf` package, numpy) gives the very same floats."""
    gguf = pytest.importorskip("gguf", reason="the gguf package (requirements-dev.txt) is absent")
    from gguf.quants import dequantize

    reference = next(t for t in gguf.GGUFReader(model_gguf.path).tensors if t.name == name)
    expected = torch.from_numpy(dequantize(reference.data, reference.tensor_type).copy())
    values = model_gguf.tensor(name)
    assert torch.equal(values, expected.reshape(values.shape).float())
    if model_gguf.tensors[name].ggml_type == GGML_Q4_1:
        packed = PackedQ4_1(model_gguf.raw(name).reshape(-1, 20))
        out = torch.empty(packed.n_blocks, 32)
        packed.unpack_into(out, Q4_1Scratch(packed.n_blocks))
        assert torch.equal(out.view(values.shape), values)
