"""The one byte unit every console summary and report uses: binary prefixes, named as such.

1 KiB = 1024 B, 1 MiB = 1024 KiB, ... Writing "MB" for 2**20 bytes (or mixing 10**6 in one place
with 2**20 in another) makes the same corpus show two sizes; every printed size goes through here.
"""
from __future__ import annotations

MIB = 1024 ** 2
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def mib(n_bytes: float) -> float:
    """Bytes -> MiB (2**20 bytes)."""
    return float(n_bytes) / MIB


def human_bytes(n_bytes: float | None) -> str:
    """1536 -> '1.5 KiB'; None -> '-'."""
    if n_bytes is None:
        return "-"
    n = float(n_bytes)
    for unit in _UNITS:
        if abs(n) < 1024 or unit == _UNITS[-1]:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")
