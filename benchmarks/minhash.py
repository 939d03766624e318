"""MinHash signature throughput vs datasketch, and the two dedup stages at corpus scale.

  python benchmarks/minhash.py signatures [--docs 300 --num_perm 2048 --scheme affine32]
      docs/s on one core, ~500 word-5-gram shingles per document, side by side in one run:
      ours (opencoder_jax.refinecode.minhash.MinHasher) vs datasketch.MinHash with the same
      hash function (SHA1 prefix) and scheme, both as a user writes it (a new MinHash per
      document) and with permutations computed once. Rounds alternate to share the noise
      of a busy machine; the best round of each counts. Outputs are checked equal.
      The comparison runs twice: in this process (glibc malloc defaults) and in a child
      process whose malloc never returns memory to the OS (MALLOC_MMAP_THRESHOLD_ /
      MALLOC_TRIM_THRESHOLD_ / MALLOC_TOP_PAD_). datasketch allocates two fresh
      S x P arrays per document; with the defaults those are page-faulted in every time,
      which costs it ~5x, so the second figure is the fair "datasketch at its best" one.
  python benchmarks/minhash.py stages [--num_docs 100000 --words 250]
      wall time and peak RSS of exact_dedup and fuzzy_dedup (paper defaults) on synthetic
      documents in FnApiRunner, each stage in its own process (ru_maxrss of that process).
Prints one JSON line per measurement.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from opencoder_jax.refinecode.minhash import MinHasher  # noqa: E402
from opencoder_jax.refinecode.shingles import shingles  # noqa: E402


def _synthetic_text(rng: random.Random, num_words: int, vocab: int = 20_000) -> str:
    return " ".join(f"w{rng.randrange(vocab)}" for _ in range(num_words))


def bench_signatures(num_docs: int, num_perm: int, scheme: str, rounds: int) -> dict:
    from datasketch import MinHash
    from datasketch.hashfunc import sha1_hash32, sha1_hash64

    hashfunc = sha1_hash64 if scheme == "affine64" else sha1_hash32
    rng = random.Random(0)
    docs = [shingles(_synthetic_text(rng, 504)) for _ in range(num_docs)]  # 500 shingles each
    hasher = MinHasher(num_perm, 1, scheme, hashfunc)
    perms = MinHash(num_perm=num_perm, seed=1, scheme=scheme, hashfunc=hashfunc).permutations

    def ours():
        return hasher.signatures(docs)

    def datasketch_new_per_doc():
        out = []
        for s in docs:
            m = MinHash(num_perm=num_perm, seed=1, scheme=scheme, hashfunc=hashfunc)
            m.update_batch(s)
            out.append(m.hashvalues)
        return np.stack(out)

    def datasketch_shared_perms():
        out = []
        for s in docs:
            m = MinHash(num_perm=num_perm, seed=1, scheme=scheme, hashfunc=hashfunc, permutations=perms)
            m.update_batch(s)
            out.append(m.hashvalues)
        return np.stack(out)

    runs = {"ours": ours, "datasketch": datasketch_new_per_doc, "datasketch_shared_perms": datasketch_shared_perms}
    best_cpu = {name: float("inf") for name in runs}
    best_wall = dict(best_cpu)
    outputs = {}
    for _ in range(rounds):
        for name, fn in runs.items():
            c0, w0 = time.process_time(), time.perf_counter()  # CPU time (user + sys) of this process
            outputs[name] = fn()
            best_cpu[name] = min(best_cpu[name], time.process_time() - c0)
            best_wall[name] = min(best_wall[name], time.perf_counter() - w0)
    assert all(np.array_equal(outputs["ours"], o) for o in outputs.values()), "signatures differ"
    cpu = {name: num_docs / t for name, t in best_cpu.items()}
    wall = {name: num_docs / t for name, t in best_wall.items()}
    return {
        "bench": "minhash_signatures", "docs": num_docs, "shingles_per_doc": 500, "num_perm": num_perm,
        "scheme": scheme, "hashfunc": hashfunc.__name__,
        "docs_per_cpu_s": {k: round(v, 1) for k, v in cpu.items()},
        "docs_per_wall_s": {k: round(v, 1) for k, v in wall.items()},
        "speedup_cpu": {k: round(cpu["ours"] / v, 2) for k, v in cpu.items() if k != "ours"},
        "speedup_wall": {k: round(wall["ours"] / v, 2) for k, v in wall.items() if k != "ours"},
    }


def synthetic_corpus(num_docs: int, num_words: int, seed: int = 0) -> list[dict]:
    """~25% exact copies, ~10% near copies (one word changed), the rest unique."""
    from opencoder_jax.document import make_document

    rng = random.Random(seed)
    docs, texts = [], []
    for i in range(num_docs):
        r = rng.random()
        if texts and r < 0.25:
            text = rng.choice(texts)
        elif texts and r < 0.35:
            ws = rng.choice(texts).split()
            ws[rng.randrange(len(ws))] = f"x{rng.randrange(10**9)}"
            text = " ".join(ws)
        else:
            text = _synthetic_text(rng, num_words, vocab=200_000)
            texts.append(text)
        docs.append(make_document(repo=f"repo{i // 10}", path=f"f{i}.py", text=text, content=text.encode(),
                                  language="Python", lang_type="programming", stars=rng.choice([None, 0, 3, 40]),
                                  commit_date=rng.choice([None, "2021-01-01", "2023-05-05T10:00:00Z"])))
    return docs


def run_one_stage(stage_name: str, num_docs: int, num_words: int) -> dict:
    from beam_pipelines.stage import StageContext
    from beam_pipelines.stage_testing import run_stage_locally
    from beam_pipelines.stages import exact_dedup, fuzzy_dedup

    docs = synthetic_corpus(num_docs, num_words)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    work = tempfile.mkdtemp(prefix=f"bench_{stage_name}_")
    module = {"exact_dedup": exact_dedup, "fuzzy_dedup": fuzzy_dedup}[stage_name]
    stage = module.make_stage(StageContext(output_dir=work, temp_dir=work))
    t0 = time.perf_counter()
    result = run_stage_locally(stage, [docs], os.path.join(work, "out"))
    wall = time.perf_counter() - t0
    assert len(result["kept"]) + len(result["dropped"]) == num_docs
    return {
        "bench": "dedup_stage", "stage": stage_name, "num_docs": num_docs, "words_per_doc": num_words,
        "runner": "FnApiRunner (1 worker)", "wall_s": round(wall, 1), "docs_per_s": round(num_docs / wall, 1),
        "kept": len(result["kept"]), "dropped": len(result["dropped"]),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_after_building_input_mib": round(rss_before / 1024, 1),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sig = sub.add_parser("signatures")
    sig.add_argument("--docs", type=int, default=300)
    sig.add_argument("--num_perm", type=int, default=2048)
    sig.add_argument("--scheme", default="affine32", choices=["affine32", "affine64", "legacy"])
    sig.add_argument("--rounds", type=int, default=3)
    st = sub.add_parser("stages")
    st.add_argument("--num_docs", type=int, default=100_000)
    st.add_argument("--words", type=int, default=250)
    st.add_argument("--only", choices=["exact_dedup", "fuzzy_dedup"])
    args = parser.parse_args(argv)
    if args.cmd == "signatures":
        result = bench_signatures(args.docs, args.num_perm, args.scheme, args.rounds)
        result["malloc"] = os.environ.get("BENCH_MALLOC", "glibc defaults")
        print(json.dumps(result), flush=True)
        if "BENCH_MALLOC" not in os.environ:
            env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="1000000000", MALLOC_TRIM_THRESHOLD_="1000000000",
                       MALLOC_TOP_PAD_="100000000", BENCH_MALLOC="no trim / no mmap (kept heap)")
            subprocess.run([sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env=env, check=True)
        return
    if args.only:
        print(json.dumps(run_one_stage(args.only, args.num_docs, args.words)), flush=True)
        return
    for name in ("exact_dedup", "fuzzy_dedup"):  # one process each, so peak RSS is that stage's
        cmd = [sys.executable, os.path.abspath(__file__), "stages", "--num_docs", str(args.num_docs),
               "--words", str(args.words), "--only", name]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
