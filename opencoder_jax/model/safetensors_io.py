"""The safetensors format, read and written directly (no extra runtime dependency; bf16 via
`ml_dtypes`): an 8-byte little-endian header length, a JSON header of
name -> {dtype, shape, data_offsets}, then the raw little-endian data.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any, Callable

import ml_dtypes
import numpy as np

SAFETENSORS_DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype(np.float64), "F32": np.dtype(np.float32), "F16": np.dtype(np.float16),
    "BF16": np.dtype(ml_dtypes.bfloat16), "I64": np.dtype(np.int64), "I32": np.dtype(np.int32),
    "I16": np.dtype(np.int16), "I8": np.dtype(np.int8), "U8": np.dtype(np.uint8), "BOOL": np.dtype(np.bool_),
}
_DTYPE_CODES = {v: k for k, v in SAFETENSORS_DTYPES.items()}
FLOAT_CODES = ("F64", "F32", "F16", "BF16")
# HF torch_dtype names <-> numpy.
HF_DTYPE_NAMES = {"float32": np.dtype(np.float32), "bfloat16": np.dtype(ml_dtypes.bfloat16),
                  "float16": np.dtype(np.float16), "float64": np.dtype(np.float64)}
_MAX_HEADER_BYTES = 100 * 2**20


def as_np_dtype(dtype: Any) -> np.dtype:
    """'bfloat16' / jnp.bfloat16 / np.float32 ... -> a numpy dtype (bf16 via ml_dtypes)."""
    if isinstance(dtype, str):
        name = dtype.removeprefix("torch.")
        if name not in HF_DTYPE_NAMES:
            raise ValueError(f"unsupported dtype {dtype!r} (use one of {', '.join(HF_DTYPE_NAMES)})")
        return HF_DTYPE_NAMES[name]
    return np.dtype(dtype)


def dtype_name(dtype: Any) -> str:
    """A numpy/jax dtype -> its HF torch_dtype name ('bfloat16', 'float32', ...)."""
    dt = as_np_dtype(dtype)
    for name, value in HF_DTYPE_NAMES.items():
        if value == dt:
            return name
    raise ValueError(f"unsupported parameter dtype {dt} (use one of {', '.join(HF_DTYPE_NAMES)})")


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str  # safetensors code: F32, BF16, ...
    shape: tuple[int, ...]
    begin: int  # byte offsets within the data section
    end: int

    @property
    def np_dtype(self) -> np.dtype:
        return SAFETENSORS_DTYPES[self.dtype]


class SafetensorsFile:
    """A safetensors file whose header is read and validated on open; tensors are read on demand."""

    def __init__(self, path: str):
        self.path = path
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                prefix = f.read(8)
                if size < 8 or len(prefix) < 8:
                    raise ValueError(f"{path}: not a safetensors file (only {size} bytes)")
                header_len = int.from_bytes(prefix, "little")
                if header_len > min(size - 8, _MAX_HEADER_BYTES):
                    raise ValueError(f"{path}: corrupt or not a safetensors file "
                                     f"(header length {header_len} does not fit a {size}-byte file)")
                raw = f.read(header_len)
        except OSError as e:
            raise ValueError(f"{path}: unreadable safetensors file ({e})") from e
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: corrupt safetensors header ({e})") from e
        if not isinstance(header, dict):
            raise ValueError(f"{path}: corrupt safetensors header (not a JSON object)")
        self.data_start = 8 + header_len
        data_size = size - self.data_start
        self.metadata: dict = header.pop("__metadata__", None) or {}
        self.tensors: dict[str, TensorInfo] = {}
        for name, entry in header.items():
            try:
                code = entry["dtype"]
                shape = tuple(int(d) for d in entry["shape"])
                begin, end = (int(x) for x in entry["data_offsets"])
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"{path}: corrupt safetensors header entry for tensor {name!r} ({e!r})") from e
            if code not in SAFETENSORS_DTYPES:
                raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {code!r}")
            if any(d < 0 for d in shape):
                raise ValueError(f"{path}: tensor {name!r} has a negative dimension in shape {list(shape)}")
            nbytes = math.prod(shape) * SAFETENSORS_DTYPES[code].itemsize
            if not (0 <= begin <= end <= data_size) or end - begin != nbytes:
                raise ValueError(f"{path}: corrupt or truncated safetensors file: tensor {name!r} "
                                 f"({code} {list(shape)}, {nbytes} bytes) has data_offsets [{begin}, {end}] "
                                 f"in a {data_size}-byte data section")
            self.tensors[name] = TensorInfo(name, code, shape, begin, end)

    def __contains__(self, name: str) -> bool:
        return name in self.tensors

    def read(self, name: str) -> np.ndarray:
        info = self.tensors[name]
        out = np.empty(info.shape, dtype=info.np_dtype)
        try:
            with open(self.path, "rb") as f:
                f.seek(self.data_start + info.begin)
                got = f.readinto(memoryview(out.reshape(-1).view(np.uint8)))
        except OSError as e:
            raise ValueError(f"{self.path}: cannot read tensor {name!r} ({e})") from e
        if got != info.end - info.begin:
            raise ValueError(f"{self.path}: truncated data for tensor {name!r}")
        if not np.little_endian:  # pragma: no cover
            out = out.byteswap().view(out.dtype.newbyteorder())
        return out


def write_safetensors(path: str, specs: list[tuple[str, np.dtype, tuple[int, ...]]],
                      produce: Callable[[str], np.ndarray], metadata: dict | None = None) -> int:
    """Write tensors named in specs (name, dtype, shape), asking produce(name) for each in turn.

    The header is planned from the specs first, so only one tensor is in memory at a time.
    Returns the number of data bytes written. Writes to a temporary name, then renames.
    """
    header: dict[str, Any] = {"__metadata__": dict(metadata or {"format": "pt"})}
    offset = 0
    for name, dtype, shape in specs:
        dt = np.dtype(dtype)
        nbytes = math.prod(shape) * dt.itemsize
        header[name] = {"dtype": _DTYPE_CODES[dt], "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # data aligned to 8 bytes, as the reference writer does
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for name, dtype, shape in specs:
            arr = np.ascontiguousarray(produce(name))
            if arr.dtype != np.dtype(dtype) or tuple(arr.shape) != tuple(shape):
                raise ValueError(f"{path}: tensor {name!r} is {arr.dtype}{list(arr.shape)}, "
                                 f"planned {np.dtype(dtype)}{list(shape)}")
            f.write(memoryview(arr.reshape(-1).view(np.uint8)))
            del arr
    os.replace(tmp, path)
    return offset
