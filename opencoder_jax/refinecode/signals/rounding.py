"""The one rounding of signal values: 8 decimals, as released (redpajama.core.constants.PRECISION).

Rules compare rounded values, so every tier must round alike; this is its single definition.
"""
PRECISION = 8


def round_value(x: float) -> float:
    return round(x, PRECISION)
