"""One check for every configured name lookup (rules, stages, languages, mixture components).

A gin binding that names something that does not exist -- a typo such as
`{'python': {'qsc_code_num_wrods': None}}` -- would otherwise match nothing and silently
change nothing. `check_names` turns it into an error that lists the near matches:

    ValueError: unknown rule 'qsc_code_num_wrods' for python; did you mean
    'qsc_code_num_words'? known: qsc_code_cate_autogen, ...
"""
from __future__ import annotations

import difflib
from typing import Iterable

MAX_LISTED = 60  # a long known-list is cut here ("... and N more")


def unknown_names(given: Iterable[str], known: Iterable[str]) -> list[str]:
    """The given names not in `known`, in the order given (each once)."""
    known_set = set(known)
    out: list[str] = []
    for name in given:
        if name not in known_set and name not in out:
            out.append(name)
    return out


def near_matches(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to n known names close to `name` (difflib ratio >= 0.6; case-insensitive too)."""
    known = sorted(set(known), key=str)
    hits = difflib.get_close_matches(str(name), [str(k) for k in known], n=n)
    if not hits:  # 'Python' -> 'python'
        lowered = {str(k).lower(): str(k) for k in known}
        hits = [lowered[m] for m in difflib.get_close_matches(str(name).lower(), list(lowered), n=n)]
    return hits


def unknown_names_message(kind: str, unknown: list[str], known: Iterable[str], where: str | None = None) -> str:
    known = sorted({str(k) for k in known})
    place = f" for {where}" if where else ""
    clauses = []
    for name in unknown:
        hits = near_matches(name, known)
        hint = f"; did you mean {' or '.join(repr(h) for h in hits)}?" if hits else "."
        clauses.append(f"unknown {kind} {name!r}{place}{hint}")
    more = f" ... and {len(known) - MAX_LISTED} more" if len(known) > MAX_LISTED else ""
    return " ".join(clauses) + f" known: {', '.join(known[:MAX_LISTED])}{more}"


def check_names(kind: str, given: Iterable[str], known: Iterable[str], where: str | None = None) -> None:
    """Raise ValueError naming every given name that is not known, with near matches."""
    known = list(known)
    if isinstance(given, str):  # a single name bound where a list was meant
        given = [given]
    unknown = unknown_names(given, known)
    if unknown:
        raise ValueError(unknown_names_message(kind, unknown, known, where))
