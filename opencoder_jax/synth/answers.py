"""Reading teacher answers: sections, fenced code blocks, assert-based tests.

A teacher's answer is free text and anything may be missing or broken: a heading, the closing
fence, the tests. Each function here returns what it found or None; generators turn a None into
a counted rejection (`malformed`, `syntax_error`, `too_few_tests`), never an exception.
"""
from __future__ import annotations

import ast
import re

PYTHON_TAGS = ("", "python", "py", "python3", "py3")

# ``` or ~~~ fences with an optional info string; the closing fence must match the opening one.
_FENCE = re.compile(r"^[ \t]*(?P<fence>```+|~~~+)[ \t]*(?P<tag>[\w+#.-]*)[^\n]*\n(?P<body>.*?)^[ \t]*(?P=fence)[ \t]*$",
                    re.DOTALL | re.MULTILINE)
# "### Name", "## Name:", "**Name**", "Name:" alone on a line.
_HEADING = r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*)?[ \t]*(?P<name>NAMES)[ \t]*:?[ \t]*(?:\*\*)?[ \t]*:?[ \t]*$"


def code_blocks(text: str, python_only: bool = True) -> list[str]:
    """The bodies of the closed fenced blocks of `text` (only ```python / ```py / untagged ones
    when python_only), in order. An unclosed block is not returned."""
    out = []
    for m in _FENCE.finditer(text or ""):
        if python_only and m.group("tag").lower() not in PYTHON_TAGS:
            continue
        body = m.group("body")
        if body.strip():
            out.append(body.rstrip() + "\n")
    return out


def sections(text: str, names: tuple[str, ...]) -> dict[str, str]:
    """{name: the text under its heading} for the headings of `names` found in `text`
    (case-insensitive; the first occurrence of each wins; a heading inside a code block counts
    only when it is alone on its line, which code rarely is)."""
    pattern = re.compile(_HEADING.replace("NAMES", "|".join(re.escape(n) for n in names)), re.IGNORECASE | re.MULTILINE)
    found = [(m.start(), m.end(), m.group("name").lower()) for m in pattern.finditer(text or "")]
    out: dict[str, str] = {}
    canonical = {n.lower(): n for n in names}
    for k, (_, end, name) in enumerate(found):
        stop = found[k + 1][0] if k + 1 < len(found) else len(text)
        key = canonical[name]
        if key not in out:
            out[key] = text[end:stop].strip()
    return out


def first_code(section: str | None) -> str | None:
    """The first Python code block of a section (None when there is none)."""
    blocks = code_blocks(section or "")
    return blocks[0] if blocks else None


def parses(code: str) -> bool:
    try:
        ast.parse(code)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def count_asserts(code: str) -> int:
    """`assert` statements anywhere in the code (0 when it does not parse)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return 0
    return sum(isinstance(node, ast.Assert) for node in ast.walk(tree))


def defined_names(code: str) -> set[str]:
    """Names of the module-level functions and classes of `code` (empty when it does not parse)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def parse_score(text: str, low: int = 1, high: int = 5) -> int | None:
    """`Score: N` (or a lone number) -> N within [low, high]; None otherwise."""
    m = re.search(r"score\W{0,6}?(\d+)\b", text or "", re.IGNORECASE) or re.fullmatch(r"\s*(\d+)\s*", text or "")
    if not m:
        return None
    n = int(m.group(1))
    return n if low <= n <= high else None


def check_solution_and_tests(code: str | None, tests: str | None, min_tests: int) -> str | None:
    """The rejection reason for a solution/tests pair, or None when it is worth running."""
    if not code or not tests:
        return "malformed"
    if not parses(code) or not parses(tests):
        return "syntax_error"
    if not defined_names(code):
        return "malformed"  # no function or class: nothing the tests could be about
    if count_asserts(tests) < min_tests:
        return "too_few_tests"
    return None
