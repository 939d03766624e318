"""A small SFT set from the corpus itself: documented Python functions -> chats (no teacher).

    python -m opencoder_jax.synth.sft_extract --input CORPUS_DIR --output OUT_DIR [--max_examples N]

Reads RefineCode document shards (`CORPUS_DIR/documents-*.array_record`, one JSON document
each), parses every Python document with `ast`, and turns each module-level function that
has a docstring into one instruction/answer pair, in one of two templates (chosen per
function by a hash, so the set is deterministic and independent of shard order):

  "signature"  user: Write a Python function `name(args) -> ret` that: <docstring>
  "humaneval"  user: OpenCoder's instruction prefix (as OpenCodeEval prompts instruct models)
               + a ```python fence holding the `def` line and the docstring
  assistant:   the whole function (without decorators) in a ```python fence.

Functions are dropped, each by one counted reason (the first that applies, in this order):
syntax_error (whole document), method (defined inside a class), nested (inside a function),
private (name starts with "_"), no_docstring, docstring_too_short, docstring_too_long,
trivial_body (nothing but the docstring, pass, ... or raise), invalid_unicode (lone surrogates),
too_long (the chat's characters),
duplicate (same code after whitespace normalisation, or same name + docstring), over_cap
(beyond max_examples; the kept ones are the lowest hashes, a deterministic uniform sample).

Writes OUT_DIR/sft_chats.jsonl (`{"messages": [...], "meta": {...}}` lines, the SFT format of
`opencoder train`), OUT_DIR/snippets/documents-00000-of-00001.array_record (each kept
function as a corpus document: the "synthetic code snippets" of the annealing mixture) and
OUT_DIR/stats.json (documents read, functions seen / kept / dropped by reason).
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import glob
import hashlib
import json
import os
import re
import sys
import textwrap
from collections import Counter
from typing import Iterable, Iterator

import gin

from opencoder_jax.names import check_names

INSTRUCTION_PREFIX = ("Please provide a self-contained Python script that solves the following "
                      "problem in a markdown code block:")  # OpenCoder's / OpenCodeEval's wording
TEMPLATES = ("signature", "humaneval")
EXTRACTABLE_LANGUAGES = ("python",)
DROP_REASONS = ("syntax_error", "method", "nested", "private", "no_docstring", "docstring_too_short",
                "docstring_too_long", "trivial_body", "invalid_unicode", "too_long", "duplicate", "over_cap")


@gin.configurable
@dataclasses.dataclass(frozen=True)
class SFTExtractConfig:
    max_examples: int = 2000          # kept chats (a deterministic sample above this)
    min_docstring_chars: int = 24     # shorter docstrings say too little to be an instruction
    max_docstring_chars: int = 600
    max_chat_chars: int = 1400        # user + assistant characters (the tiny SFT rows are 256 tokens)
    languages: tuple = ("python",)
    humaneval_share: float = 0.5      # share of chats in the HumanEval-shaped template
    seed: int = 0

    def __post_init__(self):
        # functions are found with Python's ast: another name would silently extract nothing
        check_names("language", self.languages, EXTRACTABLE_LANGUAGES, where="SFTExtractConfig.languages")


@dataclasses.dataclass
class Extracted:
    name: str
    signature: str        # `name(args) -> ret`
    def_line: str         # the source of the def line(s) up to the colon
    docstring: str        # cleaned (inspect.cleandoc)
    code: str             # the function's source, dedented, decorators excluded
    repo: str = ""
    path: str = ""


def _hash(*parts: str) -> int:
    h = hashlib.blake2b(digest_size=8)
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return int.from_bytes(h.digest(), "big")


def _normalize_code(code: str) -> str:
    return re.sub(r"\s+", " ", code).strip()


def _is_trivial(body: list[ast.stmt]) -> bool:
    rest = body[1:]  # body[0] is the docstring
    if not rest:
        return True
    for stmt in rest:
        if isinstance(stmt, ast.Pass) or isinstance(stmt, ast.Raise):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # `...` or a stray string
        return False
    return True


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    sig = f"{node.name}({ast.unparse(node.args)})"
    if node.returns is not None:
        sig += f" -> {ast.unparse(node.returns)}"
    return sig


def functions_of(text: str, stats: Counter, config: SFTExtractConfig) -> Iterator[Extracted]:
    """Candidate functions of one Python source; counts drops into `stats` (`dropped/<reason>`)."""
    if "def " not in text:
        return
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        stats["dropped_documents/syntax_error"] += 1
        return
    lines = text.splitlines(keepends=True)

    def statements(node: ast.AST) -> Iterator[ast.stmt]:
        """Child statements only (functions are statements: expressions need no visit)."""
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            for child in getattr(node, field, None) or ():
                if isinstance(child, (ast.ExceptHandler, getattr(ast, "match_case", ast.ExceptHandler))):
                    yield from statements(child)
                elif isinstance(child, ast.stmt):
                    yield child

    def visit(node: ast.AST, context: str) -> Iterator[Extracted]:
        for child in statements(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                stats["functions_seen"] += 1
                reason = _drop_reason(child, context, config)
                if reason:
                    stats[f"dropped/{reason}"] += 1
                else:
                    yield _extract(child, lines)
                yield from visit(child, "function")
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, "class")
            else:  # if/try/with/for blocks keep their context
                yield from visit(child, context)

    yield from visit(tree, "module")


def _drop_reason(node, context: str, config: SFTExtractConfig) -> str | None:
    if context == "class":
        return "method"
    if context == "function":
        return "nested"
    if node.name.startswith("_"):
        return "private"
    doc = ast.get_docstring(node, clean=True)
    if not doc:
        return "no_docstring"
    if len(doc) < config.min_docstring_chars:
        return "docstring_too_short"
    if len(doc) > config.max_docstring_chars:
        return "docstring_too_long"
    if _is_trivial(node.body):
        return "trivial_body"
    return None


def _extract(node, lines: list[str]) -> Extracted:
    start = node.lineno - 1  # the def line (decorators sit above it)
    end = node.end_lineno
    code = _dedent("".join(lines[start:end]))
    body_start = node.body[0].lineno - 1
    def_line = _dedent("".join(lines[start:body_start])).rstrip()
    if not def_line.endswith(":"):  # `def f(): """doc"""` on one line, or a comment after the colon
        def_line = f"{'async ' if isinstance(node, ast.AsyncFunctionDef) else ''}def {_signature(node)}:"
    return Extracted(name=node.name, signature=_signature(node), def_line=def_line,
                     docstring=ast.get_docstring(node, clean=True) or "", code=code.rstrip() + "\n")


def _dedent(text: str) -> str:
    return textwrap.dedent(text)


def to_chat(fn: Extracted, config: SFTExtractConfig) -> tuple[dict, str]:
    """One chat record and its template name."""
    share = _hash(str(config.seed), "template", fn.code) % 10_000 / 10_000
    template = "humaneval" if share < config.humaneval_share else "signature"
    if template == "humaneval":
        doc = fn.docstring.replace('"""', "'''")
        indented = "\n".join(("    " + line) if line else "" for line in doc.splitlines())
        stub = f'{fn.def_line}\n    """\n{indented}\n    """'
        user = f"{INSTRUCTION_PREFIX}\n```python\n{stub}\n```\n"
    else:
        user = f"Write a Python function `{fn.signature}` that: {fn.docstring}"
    answer = f"```python\n{fn.code.rstrip()}\n```"
    record = {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}],
              "meta": {"repo": fn.repo, "path": fn.path, "name": fn.name, "template": template}}
    return record, template


