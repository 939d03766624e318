"""Throughput of the heuristic filter (signals + decisions) on real code, per tier.

Corpus (--corpus):
  embedded  the issue's target: a deterministic uniform sample of the quickstart slice of the
            embedded corpus (gin_configs/quickstart_corpus.gin: the standard library and the
            packages listed there), only files the preprocess stage keeps, text as it hands
            it on; the language mix is whatever those trees hold.
  mixed     a harder multi-language sample with fixed quotas per extension (stdlib,
            site-packages, /usr/include, /usr/share/doc), read as the released notebook
            reads them (text mode, universal newlines).
Reported per tier: documents/s and MB/s per core (process CPU time, one process), and side
by side in the same run the code/comment split through pygments' own lexer loop vs our exact
joined-regex driver (fast_lexer) vs the filter's path (hand-written scanners, else fast_lexer).

    .venv/bin/python benchmarks/filter.py [--corpus embedded|mixed] [--files 1000] [--append_results] [--dump_corpus PATH]

--dump_corpus writes the sampled documents as JSON (with "size" in bytes and "lang", the natural
language our text_language substitute gives), so another implementation can run on exactly the
same files; benchmarks/filter_vs_released.py runs OpenCoder's released filter on them side by side.
--per_language prints per program language files/s with the C/C++/JavaScript scanners off vs on.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import sys
import sysconfig
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opencoder_jax.refinecode import heuristic_filter as F  # noqa: E402
from opencoder_jax.refinecode.languages import detect_language  # noqa: E402
from opencoder_jax.refinecode.signals import fast_lexer  # noqa: E402
from opencoder_jax.refinecode.signals.comment_split import COMMENT_TOKEN_TYPES, _lexer, _NO_LEXER, split_code_and_comments  # noqa: E402

QUOTA = {"py": 250, "h": 80, "c": 50, "cpp": 40, "hpp": 20, "cc": 20, "js": 60, "html": 40, "json": 30,
         "md": 50, "rst": 40, "txt": 40, "sh": 20, "css": 15, "xml": 15, "yaml": 10, "toml": 10, "pyi": 20}
ROOTS = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"], "/usr/include", "/usr/share/doc"]


def sample_corpus(total: int, max_bytes: int = 400_000) -> list[dict]:
    rng = random.Random(0)
    by_ext: dict[str, list[str]] = defaultdict(list)
    for root in ROOTS:
        for dirpath, _, names in os.walk(root):
            for name in names:
                ext = os.path.splitext(name)[1][1:]
                if ext in QUOTA:
                    by_ext[ext].append(os.path.join(dirpath, name))
    scale = total / sum(QUOTA.values())
    docs = []
    for ext, quota in QUOTA.items():
        paths = sorted(by_ext[ext])
        rng.shuffle(paths)
        for path in paths[: max(1, round(quota * scale))]:
            try:
                if os.path.getsize(path) > max_bytes:
                    continue
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError):
                continue
            docs.append({"id": path, "repo": "bench", "path": path, "text": text, "size_bytes": os.path.getsize(path)})
    return docs


QUICKSTART_GIN = Path(__file__).resolve().parent.parent / "gin_configs" / "quickstart_corpus.gin"


def embedded_paths() -> list[tuple[str, str, str]]:
    """(repo, absolute path, path in repo) of every file of the quickstart embedded corpus,
    listed as the refinecode source lists them (same trees, same skipped folders, no links)."""
    import gin
    from beam_pipelines.embedded_corpus import EmbeddedCorpusConfig, embedded_trees
    from beam_pipelines.raw_sources import SKIP_DIRS, list_repositories

    gin.parse_config_file(str(QUICKSTART_GIN), skip_unknown=True)
    config = EmbeddedCorpusConfig()
    gin.clear_config()
    out = []
    for tree in embedded_trees(config):
        repos = list_repositories(tree.root, tree.exclude, tree.include)
        for name, repo_dir in repos[: tree.max_repos] if tree.max_repos is not None else repos:
            repo = tree.repo_prefix + name if name != "." else tree.repo_prefix + "stdlib"
            if name == ".":
                walk = [(repo_dir, [], sorted(os.listdir(repo_dir)))]
            else:
                walk = os.walk(repo_dir)
            for dirpath, dirnames, filenames in walk:
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
                for fname in sorted(filenames):
                    full = os.path.join(dirpath, fname)
                    if os.path.isfile(full) and not os.path.islink(full):
                        out.append((repo, full, os.path.relpath(full, repo_dir)))
    return out


def sample_embedded(total: int, max_bytes: int = 400_000) -> list[dict]:
    """`total` files drawn uniformly (seeded) from the quickstart embedded corpus, keeping only
    what preprocess keeps; files over max_bytes are skipped like in the mixed sample."""
    from opencoder_jax.refinecode.preprocess import PreprocessConfig, preprocess_file

    paths = embedded_paths()
    random.Random(0).shuffle(paths)
    config = PreprocessConfig()
    docs = []
    for repo, full, rel in paths:
        if len(docs) >= total:
            break
        try:
            if os.path.getsize(full) > max_bytes:
                continue
            with open(full, "rb") as f:
                content = f.read()
        except OSError:
            continue
        doc, _reason = preprocess_file({"repo": repo, "path": rel, "content": content, "source": "embedded"}, config)
        if doc is not None:
            doc["path"] = full  # absolute, so other tools can find the same file
            docs.append(doc)
    return docs


CORPUS_NAMES = {
    "embedded": "quickstart embedded corpus: stdlib + the gin_configs/quickstart_corpus.gin packages, files preprocess keeps",
    "mixed": "stdlib, site-packages, /usr/include, /usr/share/doc; fixed quotas of several languages",
}


def tier_of(doc: dict) -> str:
    doc_type = detect_language(doc["path"]).doc_type
    return {"text": "text", "code": "code", "data": "code"}.get(doc_type, "other")


def run(docs: list[dict]) -> dict:
    config = F.FilterConfig()
    tables = config.tables()
    stats = defaultdict(lambda: {"docs": 0, "bytes": 0, "seconds": 0.0, "kept": 0})
    for doc in docs:
        tier = tier_of(doc)
        start = time.process_time()
        decision = F.filter_document(doc, config, tables)
        elapsed = time.process_time() - start
        for key in (tier, "all"):
            s = stats[key]
            s["docs"] += 1
            s["bytes"] += len(doc["text"].encode("utf-8", "surrogatepass"))
            s["seconds"] += elapsed
            s["kept"] += decision.keep
    return dict(stats)


def lexer_comparison(docs: list[dict]) -> tuple[float, float, float, int]:
    """Seconds for the code/comment split via pygments' own loop, via fast_lexer alone, and via
    the filter's path (hand-written scanner, else fast_lexer), same files, same output."""
    slow = fast = scanned = 0.0
    n = 0
    for doc in docs:
        lang = detect_language(doc["path"]).name
        lexer = _lexer(lang)
        if lexer is _NO_LEXER:
            continue
        start = time.process_time()
        code, comments = [], []
        for t, v in lexer.get_tokens(doc["text"]):
            (comments if t in COMMENT_TOKEN_TYPES else code).append(v)
        reference = ("".join(code), "".join(comments))
        slow += time.process_time() - start
        start = time.process_time()
        ours = fast_lexer.split_by_token_type(lexer, doc["text"], COMMENT_TOKEN_TYPES)
        fast += time.process_time() - start
        assert ours == reference, doc["path"]
        start = time.process_time()
        ours = split_code_and_comments(doc["text"], lang, doc["text"].splitlines(True))
        scanned += time.process_time() - start
        assert ours == reference, doc["path"]
        n += 1
    return slow, fast, scanned, n


