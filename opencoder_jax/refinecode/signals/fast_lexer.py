"""A faster driver for pygments RegexLexers that yields EXACTLY pygments' tokens.

pygments' RegexLexer tries each rule of the current state in turn with a Python-level
`rule.match(text, pos)` call: ~20 calls per token. Here every state's rules are joined into
ONE regex `(?P<_r0>rule0)|(?P<_r1>rule1)|...`; Python's alternation is ordered (leftmost
alternative that matches at `pos` wins), which is exactly pygments' "first rule that matches",
so one C-level match finds the winning rule, whose own compiled regex is then re-run at `pos`
to give the action the match object (groups numbered as the rule expects). Everything else
(actions, callbacks such as bygroups/using, state stack, the newline/Error fallback) is
pygments' own code path, copied in behaviour from RegexLexer.get_tokens_unprocessed.

States whose rules cannot be joined (inline global flags, duplicate group names, numbered
back-references) keep the rule-by-rule loop. Lexers that override get_tokens_unprocessed
(other than C/C++'s Name remapping, which never touches comments) use pygments unchanged.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator

from pygments.lexer import RegexLexer, _PseudoMatch
from pygments.lexers.c_cpp import CFamilyLexer
from pygments.token import Error, Keyword, Name, Whitespace, _TokenType

_BACKREF_RE = re.compile(r"\\[1-9]|\(\?P=")
_SUPPORTED_DRIVERS = (RegexLexer.get_tokens_unprocessed, CFamilyLexer.get_tokens_unprocessed)


def _change_state(statestack: list, new_state) -> None:
    """Apply a rule's state transition in place, exactly as pygments' RegexLexer does."""
    if isinstance(new_state, tuple):
        for state in new_state:
            if state == "#pop":
                if len(statestack) > 1:
                    statestack.pop()
            elif state == "#push":
                statestack.append(statestack[-1])
            else:
                statestack.append(state)
    elif isinstance(new_state, int):
        if abs(new_state) >= len(statestack):
            del statestack[1:]
        else:
            del statestack[new_state:]
    elif new_state == "#push":
        statestack.append(statestack[-1])
    else:
        raise AssertionError(f"wrong state def: {new_state!r}")


def _driver_of(lexer) -> object:
    for klass in type(lexer).__mro__:
        if "get_tokens_unprocessed" in klass.__dict__:
            return klass.__dict__["get_tokens_unprocessed"]
    return None


def supports(lexer) -> bool:
    return isinstance(lexer, RegexLexer) and _driver_of(lexer) in _SUPPORTED_DRIVERS and not lexer.filters


_FLAG_LETTERS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.VERBOSE, "x"))
_LEADING_GLOBAL_FLAGS_RE = re.compile(r"^\(\?([imsx]+)\)")


def _scoped(pattern: re.Pattern) -> str | None:
    """The rule as `(?on-off:...)` so rules with different flags can share one regex."""
    text = pattern.pattern
    flags = pattern.flags
    if flags & (re.ASCII | re.LOCALE) or _BACKREF_RE.search(text):
        return None
    lead = _LEADING_GLOBAL_FLAGS_RE.match(text)
    if lead:  # '(?i)rest' -> scoped; the letters are already in pattern.flags
        text = text[lead.end():]
    on = "".join(c for f, c in _FLAG_LETTERS if flags & f)
    off = "".join(c for f, c in _FLAG_LETTERS if not flags & f)
    return f"(?{on}-{off}:{text})" if on else f"(?-{off}:{text})"


def _compile_segment(parts: list[str]):
    try:
        return re.compile("|".join(parts)).match
    except (re.error, OverflowError, RecursionError):  # e.g. duplicate group names
        return None


@lru_cache(maxsize=None)
def _compiles_alone(part: str) -> bool:
    """Whether a scoped rule compiles on its own; memoised because pygments' `include` copies
    the same rules into many states (and re's own cache holds only 512 patterns)."""
    return _compile_segment([part]) is not None


def _join_state(rules) -> list:
    """Steps that together try a state's rules in order: ('joined', match, first_rule_index)
    for runs of joinable rules, ('single', None, index) for the rest."""
    steps: list = []
    run: list[tuple[int, str]] = []

    def flush():
        if not run:
            return
        match = _compile_segment([f"(?P<_r{i}>{part})" for i, part in run]) if len(run) > 1 else None
        if match is None:
            steps.extend(("single", None, i) for i, _ in run)
        else:
            steps.append(("joined", match, run[0][0]))
        run.clear()

    for i, (rexmatch, _action, _new_state) in enumerate(rules):
        part = _scoped(rexmatch.__self__)
        if part is None or not _compiles_alone(part):
            flush()
            steps.append(("single", None, i))
        else:
            run.append((i, part))
    flush()
    return steps


_JOINED: dict[type, dict[str, object]] = {}


def _joined_states(lexer) -> dict[str, object]:
    klass = type(lexer)
    table = _JOINED.get(klass)
    if table is None:
        table = {name: _join_state(rules) for name, rules in lexer._tokens.items()}
        _JOINED[klass] = table
    return table


def _skip_pattern(rules, selected: frozenset) -> str | None:
    """One regex for a RUN of tokens of a state that are all plain unselected tokens without a
    state change ("safe" rules), exactly as the lexer would pick them one by one: the first
    rule that matches must be safe, so each safe rule is tried only after negative lookaheads
    for the unsafe rules before it. Built up to the first rule that cannot be embedded."""
    usable = []
    for rexmatch, action, new_state in rules:
        safe = type(action) is _TokenType and action not in selected and new_state is None
        part = _scoped(rexmatch.__self__)
        if part is None or not _compiles_alone(part):
            # an unsafe rule only needs a lookahead that matches whenever it does: a prefix
            part = None if safe else _matching_prefix(rexmatch.__self__)
            if part is None:
                break
        usable.append((part, safe))
    if not any(safe for _, safe in usable):
        return None
    expr = "(?!)"
    for part, safe in reversed(usable):
        expr = f"{part}|{expr}" if safe else f"(?!{part})(?:{expr})"
    return f"(?:{expr})*"


def _matching_prefix(pattern: re.Pattern) -> str | None:
    """A scoped regex matching wherever `pattern` matches: the pattern cut before the top-level
    item holding its first back-reference (None for a top-level alternation)."""
    text = pattern.pattern
    depth = 0
    item_start = 0
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if depth == 0:
                item_start = i
            if text[i + 1:i + 2].isdigit() and text[i + 1] != "0":
                break
            i += 2
            continue
        if c == "[":
            if depth == 0:
                item_start = i
            j = i + 1
            if text[j:j + 1] == "^":
                j += 1
            if text[j:j + 1] == "]":
                j += 1
            while j < len(text) and text[j] != "]":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c == "(":
            if depth == 0:
                item_start = i
            if text.startswith("(?P=", i):
                break
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return None
        elif depth == 0 and c not in "*+?{":
            item_start = i
        i += 1
    else:
        return None
    try:
        return _scoped(re.compile(text[:item_start], pattern.flags))
    except re.error:
        return None


_SKIPS: dict[tuple[type, frozenset], dict[str, object]] = {}


def _skip_states(lexer, selected: frozenset) -> dict[str, object]:
    """state -> compiled .match of its _skip_pattern (None where there is none)."""
    key = (type(lexer), selected)
    table = _SKIPS.get(key)
    if table is None:
        table = {}
        for name, rules in lexer._tokens.items():
            pattern = _skip_pattern(rules, selected)
            table[name] = _compile_segment([pattern]) if pattern else None
        _SKIPS[key] = table
    return table


def _rule_tokens(lexer, text: str) -> Iterator[tuple[_TokenType, str]]:
    """(tokentype, value) pairs, identical to RegexLexer.get_tokens_unprocessed on `text`."""
    tokendefs = lexer._tokens
    joined = _joined_states(lexer)
    statestack = ["root"]
    statetokens = tokendefs["root"]
    steps = joined["root"]
    pos = 0
    while True:
        rule = None
        m = None
        for kind, match, index in steps:
            if kind == "joined":
                jm = match(text, pos)
                if jm is None:
                    continue
                rule = statetokens[int(jm.lastgroup[2:])]
            else:
                candidate = statetokens[index]
                if not candidate[0](text, pos):
                    continue
                rule = candidate
            m = rule[0](text, pos)
            break
        if rule is not None:
            _rexmatch, action, new_state = rule
            if action is not None:
                if type(action) is _TokenType:
                    yield action, m.group()
                else:
                    for _, t, v in action(lexer, m):
                        yield t, v
            pos = m.end()
            if new_state is not None:
                _change_state(statestack, new_state)
                statetokens = tokendefs[statestack[-1]]
                steps = joined[statestack[-1]]
            continue
        if pos >= len(text):
            return
        if text[pos] == "\n":
            statestack = ["root"]
            statetokens = tokendefs["root"]
            steps = joined["root"]
            yield Whitespace, "\n"
        else:
            yield Error, text[pos]
        pos += 1


def lex(lexer, text: str) -> Iterator[tuple[_TokenType, str]]:
    """Same (tokentype, value) stream as `pygments.lex(text, lexer)`."""
    if not supports(lexer):
        yield from lexer.get_tokens(text)
        return
    text = lexer._preprocess_lexer_input(text)
    if isinstance(lexer, CFamilyLexer):  # C/C++ retype some Name tokens (never comments)
        for t, v in _rule_tokens(lexer, text):
            if t is Name and (
                (lexer.stdlibhighlighting and v in lexer.stdlib_types)
                or (lexer.c99highlighting and v in lexer.c99_types)
                or (lexer.c11highlighting and v in lexer.c11_atomic_types)
                or (lexer.platformhighlighting and v in lexer.linux_types)
            ):
                t = Keyword.Type
            yield t, v
        return
    yield from _rule_tokens(lexer, text)


def split_by_token_type(lexer, text: str, selected: frozenset) -> tuple[str, str]:
    """(other, selected): the concatenated values of tokens whose type is NOT / IS in
    `selected`, for the token stream of pygments.lex(text, lexer) -- computed without
    materialising tokens: runs of same-class tokens are cut from the text as one slice."""
    if not supports(lexer):
        other, chosen = [], []
        for t, v in lexer.get_tokens(text):
            (chosen if t in selected else other).append(v)
        return "".join(other), "".join(chosen)
    text = lexer._preprocess_lexer_input(text)
    out = ([], [])  # index 0: other, 1: selected
    _split_into(lexer, text, ("root",), selected, out)
    return "".join(out[0]), "".join(out[1])


def _closure(fn) -> dict:
    code = getattr(fn, "__code__", None)
    if code is None or not fn.__closure__:
        return {}
    return dict(zip(code.co_freevars, (cell.cell_contents for cell in fn.__closure__)))


_CALLBACK_PLANS: dict = {}


def _callback_plan(action, selected: frozenset):
    """How to replay a callback: None (call it), or for pygments' bygroups a tuple of
    (group number, kind, payload) with kind 'token' (payload: 0/1 output list), 'this'
    (payload: the using(this) start stack) or 'call' (payload: the group's callback)."""
    key = (action, selected)
    if key in _CALLBACK_PLANS:
        return _CALLBACK_PLANS[key]
    plan = None
    cells = _closure(action)
    if set(cells) == {"args"} and getattr(action, "__name__", "") == "callback":  # bygroups
        plan = []
        for i, group_action in enumerate(cells["args"]):
            if group_action is None:
                continue
            if type(group_action) is _TokenType:
                plan.append((i + 1, "token", 1 if group_action in selected else 0))
                continue
            sub = _closure(group_action)
            if set(sub) == {"gt_kwargs", "kwargs"} and not sub["kwargs"]:  # using(this), no options
                plan.append((i + 1, "this", tuple(sub["gt_kwargs"].get("stack", ("root",)))))
            else:
                plan.append((i + 1, "call", group_action))
        plan = tuple(plan)
    _CALLBACK_PLANS[key] = plan
    return plan


def _callback_into(lexer, action, m, selected: frozenset, out) -> None:
    """Append the values of `action(lexer, m)` to out[0] / out[1]. pygments' bygroups and
    using(this) callbacks are followed here (the sub-lexing then runs through this driver, as
    RegexLexer.get_tokens_unprocessed would run it); any other callback is called as is."""
    plan = _callback_plan(action, selected)
    if plan is None:
        for _, t, v in action(lexer, m):
            out[1 if t in selected else 0].append(v)
        return
    for group, kind, payload in plan:
        data = m.group(group)
        if kind == "token":
            if data:
                out[payload].append(data)
        elif data is not None:
            if kind == "this":
                _split_into(lexer, data, payload, selected, out)
            else:
                for _, t, v in payload(lexer, _PseudoMatch(m.start(group), data)):
                    if v:
                        out[1 if t in selected else 0].append(v)


def _split_into(lexer, text: str, stack: tuple, selected: frozenset, out) -> None:
    """RegexLexer.get_tokens_unprocessed(text, stack) (no preprocessing), token values
    appended to out[0] (unselected) / out[1] (selected), runs cut as slices of the text."""
    tokendefs = lexer._tokens
    joined = _joined_states(lexer)
    skips = _skip_states(lexer, selected)
    statestack = list(stack)
    statetokens = tokendefs[statestack[-1]]
    steps = joined[statestack[-1]]
    skip = skips[statestack[-1]]
    run_start = 0  # text[run_start:pos] is a pending run of plain tokens of class run_class
    run_class = 0
    in_run = False  # the last token was plain and unselected, without a state change
    pos = 0
    end_text = len(text)
    while True:
        if skip is not None and in_run:  # the rest of a run of plain unselected tokens, in one call
            in_run = False
            end = skip(text, pos).end()
            if end > pos:
                if run_class != 0:
                    if pos > run_start:
                        out[1].append(text[run_start:pos])
                    run_start, run_class = pos, 0
                pos = end
        rule = None
        m = None
        end = pos
        for kind, match, index in steps:
            if kind == "joined":
                jm = match(text, pos)
                if jm is None:
                    continue
                rule = statetokens[int(jm.lastgroup[2:])]
                end = jm.end()
            else:
                candidate = statetokens[index]
                m = candidate[0](text, pos)
                if not m:
                    continue
                rule = candidate
                end = m.end()
            break
        if rule is not None:
            action, new_state = rule[1], rule[2]
            if type(action) is _TokenType:
                cls = 1 if action in selected else 0
                in_run = cls == 0 and new_state is None
                if cls != run_class:
                    if pos > run_start:
                        out[run_class].append(text[run_start:pos])
                    run_start, run_class = pos, cls
            else:  # a callback or no token: values need not be slices of the text
                if pos > run_start:
                    out[run_class].append(text[run_start:pos])
                if action is not None:
                    if m is None:
                        m = rule[0](text, pos)
                    _callback_into(lexer, action, m, selected, out)
                run_start = end
            pos = end
            if new_state is not None:
                _change_state(statestack, new_state)
                statetokens = tokendefs[statestack[-1]]
                steps = joined[statestack[-1]]
                skip = skips[statestack[-1]]
            continue
        if pos >= end_text:
            break
        if text[pos] == "\n":
            statestack = ["root"]
            statetokens = tokendefs["root"]
            steps = joined["root"]
            skip = skips["root"]
        # the '\n' (Whitespace) or Error character is an unselected plain token
        if run_class != 0:
            if pos > run_start:
                out[1].append(text[run_start:pos])
            run_start, run_class = pos, 0
        pos += 1
    if pos > run_start:
        out[run_class].append(text[run_start:pos])


__all__ = ["lex", "split_by_token_type", "supports"]
