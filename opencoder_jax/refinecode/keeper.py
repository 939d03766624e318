"""Which copy a duplicate cluster keeps (OpenCoder, arXiv 2411.04905, section 2.1.1).

Among duplicates keep the one with the most stars, then the latest commit date, then
(our deterministic tie-break) the smallest id. Missing or unreadable stars / dates rank
below every real value; negative star counts count as 0.

Two equivalent forms:
  `keeper_rank(...)`   a tuple, smaller = better (for readable comparisons and tests)
  `keeper_token(...)`  a string whose lexicographic order is the same as the rank order,
                       followed by "|" and the unit id. Dedup stages use tokens as node
                       ids, so "the smallest id in a bucket/component" IS the keeper and
                       no extra join is needed to find it.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

_EPOCH0 = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)
_MAX_STARS = 10**19 - 1  # 19 digits
_MAX_MICROS = 10**18 - 1  # microseconds since 0001-01-01 stay below 3.2e17
TOKEN_SEP = "|"
_PREFIX_LEN = 1 + 19 + 1 + 18  # flag, stars, flag, date


def parse_stars(value: Any) -> int | None:
    """Star count as int >= 0, or None when absent/unreadable."""
    if value is None or isinstance(value, bool):
        return None
    try:
        stars = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return min(max(stars, 0), _MAX_STARS)


def parse_commit_date(value: Any) -> int | None:
    """ISO-8601 date/datetime as microseconds since 0001-01-01 UTC (naive = UTC), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        delta = parsed - _EPOCH0
    except (ValueError, OverflowError):
        return None
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return micros if 0 <= micros <= _MAX_MICROS else None


def keeper_rank(stars: Any, commit_date: Any, unit_id: str) -> tuple:
    """Sort key, smallest = the copy to keep."""
    s = parse_stars(stars)
    d = parse_commit_date(commit_date)
    return (s is None, -(s or 0), d is None, -(d or 0), unit_id)


def keeper_token(stars: Any, commit_date: Any, unit_id: str) -> str:
    """Fixed-width encoding of `keeper_rank` + "|" + unit_id (same order as the rank)."""
    s = parse_stars(stars)
    d = parse_commit_date(commit_date)
    star_part = "1" + "0" * 19 if s is None else "0" + f"{_MAX_STARS - s:019d}"
    date_part = "1" + "0" * 18 if d is None else "0" + f"{_MAX_MICROS - d:018d}"
    return f"{star_part}{date_part}{TOKEN_SEP}{unit_id}"


def unit_id_of_token(token: str) -> str:
    return token[_PREFIX_LEN + 1 :]


def choose_keeper(candidates: Iterable[tuple[Any, Any, str]]) -> str:
    """The unit id to keep among (stars, commit_date, unit_id) candidates."""
    best = min((keeper_rank(*c) for c in candidates), default=None)
    if best is None:
        raise ValueError("choose_keeper needs at least one candidate")
    return best[-1]


def latest_commit_date(dates: Iterable[Any]) -> str | None:
    """The latest readable date among `dates` (as given), for a repository's rank."""
    best, best_value = None, None
    for date in dates:
        value = parse_commit_date(date)
        if value is not None and (best_value is None or value > best_value):
            best, best_value = date, value
    return best


def most_stars(values: Iterable[Any]) -> int | None:
    """The largest readable star count, for a repository's rank."""
    parsed = [s for s in (parse_stars(v) for v in values) if s is not None]
    return max(parsed) if parsed else None