def read_documents(corpus_dirs: Iterable[str]) -> Iterator[dict]:
    """Documents of RefineCode output dirs (or explicit shard paths), in a deterministic order."""
    from array_record.python.array_record_module import ArrayRecordReader

    paths: list[str] = []
    for d in corpus_dirs:
        paths.extend(sorted(glob.glob(os.path.join(d, "documents-*.array_record"))) if os.path.isdir(d) else [d])
    if not paths:
        raise FileNotFoundError(f"no documents-*.array_record under {list(corpus_dirs)}")
    for p in paths:
        reader = ArrayRecordReader(p)
        try:
            for raw in reader.read_all():
                yield json.loads(raw)
        finally:
            reader.close()


def extract(documents: Iterable[dict], config: SFTExtractConfig | None = None) -> tuple[list[dict], list[Extracted], dict]:
    """(chats, kept functions, stats) from documents; deterministic for a given set of documents."""
    config = config or SFTExtractConfig()
    stats: Counter = Counter()
    candidates: list[tuple[int, dict, Extracted]] = []
    seen_code: set[str] = set()
    seen_doc: set[tuple[str, str]] = set()
    docs = sorted((d for d in documents), key=lambda d: d.get("id", ""))
    for doc in docs:
        stats["documents"] += 1
        if doc.get("language") not in config.languages:
            continue
        stats["python_documents"] += 1
        for fn in functions_of(doc.get("text", ""), stats, config):
            fn.repo, fn.path = doc.get("repo", ""), doc.get("path", "")
            record, template = to_chat(fn, config)
            chars = sum(len(m["content"]) for m in record["messages"])
            try:
                fn.code.encode("utf-8")
                fn.docstring.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates: not writable as UTF-8 text
                stats["dropped/invalid_unicode"] += 1
                continue
            if chars > config.max_chat_chars:
                stats["dropped/too_long"] += 1
                continue
            key_code, key_doc = _normalize_code(fn.code), (fn.name, fn.docstring)
            if key_code in seen_code or key_doc in seen_doc:
                stats["dropped/duplicate"] += 1
                continue
            seen_code.add(key_code)
            seen_doc.add(key_doc)
            candidates.append((_hash(str(config.seed), "order", key_code), record, fn))
    candidates.sort(key=lambda c: c[0])
    kept = candidates[: config.max_examples]
    stats["dropped/over_cap"] += max(0, len(candidates) - config.max_examples)
    chats = [r for _, r, _ in kept]
    fns = [f for _, _, f in kept]
    templates = Counter(r["meta"]["template"] for r in chats)
    out = {"documents": stats["documents"], "python_documents": stats["python_documents"],
           "documents_unparsable": stats["dropped_documents/syntax_error"],
           "functions_seen": stats["functions_seen"], "kept": len(chats),
           "dropped": {r: stats[f"dropped/{r}"] for r in DROP_REASONS if r != "syntax_error"},
           "templates": dict(sorted(templates.items())),
           "chat_chars_mean": round(sum(sum(len(m["content"]) for m in r["messages"]) for r in chats)
                                    / max(len(chats), 1), 1),
           "config": dataclasses.asdict(config)}
    out["conservation_ok"] = out["functions_seen"] == out["kept"] + sum(out["dropped"].values())
    return chats, fns, out


