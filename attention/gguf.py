"""A small reader for GGUF files, the format llama.cpp stores models in.

A GGUF file is a header, a list of metadata key/value pairs (the model's hyperparameters and its
tokenizer), a list of tensor descriptions (name, shape, storage type, offset) and then the tensor
bytes, each tensor starting on an `alignment` boundary. Reading the header is a few hundred
`struct` reads; the tensor bytes are not read at all but memory-mapped, so a tensor here is a
view of the file's raw bytes until someone dequantises it.

Storage types this module can turn into float32 (the ones SmolLM2-135M-Instruct.Q4_1 uses):
  F32   plain little-endian float32.
  Q8_0  blocks of 32 values: a float16 scale d, then 32 int8 q;  value = d * q.
  Q4_1  blocks of 32 values: float16 scale d, float16 minimum m, then 16 bytes holding 32 4-bit
        q (value j of the block is the low nibble of byte j for j < 16, the high nibble of byte
        j - 16 otherwise);  value = d * q + m.
Blocks run along a row (the last, fastest-varying axis), so a row of n values is n / 32 blocks.

Shape legend: R rows, C columns (values per row), nb = C / 32 blocks per row.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import torch

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# ggml storage type ids (ggml.h, enum ggml_type)
GGML_F32 = 0
GGML_F16 = 1
GGML_Q4_0 = 2
GGML_Q4_1 = 3
GGML_Q8_0 = 8
GGML_TYPE_NAMES = {GGML_F32: "F32", GGML_F16: "F16", GGML_Q4_0: "Q4_0", GGML_Q4_1: "Q4_1"}
GGML_TYPE_NAMES[GGML_Q8_0] = "Q8_0"

QK = 32  # values per block, for Q4_0, Q4_1 and Q8_0
# (values per block, bytes per block) for each type this module can read
BLOCK_LAYOUT = {
    GGML_F32: (1, 4),
    GGML_F16: (1, 2),
    GGML_Q4_1: (QK, 2 + 2 + QK // 2),  # d, m, 16 bytes of nibbles = 20 bytes
    GGML_Q8_0: (QK, 2 + QK),  # d, 32 int8 = 34 bytes
}

# metadata value types (gguf.h, enum gguf_type): struct format for the fixed-size ones
_SCALAR_FORMATS = {
    0: "<B",  # UINT8
    1: "<b",  # INT8
    2: "<H",  # UINT16
    3: "<h",  # INT16
    4: "<I",  # UINT32
    5: "<i",  # INT32
    6: "<f",  # FLOAT32
    7: "<?",  # BOOL
    10: "<Q",  # UINT64
    11: "<q",  # INT64
    12: "<d",  # FLOAT64
}
_STRING, _ARRAY = 8, 9


class GGUFError(ValueError):
    """The file is not a GGUF file this reader understands."""


@dataclass(frozen=True)
class TensorInfo:
    """One tensor's description: shape in torch order (rows first), ggml type, byte range."""

    name: str
    shape: tuple[int, ...]  # torch order: (R, C) for a matrix, (C,) for a vector
    ggml_type: int
    offset: int  # from the start of the file
    n_bytes: int

    @property
    def type_name(self) -> str:
        return GGML_TYPE_NAMES.get(self.ggml_type, f"type {self.ggml_type}")


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise GGUFError("the file ends in the middle of its header")
    return struct.unpack(fmt, data)[0]


def _read_string(f: BinaryIO) -> str:
    n = _read(f, "<Q")
    data = f.read(n)
    if len(data) != n:
        raise GGUFError("the file ends in the middle of a string")
    return data.decode("utf-8", errors="replace")


def _read_value(f: BinaryIO, value_type: int) -> Any:
    if value_type in _SCALAR_FORMATS:
        return _read(f, _SCALAR_FORMATS[value_type])
    if value_type == _STRING:
        return _read_string(f)
    if value_type == _ARRAY:
        item_type, n = _read(f, "<I"), _read(f, "<Q")
        if item_type in _SCALAR_FORMATS:  # one struct call for the whole array
            fmt = _SCALAR_FORMATS[item_type]
            size = struct.calcsize(fmt)
            data = f.read(size * n)
            return list(struct.unpack(f"<{n}{fmt[1]}", data))
        return [_read_value(f, item_type) for _ in range(n)]
    raise GGUFError(f"unknown metadata value type {value_type}")


