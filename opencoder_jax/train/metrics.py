"""Training metrics: model FLOPs and MFU, metrics.jsonl, TensorBoard events, a loss curve.

FLOPs per token (training = forward + backward = 3x forward), as MaxText's
`calculate_tflops_training_per_device`:

    matmul weights  6 * (N * (E*(H+2K)*D + H*D*E + 3*E*F) + E*V)      (qkv, out, SwiGLU, lm head)
    causal attn     3 * N * (4 * L * H * D) / 2                       = 6 * N * L * H * D
                    (QK^T and PV cost 2*L*H*D FLOPs each per token over L keys: 4*L*H*D
                    forward; causal masking halves it; x3 for training)

The embedding lookup is not a matmul and is not counted; the lm head is. Packed rows are
counted at full length L (as MaxText does with max_target_length): segment masking does not
reduce the work the kernel does.

MFU = achieved model FLOP/s per device / the device's peak (PEAK_FLOPS below; dense bf16
for accelerators). The CPU figure is our stated estimate, not a vendor number: cores x 3.0 GHz
x 32 fp32 FLOP/cycle (two 256-bit FMA units), so MFU on CPU is only indicative.

Writers: `metrics.jsonl` (one JSON object per logged row), TensorBoard scalars (a minimal
event-file writer: TFRecord framing + the Event/Summary protobuf fields, written by hand so a
run needs neither TensorFlow nor tensorboard at import), and `loss_curve.png` at the end.
"""
from __future__ import annotations

import json
import math
import os
import socket
import struct
import time
from typing import Any, Iterable, Mapping

# Peak dense FLOP/s per device (bf16 for accelerators).
PEAK_FLOPS = {
    "h100": 989.5e12,   # NVIDIA H100 SXM bf16 dense
    "h200": 989.5e12,   # NVIDIA H200: the H100 SXM compute die
    "a100": 312e12,     # NVIDIA A100 bf16 dense
    "tpu v4": 275e12,
    "tpu v5 lite": 197e12,  # TPU v5e (device_kind "TPU v5 lite")
    "tpu v5e": 197e12,
    "tpu v5p": 459e12,
    "tpu v5": 459e12,   # v5p reports "TPU v5"
    "tpu v6 lite": 918e12,  # Trillium (v6e)
}
CPU_FLOPS_PER_CORE = 3.0e9 * 32  # stated estimate: 3 GHz x 32 fp32 FLOP/cycle (2x 256-bit FMA)


def cpu_peak_flops(cores: int | None = None) -> float:
    return (cores or os.cpu_count() or 1) * CPU_FLOPS_PER_CORE


def peak_flops_per_device(device_kind: str | None = None) -> float:
    """Peak FLOP/s of one device by its `device_kind` (longest matching table key wins)."""
    if device_kind is None:
        import jax

        device_kind = jax.devices()[0].device_kind
    kind = device_kind.lower()
    if kind == "cpu" or "cpu" in kind:
        return cpu_peak_flops()
    matches = [k for k in PEAK_FLOPS if k in kind]
    if not matches:
        raise ValueError(f"no peak FLOP/s known for device kind {device_kind!r}; set TrainConfig.peak_flops_per_device")
    return PEAK_FLOPS[max(matches, key=len)]


def flops_per_token(config, seq_len: int) -> dict[str, float]:
    """Training FLOPs per token: {'weights', 'attention', 'total'} (MaxText's accounting)."""
    E, N, H, K, D, F, V = (config.embed_dim, config.num_layers, config.num_heads, config.num_kv_heads,
                           config.head_dim, config.mlp_dim, config.vocab_size)
    ffn = 2 * E * F * 2 + 2 * F * E          # gate + up (SwiGLU: 2 activations), down
    qkv = 2 * E * (H + 2 * K) * D
    proj = 2 * E * H * D
    head = 2 * E * V
    weights = 3 * ((ffn + qkv + proj) * N + head)
    attention = 3 * N * (4 * seq_len * H * D) / 2   # causal: half of QK^T + PV
    return {"weights": float(weights), "attention": float(attention), "total": float(weights + attention)}


def mfu(tokens_per_second_per_device: float, flops_token: float, peak: float) -> float:
    return tokens_per_second_per_device * flops_token / peak


