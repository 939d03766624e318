"""Turn model outputs into programs.

* `extract_code(answer, entry_point)` for chat (instruct) answers: the code in markdown fences
  (```python / ```py / ``` / ~~~, an unclosed last fence runs to the end), or, with no fences,
  the longest span of lines that parses as Python (prose before and after dropped); then,
  when `entry_point` is defined, only what it needs: top-level imports plus the functions,
  classes and assignments reachable from it by name (usage examples, prints, asserts,
  `if __name__ == "__main__":` blocks and `input()` loops go away). A later definition of
  the same name replaces an earlier one (as running the code would).
* `stop_at_top_level(completion)` for base-model completions of a function prompt: cut at the
  first line that starts a new top-level statement (the body has ended).
* `truncate_at_stop(text, stops)`: cut at the earliest stop sequence.
"""
from __future__ import annotations

import ast
import re
from typing import Iterable, Sequence

# Stop sequences while generating (OpenCoder's OpenCodeEval / evalplus lists).
GENERAL_STOPS = ("<|endoftext|>", "<|endofmask|>", "</s>", "<|im_end|>", "\nif __name__",
                 "\ndef main(", "\nprint(")
COMPLETION_STOPS = ("\ndef ", "\nclass ", "\nimport ", "\nfrom ", "\nassert ")

_ANSI = re.compile(r"\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])")
_FENCE = re.compile(r"^[ \t]{0,3}(```+|~~~+)[ \t]*([\w+#.-]*)[^\n]*$")
_PY_TAGS = {"", "python", "py", "python3", "py3", "python2", "ipython", "pycon"}
_CODE_START = re.compile(r"^(?:def |async def |class |import |from |@|if |for |while |try:|with |"
                         r"[A-Za-z_][\w.]*\s*(?:\[[^\]]*\])?\s*(?::[^=]+)?=|#)")


def refine_text(text: str) -> str:
    """OpenCoder's normalisation: tabs -> 4 spaces, CRLF/CR -> LF, strip, one final newline."""
    text = text.replace("\t", "    ").replace("\r\n", "\n").replace("\r", "\n")
    return text.strip() + "\n"


def truncate_at_stop(text: str, stops: Iterable[str]) -> str:
    cut = len(text)
    for s in stops:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]


def stop_at_top_level(completion: str, prompt_ends_line: bool = False) -> str:
    """A base model's function-body completion up to the next top-level statement.

    The completion continues a prompt that ends inside a function (signature + docstring);
    the first non-blank line that starts at column 0 (not a comment, not a closing bracket
    of the body's expression) starts something else: a new def, a test, a print, prose.
    Unless `prompt_ends_line`, the first line finishes the prompt's last line and is kept.
    """
    lines = completion.split("\n")
    out = [] if prompt_ends_line else [lines.pop(0)]
    for line in lines:
        if line and not line[0].isspace() and not line.startswith("#") and line[0] not in ")]}":
            break
        out.append(line)
    return "\n".join(out).rstrip() + "\n"


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
        return True
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language tag, code) of each markdown fence; an unclosed last fence runs to the end."""
    blocks, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, tag = m.group(1), m.group(2).lower()
        j = i + 1
        while j < len(lines):
            close = lines[j].strip()
            if close.startswith(fence[0] * len(fence)) and not close.strip(fence[0]):
                break
            j += 1
        blocks.append((tag, "\n".join(lines[i + 1:j])))
        i = j + 1
    return blocks


def longest_valid_span(text: str, max_lines: int = 400) -> str:
    """The longest run of lines (counting non-blank ones) that parses as Python."""
    lines = text.split("\n")[:max_lines]
    best, best_len, i = "", 0, 0
    while i < len(lines):
        if not _CODE_START.match(lines[i]):
            i += 1
            continue
        for j in range(len(lines), i, -1):
            if not lines[j - 1].strip():
                continue
            chunk = "\n".join(lines[i:j])
            if _parses(chunk):
                n = sum(1 for line in lines[i:j] if line.strip())
                if n > best_len:
                    best, best_len = chunk, n
                i = j - 1
                break
        i += 1
    return best


def _strip_doctest(code: str) -> str:
    """`>>> x` / `... y` REPL transcripts -> plain code (outputs dropped)."""
    if not re.search(r"^\s*>>> ", code, re.M):
        return code
    out = []
    for line in code.split("\n"):
        s = line.lstrip()
        if s.startswith(">>> ") or s == ">>>":
            out.append(s[4:])
        elif s.startswith("... ") or s == "...":
            out.append(s[4:])
    return "\n".join(out)


def _python_source(text: str) -> str:
    blocks = fenced_blocks(text)
    if blocks:
        parts = []
        for tag, code in blocks:
            if tag not in _PY_TAGS:
                continue
            code = _strip_doctest(code) if tag == "pycon" or code.lstrip().startswith(">>>") else code
            if not _parses(code):
                code = longest_valid_span(code)
            if code.strip():
                parts.append(code)
        if parts:
            return "\n\n".join(parts)
    return longest_valid_span(text)


def _span(node: ast.stmt, lines: list[str]) -> str:
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(lines[start - 1:node.end_lineno])


def _defined_name(node: ast.stmt) -> str | None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return node.target.id
    return None


def _is_import_block(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(node, ast.Try):  # try: import x / except ImportError: ...
        body = node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
        return all(isinstance(s, (ast.Import, ast.ImportFrom, ast.Pass, ast.Assign)) for s in body)
    return False


def _names_used(node: ast.AST) -> set[str]:
    used = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            used.add(n.id)
        elif isinstance(n, ast.Attribute):
            used.add(n.attr)
    return used


def prune_to_entry_point(code: str, entry_point: str | None) -> str:
    """Imports + definitions reachable from `entry_point` (all definitions when it is None or
    not defined), in source order; other top-level statements are dropped."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return code
    lines = code.split("\n")
    keep: list[ast.stmt] = []
    last_def: dict[str, ast.stmt] = {}
    for node in tree.body:
        if _is_import_block(node):
            keep.append(node)
            continue
        name = _defined_name(node)
        if name is not None:
            last_def[name] = node  # a later definition replaces an earlier one
    defs = set(map(id, last_def.values()))
    if entry_point and entry_point in last_def:
        reach, todo = set(), [entry_point]
        while todo:
            name = todo.pop()
            if name in reach or name not in last_def:
                continue
            reach.add(name)
            todo.extend(_names_used(last_def[name]) - reach)
        defs = {id(last_def[n]) for n in reach}
    selected = [n for n in tree.body if id(n) in defs or any(n is k for k in keep)]
    return "\n".join(_span(n, lines) for n in selected)


def extract_code(answer: str, entry_point: str | None = None) -> str:
    """The program in a chat model's answer (see the module docstring)."""
    text = _ANSI.sub("", answer.replace("\r\n", "\n").replace("\r", "\n"))
    code = _python_source(text)
    if not code.strip():
        return ""
    pruned = prune_to_entry_point(code, entry_point)
    return pruned if pruned.strip() else code


def entry_point_from_tests(tests: Sequence[str]) -> str | None:
    """The function an MBPP-style `assert f(...) == ...` list calls (first non-builtin call)."""
    import builtins
    for t in tests:
        try:
            tree = ast.parse(t)
        except SyntaxError:
            continue
        for n in ast.walk(tree):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and not hasattr(builtins, n.func.id):
                return n.func.id
    return None