def _n_bytes(shape: tuple[int, ...], ggml_type: int, name: str) -> int:
    n = 1
    for dim in shape:
        n *= dim
    if ggml_type not in BLOCK_LAYOUT:
        # Not readable here, but still skippable: report size 0 and refuse to dequantise later.
        return 0
    per_block, block_bytes = BLOCK_LAYOUT[ggml_type]
    if shape and shape[-1] % per_block:
        raise GGUFError(f"{name}: row length {shape[-1]} is not a multiple of {per_block}")
    return n // per_block * block_bytes


class GGUFFile:
    """A GGUF file: `metadata` (dict), `tensors` (name -> TensorInfo), raw tensor bytes via mmap.

    The file is mapped copy-on-write, so tensor views are ordinary (writable) torch tensors that
    share the page cache with the file; nothing is read until it is used.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as f:
            if f.read(4) != GGUF_MAGIC:
                raise GGUFError(f"{self.path.name} is not a GGUF file (no GGUF magic)")
            self.version = _read(f, "<I")
            if self.version not in (2, 3):
                raise GGUFError(f"GGUF version {self.version} is not supported (2 or 3 are)")
            n_tensors, n_kv = _read(f, "<Q"), _read(f, "<Q")
            self.metadata: dict[str, Any] = {}
            for _ in range(n_kv):
                key = _read_string(f)
                self.metadata[key] = _read_value(f, _read(f, "<I"))
            infos = []
            for _ in range(n_tensors):
                name = _read_string(f)
                n_dims = _read(f, "<I")
                dims = [_read(f, "<Q") for _ in range(n_dims)]  # ggml order: fastest first
                ggml_type, rel_offset = _read(f, "<I"), _read(f, "<Q")
                infos.append((name, tuple(reversed(dims)), ggml_type, rel_offset))
            alignment = int(self.metadata.get("general.alignment", DEFAULT_ALIGNMENT))
            pos = f.tell()
            self.data_offset = (pos + alignment - 1) // alignment * alignment
            f.seek(0, 2)
            file_size = f.tell()
            self._mmap = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
        self.tensors: dict[str, TensorInfo] = {}
        for name, shape, ggml_type, rel_offset in infos:
            info = TensorInfo(
                name,
                shape,
                ggml_type,
                self.data_offset + rel_offset,
                _n_bytes(shape, ggml_type, name),
            )
            if info.offset + info.n_bytes > file_size:
                raise GGUFError(f"{name}: its bytes run past the end of the file")
            self.tensors[name] = info
        self._bytes = torch.frombuffer(self._mmap, dtype=torch.uint8)  # (file_size,)

    def raw(self, name: str) -> torch.Tensor:
        """The tensor's bytes, uint8, shaped (R, nb, block_bytes) for quantised matrices,
        (n_values, bytes) for F32/F16 (a view of the mapped file, no copy)."""
        info = self.tensors[name]
        if info.ggml_type not in BLOCK_LAYOUT:
            raise GGUFError(f"{name}: storage type {info.type_name} is not supported here")
        per_block, block_bytes = BLOCK_LAYOUT[info.ggml_type]
        data = self._bytes[info.offset : info.offset + info.n_bytes]
        rows = 1
        for dim in info.shape[:-1]:
            rows *= dim
        return data.view(rows, info.shape[-1] // per_block, block_bytes)

    def bytes_at(self, offset: int, n_bytes: int) -> torch.Tensor:
        """(n_bytes,) uint8 view of the mapped file from `offset` (e.g. several tensors at once)."""
        return self._bytes[offset : offset + n_bytes]

    def read_bytes(self, offset: int, n_bytes: int) -> torch.Tensor:
        """(n_bytes,) uint8, a private copy read from the file (not through the mapping, so
        those pages of the mapping stay untouched and are not counted in this process's RSS)."""
        buffer = bytearray(n_bytes)
        with open(self.path, "rb") as f:
            f.seek(offset)
            if f.readinto(buffer) != n_bytes:
                raise GGUFError("the file ends before the requested bytes")
        return torch.frombuffer(buffer, dtype=torch.uint8)

    def tensor(self, name: str) -> torch.Tensor:
        """The tensor dequantised to a new float32 tensor of its own shape."""
        info = self.tensors[name]
        out = torch.empty(info.shape, dtype=torch.float32)
        dequantize_into(self.raw(name), info.ggml_type, out.view(-1, info.shape[-1]))
        return out

    def close(self) -> None:
        """Drop the tensor views' mapping (views taken earlier must not be used afterwards)."""
        del self._bytes
        self._mmap.close()


class PackedQ4_1:
    """Q4_1 blocks regrouped for fast unpacking: the same bytes as the file, but the nibbles of
    all blocks in one contiguous (n, 16) array and the scales and minimums in (n, 1) arrays.

    raw: (n, 20) uint8 blocks as stored; the arrays are private copies.
    """

    def __init__(self, raw: torch.Tensor) -> None:
        self.n_blocks = raw.shape[0]
        self.nibbles = raw[:, 4:].contiguous()  # (n, 16) uint8
        self.d = raw[:, 0:2].contiguous().view(torch.float16)  # (n, 1) scale
        self.m = raw[:, 2:4].contiguous().view(torch.float16)  # (n, 1) minimum

    def unpack_into(self, out: torch.Tensor, scratch: Q4_1Scratch) -> torch.Tensor:
        """out: (n, 32) float32, value j of block b = d_b * q_bj + m_b. Returns out."""
        torch.bitwise_and(self.nibbles, 0x0F, out=scratch.nibbles)  # (n, 16) values 0..15
        out[:, : QK // 2].copy_(scratch.nibbles)
        torch.bitwise_right_shift(self.nibbles, 4, out=scratch.nibbles)  # values 16..31
        out[:, QK // 2 :].copy_(scratch.nibbles)
        scratch.d.copy_(self.d)  # float16 -> float32, (n, 1)
        scratch.m.copy_(self.m)
        return out.mul_(scratch.d).add_(scratch.m)  # value = d * q + m


class Q4_1Scratch:
    """Work arrays for PackedQ4_1.unpack_into, allocated once for up to n blocks."""

    def __init__(self, n_blocks: int) -> None:
        self._nibbles = torch.empty(n_blocks, QK // 2, dtype=torch.uint8)
        self._d = torch.empty(n_blocks, 1)
        self._m = torch.empty(n_blocks, 1)
        self.nibbles, self.d, self.m = self._nibbles, self._d, self._m

    def sized(self, n_blocks: int) -> Q4_1Scratch:
        """Views of the first n_blocks rows (n_blocks must not exceed the allocated size)."""
        self.nibbles = self._nibbles[:n_blocks]
        self.d, self.m = self._d[:n_blocks], self._m[:n_blocks]
        return self


def dequantize_into(raw: torch.Tensor, ggml_type: int, out: torch.Tensor) -> torch.Tensor:
    """Write float32 values into `out` without allocating a full-size temporary.

    raw: (R, nb, block_bytes) uint8 from GGUFFile.raw (any row subset); out: (R, C) float32,
    contiguous, C = nb * 32 for quantised types. Returns out.
    """
    R = raw.shape[0]
    if ggml_type == GGML_F32:
        out.copy_(raw.reshape(R, -1).view(torch.float32))
        return out
    if ggml_type == GGML_F16:
        out.copy_(raw.reshape(R, -1).view(torch.float16))
        return out
    nb = raw.shape[1]
    blocks = out.view(R, nb, QK)  # (R, nb, 32): one block of values per row of the last axis
    if ggml_type == GGML_Q8_0:
        d = raw[:, :, 0:2].view(torch.float16)  # (R, nb, 1) the block's scale
        blocks.copy_(raw[:, :, 2:].view(torch.int8))  # (R, nb, 32) q as float
        blocks.mul_(d)  # value = d * q
        return out
    if ggml_type == GGML_Q4_1:
        d = raw[:, :, 0:2].view(torch.float16)  # (R, nb, 1) scale
        m = raw[:, :, 2:4].view(torch.float16)  # (R, nb, 1) minimum
        nibbles = raw[:, :, 4:]  # (R, nb, 16) two 4-bit values per byte
        blocks[:, :, : QK // 2].copy_(nibbles & 0x0F)  # values 0..15: low nibbles
        blocks[:, :, QK // 2 :].copy_(nibbles >> 4)  # values 16..31: high nibbles
        blocks.mul_(d).add_(m)  # value = d * q + m
        return out
    raise GGUFError(f"storage type {GGML_TYPE_NAMES.get(ggml_type, ggml_type)} is not supported")
