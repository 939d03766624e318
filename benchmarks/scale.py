"""The corpus pipeline at scale on one machine: wall time and peak memory (whole process tree)
of `opencoder data refinecode`, side by side with datatrove's exact + MinHash pipeline.

  python benchmarks/scale.py corpus --files 10000 --out /tmp/scale/c10k
      real source files of the local Python installations (pyenv stdlibs, site-packages),
      plus planted exact copies (8.7% of the files) and near copies (4.35%: one word
      changed mid-file), as JSONL shards {"id", "repo_name", "path", "content", "stars"}.
  python benchmarks/scale.py sources --out /tmp/scale/src
      more real code for the 200k corpus (this machine's Python installations hold ~99k
      usable files): pinned wheels from PyPI (ansible, Django, Home Assistant, pulumi-aws,
      mypy, twisted, sphinx) and Debian's linux-source-6.1 (~55k .c/.h), unpacked under
      <out>/pkgs; then `corpus ... --extra_roots /tmp/scale/src/pkgs /usr/include`.
  python benchmarks/scale.py ours --corpus /tmp/scale/c10k --stages dedup|all [--workers 2]
        [--dedup streaming|in_memory]
      runs the CLI in a child process; one JSON line: wall_s, peak tree RSS, kept count, ...
      and the kept ids to <corpus>/kept-<tag>.txt (to compare kept sets across graphs).
  python benchmarks/scale.py datatrove --corpus /tmp/scale/c10k --python /tmp/dt-venv/bin/python
      [--workers 2]: datatrove 0.10 exact dedup (3 steps) + MinHash (4 steps), word 5-grams
      by whitespace (no text normalisation), 16 buckets x 128 hashes, 64-bit hashes; the
      executor's worker processes are in the measured tree.
  python benchmarks/scale.py compare --corpus ... --a kept-x.txt --b kept-y.txt
      whether two kept sets are identical.

Peak memory = the largest sum of VmRSS over the child and all its descendants, sampled
every 0.2 s (shared pages are counted once per process, as `ps` would; an upper bound).
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXTS = (".py", ".pyi", ".c", ".h", ".cpp", ".js", ".pyx")
SOURCE_ROOTS = sorted(glob.glob("/root/.pyenv/versions/*/lib/python3*")) + [
    os.path.join(ROOT, ".venv/lib/python3.11/site-packages"), "/usr/lib/python3", "/usr/lib/python3.11"]


# ---------------------------------------------------------------- process-tree memory

def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(pid: int) -> float:
    kids, total, stack = _children(), 0, [pid]
    while stack:
        p = stack.pop()
        total += _rss_kb(p)
        stack += kids.get(p, [])
    return total / 1024


def run_measured(cmd: list[str], env=None, log_path: str | None = None) -> dict:
    """Run `cmd`; wall time and peak RSS of its whole process tree."""
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    start = time.time()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    peak = [0.0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_mb(proc.pid))
            time.sleep(0.2)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    rc = proc.wait()
    t.join()
    return {"rc": rc, "wall_s": round(time.time() - start, 1), "peak_tree_rss_mb": round(peak[0])}


# ---------------------------------------------------------------- corpus

EXTRA_WHEELS = ("ansible==10.7.0", "Django==5.1.4", "homeassistant==2024.3.3", "pulumi-aws==6.60.0",
                "mypy==1.13.0", "twisted==24.11.0", "sphinx==8.1.3")


def fetch_sources(out: str) -> dict:
    """Download and unpack the extra real code named in the module docstring."""
    import tarfile
    import zipfile

    dl, pkgs = os.path.join(out, "dl"), os.path.join(out, "pkgs")
    os.makedirs(dl, exist_ok=True)
    for spec in EXTRA_WHEELS:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                        "-q", "-d", dl, spec], check=True)
    subprocess.run(["apt-get", "download", "linux-source-6.1"], cwd=dl, check=True)
    for name in os.listdir(dl):
        path, dest = os.path.join(dl, name), os.path.join(pkgs, name.split("-")[0])
        if name.endswith(".whl") and not os.path.isdir(dest):
            zipfile.ZipFile(path).extractall(dest)
        elif name.endswith(".deb") and not os.path.isdir(dest):
            subprocess.run(["dpkg-deb", "-x", path, os.path.join(out, "deb")], check=True)
            for tar in glob.glob(os.path.join(out, "deb/usr/src/linux-source-*.tar.xz")):
                with tarfile.open(tar) as t:
                    t.extractall(dest, filter="data")
    return {"roots": [pkgs], "files": sum(len(f) for _, _, f in os.walk(pkgs))}


def _candidates(extra_roots=()) -> list[str]:
    out = []
    for root in SOURCE_ROOTS + list(extra_roots):
        for dirpath, _, files in os.walk(root):
            for name in files:
                if name.endswith(EXTS):
                    out.append(os.path.join(dirpath, name))
    return sorted(set(out))


def _read(path: str) -> str | None:
    try:
        if not 100 <= os.path.getsize(path) <= 1_000_000:
            return None
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def _near_copy(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    i = len(words) // 2 + rng.randrange(max(1, len(words) // 4))
    words[min(i, len(words) - 1)] += "_x"
    return " ".join(words)


def build_corpus(files: int, out: str, seed: int = 0, shards: int = 16, extra_roots=()) -> dict:
    rng = random.Random(seed)
    paths = _candidates(extra_roots)
    rng.shuffle(paths)
    n_exact, n_near = round(files * 0.087), round(files * 0.0435)
    n_real = files - n_exact - n_near
    rows = []
    for path in paths:
        if len(rows) == n_real:
            break
        text = _read(path)
        if text is None:
            continue
        rel = path.lstrip("/")
        parts = rel.split("/")
        repo = "/".join(parts[:min(6, len(parts) - 1)])
        stars = int(hashlib.md5(repo.encode()).hexdigest()[:4], 16) % 500
        rows.append({"repo_name": repo, "path": rel[len(repo) + 1:], "content": text, "stars": stars})
    if len(rows) < n_real:
        raise SystemExit(f"only {len(rows)} readable source files found, {n_real} needed")
    sources = [r for r in rows if len(r["content"].split()) >= 50]
    for i in range(n_exact):
        r = rng.choice(sources)
        rows.append({**r, "repo_name": f"copies/exact{i}", "stars": rng.randrange(500)})
    for i in range(n_near):
        r = rng.choice(sources)
        rows.append({**r, "repo_name": f"copies/near{i}", "content": _near_copy(r["content"], rng),
                     "stars": rng.randrange(500)})
    rng.shuffle(rows)
    os.makedirs(out, exist_ok=True)
    handles = [open(os.path.join(out, f"part-{i:03d}.jsonl"), "w", encoding="utf-8") for i in range(shards)]
    total = 0
    for i, r in enumerate(rows):
        r["id"] = f"{r['repo_name']}/{r['path']}"
        line = json.dumps(r, ensure_ascii=False)
        handles[i % shards].write(line + "\n")
        total += len(r["content"].encode("utf-8", "surrogatepass"))
    for h in handles:
        h.close()
    info = {"files": len(rows), "real": n_real, "planted_exact": n_exact, "planted_near": n_near,
            "content_mb": round(total / 1e6, 1), "extra_roots": list(extra_roots)}
    with open(os.path.join(out, "corpus.json"), "w") as f:
        json.dump(info, f)
    return info


# ---------------------------------------------------------------- ours

def run_ours(corpus: str, stages: str, workers: int, dedup: str, work: str) -> dict:
    stage_list = "preprocess,exact_dedup,fuzzy_dedup" if stages == "dedup" else None
    out = os.path.join(work, f"ours-{stages}-{dedup}-w{workers}")
    cmd = [sys.executable, "-c", "import sys; from opencoder_jax import cli; sys.exit(cli.main(sys.argv[1:]))",
           "data", "refinecode", "--input", os.path.join(corpus, "*.jsonl"), "--output", out, "--overwrite",
           "--no_report", "--workers", str(workers), "--num_shards", "16",
           "--gin_param", f"RefinecodeConfig.dedup = '{dedup}'"]
    if stage_list:
        cmd += ["--stages", stage_list]
    result = run_measured(cmd, env={**os.environ, "PYTHONPATH": ROOT}, log_path=out + ".log")
    result.update(tool="opencoder", stages=stages, dedup=dedup, workers=workers)
    if result["rc"] == 0:
        stats = json.load(open(os.path.join(out, "stats.json")))
        result.update(input=stats["input"], kept=stats["kept"], dropped=stats["dropped_by_stage"],
                      exact_groups=sum(v for k, v in stats["metrics"].items()
                                       if k.startswith("exact_dedup/cluster_size/") and k != "exact_dedup/cluster_size/1"),
                      conservation_ok=stats["conservation_ok"])
        ids = _kept_ids(out)
        kept_path = os.path.join(corpus, f"kept-ours-{stages}-{dedup}.txt")
        with open(kept_path, "w") as f:
            f.write("\n".join(sorted(ids)))
        result["kept_ids_file"] = kept_path
    return result


def _kept_ids(out: str) -> set[str]:
    sys.path.insert(0, ROOT)
    from beam_pipelines.array_record_io import read_array_record_file

    ids = set()
    for path in sorted(glob.glob(os.path.join(out, "documents-*.array_record"))):
        for rec in read_array_record_file(path):
            d = json.loads(rec)
            ids.add(f"{d['repo']}/{d['path']}")
    return ids


# ---------------------------------------------------------------- datatrove

DATATROVE_SCRIPT = r'''
import sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.pipeline.dedup import exact_dedup as ed
from datatrove.pipeline.dedup import minhash as mh
from datatrove.utils.hashing import HashConfig
from datatrove.utils.text import TextNormConfig

class Whitespace:  # word 5-grams over whitespace-separated words, as ours
    def word_tokenize(self, text):
        return text.split()


mh.load_word_tokenizer = lambda language: Whitespace()


def content(doc) -> str:
    return doc.text


def main():
    corpus, work, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tasks = workers * 4
    logs = []

    def reader(folder):
        return JsonlReader(folder, text_key="content", id_key="id", glob_pattern="*.jsonl")

    def go(steps, n):
        logs.append(1)
        LocalPipelineExecutor(steps, tasks=n, workers=workers, logging_dir=f"{work}/logs/{len(logs)}",
                              skip_completed=False).run()

    ecfg = ed.ExactDedupConfig(content_getter=content, hash_config=HashConfig(precision=64))
    go([reader(corpus), ed.ExactDedupSignature(f"{work}/esig", ecfg)], tasks)
    go([ed.ExactFindDedups(f"{work}/esig", f"{work}/edups", ecfg)], 1)
    go([reader(corpus), ed.ExactDedupFilter(f"{work}/edups", ecfg), JsonlWriter(f"{work}/exact")], tasks)

    norm = TextNormConfig(lowercase=False, norm_whitespace=False, remove_punctuation=False,
                          norm_unicode_diacritics=False, norm_numbers=False)
    mcfg = mh.MinhashConfig(n_grams=5, num_buckets=16, hashes_per_bucket=128,
                            hash_config=HashConfig(precision=64), norm_config=norm)
    exact_out = lambda: JsonlReader(f"{work}/exact", glob_pattern="*.jsonl.gz")  # noqa: E731
    go([exact_out(), mh.MinhashDedupSignature(f"{work}/msig", config=mcfg)], tasks)
    go([mh.MinhashDedupBuckets(f"{work}/msig", f"{work}/mbuckets", config=mcfg)], mcfg.num_buckets)
    go([mh.MinhashDedupCluster(f"{work}/mbuckets", f"{work}/mremove", config=mcfg)], 1)
    go([exact_out(), mh.MinhashDedupFilter(f"{work}/mremove"), JsonlWriter(f"{work}/final")], tasks)


if __name__ == "__main__":
    main()
'''


def run_datatrove(corpus: str, python: str, workers: int, work: str) -> dict:
    out = os.path.join(work, f"datatrove-w{workers}")
    os.makedirs(out, exist_ok=True)
    script = os.path.join(out, "pipeline.py")
    with open(script, "w") as f:
        f.write(DATATROVE_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = run_measured([python, script, corpus, out, str(workers)], env=env, log_path=out + ".log")
    result.update(tool="datatrove 0.10 (exact + MinHash)", workers=workers)
    if result["rc"] == 0:
        import gzip

        ids = set()
        for path in glob.glob(os.path.join(out, "final", "*.jsonl.gz")):
            with gzip.open(path, "rt", encoding="utf-8") as f:
                ids.update(json.loads(line)["id"] for line in f)
        result["kept"] = len(ids)
        kept_path = os.path.join(corpus, "kept-datatrove.txt")
        with open(kept_path, "w") as f:
            f.write("\n".join(sorted(ids)))
        result["kept_ids_file"] = kept_path
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("corpus")
    c.add_argument("--files", type=int, required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--extra_roots", nargs="*", default=[], help="more directories of real source files")
    s = sub.add_parser("sources")
    s.add_argument("--out", required=True)
    o = sub.add_parser("ours")
    o.add_argument("--corpus", required=True)
    o.add_argument("--stages", choices=("dedup", "all"), default="dedup")
    o.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    o.add_argument("--dedup", choices=("streaming", "in_memory"), default="streaming")
    o.add_argument("--work", default=None)
    d = sub.add_parser("datatrove")
    d.add_argument("--corpus", required=True)
    d.add_argument("--python", default="/tmp/dt-venv/bin/python")
    d.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    d.add_argument("--work", default=None)
    k = sub.add_parser("compare")
    k.add_argument("--a", required=True)
    k.add_argument("--b", required=True)
    args = ap.parse_args(argv)
    if args.cmd == "corpus":
        print(json.dumps(build_corpus(args.files, args.out, args.seed, extra_roots=args.extra_roots)))
    elif args.cmd == "sources":
        print(json.dumps(fetch_sources(args.out)))
    elif args.cmd == "compare":
        a, b = (set(open(p).read().split("\n")) - {""} for p in (args.a, args.b))
        print(json.dumps({"a": len(a), "b": len(b), "identical": a == b, "only_a": len(a - b), "only_b": len(b - a)}))
    else:
        if args.work:
            os.makedirs(args.work, exist_ok=True)
        work = args.work or tempfile.mkdtemp(prefix=f"scale-{args.cmd}-", dir=os.path.dirname(args.corpus.rstrip("/")))
        if args.cmd == "ours":
            res = run_ours(args.corpus, args.stages, args.workers, args.dedup, work)
        else:
            res = run_datatrove(args.corpus, args.python, args.workers, work)
        res["corpus"] = json.load(open(os.path.join(args.corpus, "corpus.json")))
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