# ---------------------------------------------------------------- TensorBoard event files
def _crc32c(data: bytes) -> int:
    try:
        import google_crc32c

        return google_crc32c.value(data)
    except ImportError:  # pure-Python fallback (slow, only small records here)
        crc = 0xFFFFFFFF
        for b in data:
            crc ^= b
            for _ in range(8):
                crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
        return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> int:
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field_bytes(num: int, payload: bytes) -> bytes:
    return _varint((num << 3) | 2) + _varint(len(payload)) + payload


def encode_event(step: int, wall_time: float, scalars: Mapping[str, float] | None = None,
                 file_version: str | None = None) -> bytes:
    """tensorflow.Event: wall_time=1 (double), step=2 (int64), file_version=3, summary=5.

    Summary.value=1 (repeated Value); Value.tag=1 (string), Value.simple_value=2 (float).
    """
    msg = struct.pack("<Bd", (1 << 3) | 1, wall_time) + _varint((2 << 3) | 0) + _varint(step)
    if file_version is not None:
        msg += _field_bytes(3, file_version.encode())
    if scalars:
        summary = b"".join(
            _field_bytes(1, _field_bytes(1, tag.encode()) + struct.pack("<Bf", (2 << 3) | 5, float(v)))
            for tag, v in scalars.items())
        msg += _field_bytes(5, summary)
    return msg


def tfrecord(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", _masked_crc(header)) + data + struct.pack("<I", _masked_crc(data))


def read_tfrecords(path: str) -> list[bytes]:
    """Records of a TFRecord file, checking both CRCs (used by the tests)."""
    out = []
    with open(path, "rb") as f:
        while True:
            header = f.read(8)
            if not header:
                return out
            (length,) = struct.unpack("<Q", header)
            (hcrc,) = struct.unpack("<I", f.read(4))
            data = f.read(length)
            (dcrc,) = struct.unpack("<I", f.read(4))
            if hcrc != _masked_crc(header) or dcrc != _masked_crc(data):
                raise ValueError(f"bad CRC in {path}")
            out.append(data)


class TensorBoardWriter:
    """Scalars to `logdir/events.out.tfevents.<time>.<host>` (readable by TensorBoard)."""

    def __init__(self, logdir: str):
        os.makedirs(logdir, exist_ok=True)
        self.path = os.path.join(logdir, f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}")
        self._f = open(self.path, "ab")
        self._f.write(tfrecord(encode_event(0, time.time(), file_version="brain.Event:2")))

    def scalars(self, step: int, values: Mapping[str, float]) -> None:
        clean = {k: float(v) for k, v in values.items() if isinstance(v, (int, float)) and math.isfinite(float(v))}
        if clean:
            self._f.write(tfrecord(encode_event(step, time.time(), clean)))

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        self._f.close()


# ---------------------------------------------------------------- the run's metric writer
class MetricsWriter:
    """metrics.jsonl + TensorBoard on process 0 (other processes write nothing)."""

    def __init__(self, workdir: str, enabled: bool = True):
        self.workdir = workdir
        self.enabled = enabled
        self.path = os.path.join(workdir, "metrics.jsonl")
        self._tb = TensorBoardWriter(os.path.join(workdir, "tensorboard")) if enabled else None
        self._f = open(self.path, "a", encoding="utf-8") if enabled else None

    def write(self, row: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        self._f.write(json.dumps(dict(row), sort_keys=False) + "\n")
        self._f.flush()
        step = int(row["step"])
        self._tb.scalars(step, {k: v for k, v in row.items() if k != "step"})
        self._tb.flush()

    def close(self) -> None:
        if self.enabled:
            self._f.close()
            self._tb.close()


def read_metrics(path: str) -> list[dict]:
    """The rows of a metrics.jsonl. A torn line (a run killed mid-write, or one still writing)
    is skipped, and a missing file has no rows: the quickstart's progress lines and report
    read runs that are in flight or were interrupted."""
    rows: list[dict] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict):
                    rows.append(row)
    except OSError:
        pass
    return rows


def plot_loss_curve(rows: Iterable[Mapping[str, Any]], path: str) -> str | None:
    """loss (and eval_loss) against step as a PNG; None when there is nothing to plot."""
    rows = list(rows)
    train = [(r["step"], r["loss"]) for r in rows if "loss" in r and r.get("loss") is not None]
    evals = [(r["step"], r["eval_loss"]) for r in rows if r.get("eval_loss") is not None]
    if not train and not evals:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    if train:
        ax.plot(*zip(*train), label="train loss")
    if evals:
        ax.plot(*zip(*evals), "o-", label="eval loss")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