def per_language(docs: list[dict], rounds: int = 2) -> str:
    """Per program language files/s with the C/C++/JavaScript scanners on vs off (off = only the
    Python scanner, the filter before issue 19), alternating rounds, best round of each."""
    from opencoder_jax.refinecode.signals import comment_scanners

    config = F.FilterConfig()
    tables = config.tables()
    langs = [detect_language(doc["path"]).name for doc in docs]
    full = dict(comment_scanners.SCANNERS)
    python_only = {"python": full["python"]}
    best = {"off": {}, "on": {}}
    for _ in range(rounds):
        for mode, scanners in (("off", python_only), ("on", full)):
            comment_scanners.SCANNERS.clear()
            comment_scanners.SCANNERS.update(scanners)
            seconds: dict[str, float] = defaultdict(float)
            for doc, lang in zip(docs, langs):
                start = time.process_time()
                F.filter_document(doc, config, tables)
                seconds[lang] += time.process_time() - start
            for lang, secs in seconds.items():
                best[mode][lang] = min(best[mode].get(lang, secs), secs)
    comment_scanners.SCANNERS.clear()
    comment_scanners.SCANNERS.update(full)
    count = defaultdict(int)
    for lang in langs:
        count[lang] += 1
    lines = ["| program language | files | files/s before (Python scanner only) | files/s after | CPU s before | CPU s after |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for lang in sorted(best["off"], key=lambda k: -best["off"][k]):
        off, on = best["off"][lang], best["on"][lang]
        lines.append(f"| {lang} | {count[lang]} | {count[lang] / max(off, 1e-9):,.0f} | "
                     f"{count[lang] / max(on, 1e-9):,.0f} | {off:.2f} | {on:.2f} |")
    total_off, total_on = sum(best["off"].values()), sum(best["on"].values())
    lines.append(f"| all | {len(docs)} | {len(docs) / total_off:,.0f} | {len(docs) / total_on:,.0f} | "
                 f"{total_off:.2f} | {total_on:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", choices=("embedded", "mixed"), default="embedded")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--append_results", action="store_true")
    parser.add_argument("--dump_corpus", default="")
    parser.add_argument("--per_language", action="store_true",
                        help="only print per-language files/s with the C/C++/JS scanners off vs on")
    args = parser.parse_args()

    docs = sample_embedded(args.files) if args.corpus == "embedded" else sample_corpus(args.files)
    if args.dump_corpus:
        from opencoder_jax.refinecode.text_language import detect_text_language
        for doc in docs:  # what a by-hand driver of another implementation needs per file
            doc["size"] = doc["size_bytes"]
            doc["lang"] = detect_text_language(doc["text"])
        Path(args.dump_corpus).write_text(json.dumps(docs))
    if args.per_language:
        print(per_language(docs))
        return
    stats = run(docs)
    slow, fast, scanned, n_lexed = lexer_comparison(docs)

    lines = [f"### filter, {datetime.date.today()}, {platform.machine()} {os.cpu_count()}-core, Python {platform.python_version()}",
             "", f"`.venv/bin/python benchmarks/filter.py --corpus {args.corpus} --files {args.files}`", "",
             f"corpus: {stats['all']['docs']} files, {stats['all']['bytes'] / 1e6:.1f} MB ({CORPUS_NAMES[args.corpus]}); "
             "process CPU time, one core", "",
             "| tier | files | MB | kept | files/s per core | MB/s per core |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for tier in ("text", "code", "other", "all"):
        if tier not in stats:
            continue
        s = stats[tier]
        secs = max(s["seconds"], 1e-9)
        label = {"text": "natural-language (qsc_doc_*)", "code": "code + data (qsc_code_* + language-specific)",
                 "other": "unknown/excluded (dropped by type)", "all": "all"}[tier]
        lines.append(f"| {label} | {s['docs']} | {s['bytes'] / 1e6:.2f} | {s['kept']} | {s['docs'] / secs:,.0f} | {s['bytes'] / 1e6 / secs:.2f} |")
    lines += ["", f"code/comment split on the same {n_lexed} files: pygments loop {slow:.2f} s, "
              f"fast_lexer {fast:.2f} s ({slow / max(fast, 1e-9):.2f}x), filter path (comment_scanners, else "
              f"fast_lexer) {scanned:.2f} s ({slow / max(scanned, 1e-9):.2f}x), identical output", ""]
    report = "\n".join(lines)
    print(report)
    if args.append_results:
        path = Path(__file__).resolve().parent / "RESULTS.md"
        text = path.read_text() if path.exists() else "# Benchmark results\n"
        heading = "## Filter (issue 4)"
        if heading not in text:
            text = text.rstrip("\n") + f"\n\n{heading}\n\n"
        head, _, rest = text.partition(heading)
        nxt = rest.find("\n## ")
        section, tail = (rest, "") if nxt < 0 else (rest[:nxt], rest[nxt:])
        text = head + heading + section.rstrip("\n") + "\n\n" + report + tail
        path.write_text(text)


if __name__ == "__main__":
    main()