def snippet_document(fn: Extracted) -> dict:
    """A kept function as a corpus document (annealing's "synthetic code snippets")."""
    from opencoder_jax.document import make_document

    text = fn.code
    doc = make_document(repo=f"sft_extract/{fn.repo}", path=f"{fn.path}::{fn.name}", text=text,
                        content=text.encode("utf-8", "surrogatepass"), language="python", lang_type="code",
                        source="sft_extract")
    return doc


def write_outputs(output_dir: str, chats: list[dict], fns: list[Extracted], stats: dict) -> dict:
    from opencoder_jax.data.array_record_file import write_local_atomic

    os.makedirs(output_dir, exist_ok=True)
    chats_path = os.path.join(output_dir, "sft_chats.jsonl")
    with open(chats_path + ".tmp", "w", encoding="utf-8") as f:
        for r in chats:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(chats_path + ".tmp", chats_path)
    snippets_dir = os.path.join(output_dir, "snippets")
    os.makedirs(snippets_dir, exist_ok=True)
    records = [json.dumps(snippet_document(fn), ensure_ascii=False).encode("utf-8", "surrogatepass") for fn in fns]
    write_local_atomic(os.path.join(snippets_dir, "documents-00000-of-00001.array_record"), records)
    stats = dict(stats, chats=chats_path, snippets=snippets_dir)
    with open(os.path.join(output_dir, "stats.json"), "w", encoding="utf-8") as f:
        json.dump(stats, f, indent=2)
    return stats


def run_extract(corpus_dirs: list[str], output_dir: str, config: SFTExtractConfig | None = None) -> dict:
    chats, fns, stats = extract(read_documents(corpus_dirs), config)
    if not chats:
        raise ValueError(f"no documented Python functions found in {corpus_dirs} (stats: {stats})")
    return write_outputs(output_dir, chats, fns, stats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m opencoder_jax.synth.sft_extract", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", nargs="+", required=True, help="RefineCode output dir(s) or document shards")
    parser.add_argument("--output", required=True)
    parser.add_argument("--max_examples", type=int, default=None)
    args = parser.parse_args(argv)
    config = SFTExtractConfig()
    if args.max_examples is not None:
        config = dataclasses.replace(config, max_examples=args.max_examples)
    stats = run_extract(args.input, args.output, config)
    print(json.dumps({k: v for k, v in stats.items() if k != "config"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
