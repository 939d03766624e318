"""`opencoder eval`: generate (or read) solutions, run them in the sandbox, report pass@k.

  opencoder eval --benchmark humaneval|mbpp|mbpp_sanitized|humaneval_plus|mbpp_plus
      (--checkpoint DIR | --hf DIR | --server URL | --samples FILE.jsonl)
      [--mode base|instruct] [--n N] [--temperature T] [--output DIR]
      [--mbpp_path P] [--mbpp_split standard|opencoder] [--plus_path P] [--limit N]
      [--tokenizer DIR] [--max_new_tokens N] [--timeout S] [--workers N] [--plot]

Writes into --output (default: the current directory): results.json (a "pass@1" key, the other
pass@k where n >= k, per-problem statuses passed/failed/timeout/error with the captured error,
the sandbox's isolation mode), samples.jsonl (what was scored), summary.md (the table printed
at the end) and, with --plot, summary.png.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import dataclasses
import json
import math
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Callable, Sequence

from opencoder_jax.eval import benchmarks as bm
from opencoder_jax.eval.passk import pass_at_ks
from opencoder_jax.eval.sandbox import STATUSES, Limits, Sandbox


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", required=True, choices=bm.BENCHMARKS)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="an Orbax checkpoint / workdir (needs a tokenizer)")
    src.add_argument("--hf", help="a Hugging Face Llama-style model directory")
    src.add_argument("--server", help="an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000")
    src.add_argument("--samples", help="existing completions: jsonl lines {task_id, completion|solution}")
    parser.add_argument("--mode", choices=("base", "instruct"), default="base",
                        help="base: completion prompts; instruct: chat prompts (ChatML) and code "
                             "extraction from the answer")
    parser.add_argument("--n", type=int, default=1, help="samples per problem")
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--top_p", type=float, default=0.95)
    parser.add_argument("--max_new_tokens", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=".", help="directory for results.json etc.")
    parser.add_argument("--mbpp_path", help="directory with mbpp.jsonl / mbpp_sanitized.jsonl (or a file); "
                        "default: the copy bundled with the package (opencoder_jax/eval/data/mbpp, CC BY 4.0)")
    parser.add_argument("--mbpp_split", choices=sorted(bm.MBPP_SPLITS), default="standard",
                        help="standard: ids 11-510, few-shot 2-4; opencoder: 10-509, few-shot 1-3")
    parser.add_argument("--plus_path", help="EvalPlus file (HumanEvalPlus*.jsonl[.gz] / MbppPlus*) or its dir")
    parser.add_argument("--limit", type=int, help="only the first N problems")
    parser.add_argument("--tokenizer", help="tokenizer directory (for --checkpoint)")
    parser.add_argument("--model", default=None, help="model name sent to --server (default: its first)")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel requests to --server")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="CPU seconds per program; the wall-clock limit is 2x this + 5 s")
    parser.add_argument("--workers", type=int, default=None, help="parallel programs (default: 4 per core)")
    parser.add_argument("--isolation", default="auto", choices=("auto", "strict", "full", "userns", "process-group"))
    parser.add_argument("--no_preamble", action="store_true",
                        help="do not put OpenCodeEval's standard-library imports before each program")
    parser.add_argument("--plot", action="store_true", help="also write summary.png")


# ------------------------------------------------------------------------- generation -------
GenerateFn = Callable[[Sequence[bm.Problem]], list[list[str]]]


def _post(url: str, body: dict, timeout: float = 600.0) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", "replace")[:500]
        raise RuntimeError(f"{url}: HTTP {e.code}: {detail}") from None


def server_generator(url: str, bench: bm.Benchmark, chat: bool, args) -> GenerateFn:
    base = url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    model = args.model
    if model is None:
        try:
            with urllib.request.urlopen(base + "/models", timeout=30) as resp:
                data = json.loads(resp.read().decode("utf-8")).get("data") or []
            model = data[0]["id"] if data else "default"
        except (OSError, ValueError, KeyError):
            model = "default"

    def one(problem: bm.Problem) -> list[str]:
        texts: list[str] = []
        while len(texts) < args.n:
            body = {"model": model, "n": args.n - len(texts), "temperature": args.temperature,
                    "top_p": args.top_p if args.temperature > 0 else 1.0, "max_tokens": args.max_new_tokens,
                    "stop": bench.stop_sequences(chat)[:4] if chat else bench.stop_sequences(chat),
                    "seed": args.seed + len(texts)}
            if chat:
                body["messages"] = bench.chat_messages(problem)
                out = _post(base + "/chat/completions", body)
                got = [c["message"]["content"] or "" for c in out["choices"]]
            else:
                body["prompt"] = problem.prompt
                out = _post(base + "/completions", body)
                got = [c["text"] for c in out["choices"]]
            if not got:
                raise RuntimeError(f"{url} returned no choices")
            texts.extend(got)
        return texts[:args.n]

    def generate(problems: Sequence[bm.Problem]) -> list[list[str]]:
        with concurrent.futures.ThreadPoolExecutor(max(1, args.concurrency)) as pool:
            return list(pool.map(one, problems))

    return generate


def engine_generator(bench: bm.Benchmark, chat: bool, args) -> tuple[GenerateFn, Callable[[], None]]:
    from opencoder_jax.infer.engine import Engine  # heavy (JAX): only for this path

    engine = Engine.load(checkpoint=args.checkpoint, hf=args.hf, tokenizer=args.tokenizer)
    kw = dict(max_new_tokens=args.max_new_tokens, temperature=args.temperature,
              top_p=args.top_p if args.temperature > 0 else 1.0, stop=bench.stop_sequences(chat),
              seed=args.seed)

    def generate(problems: Sequence[bm.Problem]) -> list[list[str]]:
        if chat:
            outs = engine.chat([bench.chat_messages(p) for p in problems], n=args.n, **kw)
        else:
            outs = engine.generate([p.prompt for p in problems], n=args.n, **kw)
        return [[c.text for c in row] for row in outs]

    return generate, engine.close


def read_samples(path: str) -> dict[str, list[dict]]:
    by_task: dict[str, list[dict]] = collections.defaultdict(list)
    for row in bm.read_jsonl(path):
        if "task_id" not in row or not ("completion" in row or "solution" in row):
            raise ValueError(f"{path}: every line needs task_id and completion (or solution)")
        by_task[str(row["task_id"])].append(row)
    return by_task


def _normalize_task_id(task_id: str, bench: bm.Benchmark) -> str:
    if bench.family == "mbpp" and task_id.isdigit():
        return f"Mbpp/{task_id}"
    return task_id


# --------------------------------------------------------------------------- scoring --------
@dataclasses.dataclass
class Scored:
    task_id: str
    solutions: list[str]
    statuses: list[dict]  # {"status", "error"} per sample
    base_passed: list[bool] | None = None

    @property
    def n(self) -> int:
        return len(self.statuses)

    @property
    def c(self) -> int:
        return sum(s["status"] == "passed" for s in self.statuses)


def score(bench: bm.Benchmark, sandbox: Sandbox, solutions: dict[str, list[str]], preamble: bool = True,
          progress: bool = True) -> list[Scored]:
    items, programs, limits = [], [], []
    for p in bench.problems:
        for j, sol in enumerate(solutions.get(p.task_id, [])):
            items.append((p, j))
            programs.append(bench.program(p, sol, preamble=preamble))
            lim = sandbox.limits
            if isinstance(bench, bm.EvalPlus):
                t = bench.timeout_for(p, lim.cpu_limit())
                lim = dataclasses.replace(lim, timeout=2 * t + 5, cpu_seconds=math.ceil(t))
            limits.append(lim)
    done = [0]
    t0 = time.time()

    def tick(i, r):
        done[0] += 1
        if progress and (done[0] % 50 == 0 or done[0] == len(programs)):
            print(f"  executed {done[0]}/{len(programs)} programs ({time.time() - t0:.1f}s)", file=sys.stderr)

    results = sandbox.run_many(programs, limits=limits, on_result=tick)
    by_task: dict[str, Scored] = {}
    for (p, _j), r in zip(items, results):
        s = by_task.setdefault(p.task_id, Scored(p.task_id, solutions[p.task_id], [],
                                                 [] if isinstance(bench, bm.EvalPlus) else None))
        s.statuses.append({"status": r.status, "error": r.error,
                           "stderr_tail": r.stderr[-1000:] if r.status != "passed" else ""})
        if s.base_passed is not None:
            s.base_passed.append(r.passed or "@@BASE_PASSED@@" in r.stdout)
    return [by_task[p.task_id] for p in bench.problems if p.task_id in by_task]


def summarize(bench: bm.Benchmark, scored: list[Scored]) -> dict:
    out: dict = {"benchmark": bench.name, "num_problems": len(scored)}
    out.update(pass_at_ks([(s.n, s.c) for s in scored]))
    if scored and all(s.base_passed is not None for s in scored):
        base = pass_at_ks([(s.n, sum(s.base_passed)) for s in scored])
        out.update({f"base_{k}": v for k, v in base.items()})
    counts = collections.Counter(st["status"] for s in scored for st in s.statuses)
    out["status_counts"] = {k: counts.get(k, 0) for k in STATUSES}
    return out


def summary_table(summary: dict) -> str:
    rows = [("benchmark", summary["benchmark"]), ("problems", str(summary["num_problems"]))]
    for k, v in summary.items():
        if k.startswith("pass@") or k.startswith("base_pass@"):
            rows.append((k, f"{100 * v:.2f}%"))
    for k, v in summary.get("status_counts", {}).items():
        rows.append((f"programs {k}", str(v)))
    w = max(len(r[0]) for r in rows)
    lines = [f"| {'metric'.ljust(w)} | value |", f"| {'-' * w} | ---: |"]
    lines += [f"| {a.ljust(w)} | {b} |" for a, b in rows]
    return "\n".join(lines) + "\n"


def plot_summary(summary: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ks = [k for k in summary if k.startswith("pass@") or k.startswith("base_pass@")]
    ax1.bar(ks, [100 * summary[k] for k in ks], color="#4c72b0")
    ax1.set_ylim(0, 100)
    ax1.set_ylabel("%")
    ax1.set_title(summary["benchmark"])
    counts = summary["status_counts"]
    ax2.bar(list(counts), list(counts.values()), color=["#55a868", "#c44e52", "#dd8452", "#8172b2"])
    ax2.set_title("programs by status")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ------------------------------------------------------------------------------ run ---------
def run(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise ValueError("--n must be >= 1")
    if args.checkpoint and not args.tokenizer:
        pass  # Engine.load finds WORKDIR/tokenizer/ or says what is missing
    os.makedirs(args.output, exist_ok=True)
    bench = bm.load_benchmark(args.benchmark, mbpp_path=args.mbpp_path, plus_path=args.plus_path,
                              mbpp_split=args.mbpp_split).limit(args.limit)
    chat = args.mode == "instruct"
    limits = Limits(timeout=2 * args.timeout + 5, cpu_seconds=max(1, math.ceil(args.timeout)))
    sandbox = Sandbox(limits, workers=args.workers, isolation=args.isolation)
    print(f"opencoder eval: {bench.name}, {len(bench)} problems; sandbox {sandbox.isolation.mode} "
          f"({sandbox.workers} workers)", file=sys.stderr)
    try:
        dropped: list[str] = []
        if isinstance(bench, bm.EvalPlus):
            dropped = bench.prepare(sandbox)
            if dropped:
                print(f"  ground truth failed for {len(dropped)} tasks (dropped): {dropped[:10]}", file=sys.stderr)
        t0 = time.time()
        solutions: dict[str, list[str]] = {}
        raw: dict[str, list[str]] = {}
        missing: list[str] = []
        if args.samples:
            by_task = {_normalize_task_id(k, bench): v for k, v in read_samples(args.samples).items()}
            for p in bench.problems:
                rows = by_task.get(p.task_id, [])
                if not rows:
                    missing.append(p.task_id)
                    continue
                raw[p.task_id] = [r.get("completion", r.get("solution", "")) for r in rows]
                solutions[p.task_id] = [
                    bench.solution(p, r["completion"], chat) if chat and "completion" in r
                    else bench.solution_from_sample(p, r) for r in rows]
            if missing:
                print(f"  no samples for {len(missing)} problems (not scored)", file=sys.stderr)
        else:
            close = None
            if args.server:
                generate = server_generator(args.server, bench, chat, args)
            else:
                generate, close = engine_generator(bench, chat, args)
            try:
                texts = generate(bench.problems)
            finally:
                if close is not None:
                    close()
            for p, outs in zip(bench.problems, texts):
                raw[p.task_id] = outs
                solutions[p.task_id] = [bench.solution(p, t, chat) for t in outs]
        gen_seconds = time.time() - t0
        t1 = time.time()
        scored = score(bench, sandbox, solutions, preamble=not args.no_preamble)
        exec_seconds = time.time() - t1
        summary = summarize(bench, scored)
    finally:
        sandbox.close()
    source = ("samples:" + args.samples if args.samples else "server:" + args.server if args.server
              else "checkpoint:" + args.checkpoint if args.checkpoint else "hf:" + args.hf)
    results = dict(summary)
    results.update({
        "mode": args.mode, "n": args.n, "temperature": args.temperature, "source": source,
        "mbpp_split": args.mbpp_split if bench.family == "mbpp" and not bench.plus else None,
        "missing_problems": missing, "dropped_problems": dropped,
        "generation_seconds": round(gen_seconds, 2), "execution_seconds": round(exec_seconds, 2),
        "sandbox": sandbox.describe(),
        "problems": [{"task_id": s.task_id, "n": s.n, "passed": s.c,
                      "results": s.statuses,
                      **({"base_passed": sum(s.base_passed)} if s.base_passed is not None else {})}
                     for s in scored],
    })
    with open(os.path.join(args.output, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.output, "samples.jsonl"), "w", encoding="utf-8") as f:
        for s in scored:
            for j, sol in enumerate(s.solutions):
                f.write(json.dumps({"task_id": s.task_id, "raw": raw[s.task_id][j], "solution": sol,
                                    "status": s.statuses[j]["status"]}) + "\n")
    table = summary_table(summary)
    with open(os.path.join(args.output, "summary.md"), "w", encoding="utf-8") as f:
        f.write(table)
    if args.plot:
        plot_summary(summary, os.path.join(args.output, "summary.png"))
    print(table, end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opencoder eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
