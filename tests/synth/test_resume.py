"""A killed generator resumes without duplicates: a crash after N records in process, a SIGKILL of
the real `opencoder synth` subprocess in the middle of a request, repairs of torn/unmarked/
duplicated lines, and an endpoint that goes down (seeds left for the next run)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from opencoder_jax.synth import runner
from opencoder_jax.synth.snippets import SnippetGenerator
from opencoder_jax.synth.teacher import EndpointTeacher, TeacherUnavailable
from tests.synth import scripts as S
from tests.synth.scripted_endpoint import ScriptedEndpoint

MARKERS = [f"SEED_{k}" for k in range(6)]
# even seeds pass, odd ones fail their tests
SCRIPT = {m: [S.snippet_answer(S.ADD, S.ADD_TESTS if k % 2 == 0 else S.WRONG_TESTS)] for k, m in enumerate(MARKERS)}
KEPT = [m for k, m in enumerate(MARKERS) if k % 2 == 0]


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def kept_ids(out):
    return [d["meta"]["seed_id"] for d in read_jsonl(os.path.join(out, "documents.jsonl"))]


def marked_ids(out):
    return [r["seed_id"] for r in read_jsonl(os.path.join(out, "state", "processed.jsonl"))]


class CrashingTeacher:
    """Answers like `inner` until `crash_after` calls, then raises (a bug, a kill -9 stand-in)."""

    def __init__(self, inner, crash_after):
        self.inner, self.crash_after, self.calls = inner, crash_after, 0
        self.name = "crashing"

    def complete(self, messages, **kw):
        self.calls += 1
        if self.calls > self.crash_after:
            raise RuntimeError("simulated crash")
        return self.inner.complete(messages, **kw)


def test_crash_after_n_records_then_resume(tmp_path, sandbox):
    seeds = tmp_path / "seeds.jsonl"
    S.write_seed_documents(seeds, MARKERS)
    out = str(tmp_path / "out")
    with ScriptedEndpoint(SCRIPT) as ep:
        good = EndpointTeacher(ep.url, backoff_s=0.01)
        with pytest.raises(RuntimeError, match="simulated crash"):
            runner.run(SnippetGenerator([str(seeds)], CrashingTeacher(good, 3), sandbox), out, concurrency=1,
                       progress=False)
        stats = json.load(open(os.path.join(out, "stats.json")))
        assert "simulated crash" in stats["aborted"] and stats["seeds"] == 3
        assert kept_ids(out) == ["SEED_0", "SEED_2"] and marked_ids(out) == MARKERS[:3]
        first_calls = dict(ep.calls)
        stats = runner.run(SnippetGenerator([str(seeds)], good, sandbox), out, concurrency=2, progress=False)
        # processed seeds were not asked again
        assert {m: ep.calls[m] - first_calls.get(m, 0) for m in MARKERS} == {m: int(k >= 3) for k, m in
                                                                            enumerate(MARKERS)}
    assert sorted(kept_ids(out)) == KEPT and sorted(marked_ids(out)) == MARKERS
    assert stats["resumed"] == 3 and stats["seeds"] == 6 and stats["passed"] == 3
    assert stats["rejected"] == {"tests_failed": 3} and stats["conservation_ok"]


def test_ledger_repairs_torn_lines_unmarked_and_duplicated_records(tmp_path):
    out = tmp_path / "out"
    (out / "state").mkdir(parents=True)
    rec = lambda sid: json.dumps({"text": "x", "meta": {"seed_id": sid}})  # noqa: E731
    # a: kept and marked; b: kept, killed before marking; c: kept twice; d: torn mid-write
    (out / "documents.jsonl").write_text("\n".join([rec("a"), rec("b"), rec("c"), rec("c")]) + "\n" + rec("d")[:9])
    (out / "state" / "processed.jsonl").write_text(
        json.dumps({"seed_id": "a", "status": "passed"}) + "\n" + json.dumps({"seed_id": "e", "status": "rejected/x"})
        + "\n" + json.dumps({"seed_id": "c", "status": "passed"}) + "\n" + '{"seed_id": "f", "sta')
    ledger = runner.Ledger(str(out), "documents")
    ledger.close()
    assert sorted(ledger.processed) == ["a", "b", "c", "e"]
    assert ledger.repairs == {"torn_line/documents.jsonl": 1, "torn_line/processed.jsonl": 1,
                              "duplicate_records_dropped": 1, "seeds_marked_from_records": 1}
    assert kept_ids(str(out)) == ["a", "b", "c"]
    assert open(out / "state" / "processed.jsonl").read().endswith("\n")


def test_endpoint_down_stops_the_run_and_leaves_seeds_for_the_next(tmp_path, sandbox):
    seeds = tmp_path / "seeds.jsonl"
    S.write_seed_documents(seeds, MARKERS)
    out = str(tmp_path / "out")
    down = {m: [503] for m in MARKERS}
    with ScriptedEndpoint({"SEED_0": SCRIPT["SEED_0"], **{m: down[m] for m in MARKERS[1:]}}) as ep:
        gen = SnippetGenerator([str(seeds)], EndpointTeacher(ep.url, retries=1, backoff_s=0.001), sandbox)
        with pytest.raises(TeacherUnavailable, match="2 seeds in a row"):
            runner.run(gen, out, concurrency=1, progress=False, max_consecutive_unavailable=2)
    stats = json.load(open(os.path.join(out, "stats.json")))
    assert stats["passed"] == 1 and stats["rejected"] == {"endpoint_unavailable": 2} and "aborted" in stats
    assert marked_ids(out) == ["SEED_0"]  # unavailable seeds stay unprocessed
    with ScriptedEndpoint(SCRIPT) as ep:
        stats = runner.run(SnippetGenerator([str(seeds)], EndpointTeacher(ep.url), sandbox), out, concurrency=3,
                           progress=False)
        assert "SEED_0" not in ep.calls
    assert sorted(kept_ids(out)) == KEPT and stats["resumed"] == 1 and stats["rejected"] == {"tests_failed": 3}


def test_sigkill_of_the_cli_mid_request_then_resume(tmp_path):
    """`opencoder synth snippets` as a real process, killed (SIGKILL) while its 4th request is
    in flight; the same command again finishes the rest without duplicates."""
    seeds = tmp_path / "seeds.jsonl"
    S.write_seed_documents(seeds, MARKERS)
    out = str(tmp_path / "out")
    script = dict(SCRIPT)
    script["SEED_3"] = [("hold", SCRIPT["SEED_3"][0]), SCRIPT["SEED_3"][0]]
    with ScriptedEndpoint(script) as ep:
        cmd = [sys.executable, "-m", "opencoder_jax.cli", "synth", "snippets", "--input", str(seeds), "--output", out,
               "--server", ep.url, "--concurrency", "1", "--no_decontaminate", "--no_progress",
               "--sandbox_timeout", "5", "--sandbox_workers", "2"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert ep.holding.wait(120), proc.communicate(timeout=5)[0].decode() if proc.poll() is not None else ""
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        ep.release()
        assert kept_ids(out) == ["SEED_0", "SEED_2"] and marked_ids(out) == MARKERS[:3]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        stats = json.loads(done.stdout)
        for m in MARKERS:
            assert ep.calls[m] == (2 if m == "SEED_3" else 1), m  # only the killed request was repeated
    assert sorted(kept_ids(out)) == KEPT and sorted(marked_ids(out)) == MARKERS
    assert stats["resumed"] == 3 and stats["passed"] == 3 and stats["rejected"] == {"tests_failed": 3}
    with open(os.path.join(out, "stats.json")) as f:
        assert json.load(f)["conservation_ok"]
