"""The run loop every generator shares: seeds in, kept records out, each seed counted once.

Output directory (one per generator run):

  chats.jsonl | documents.jsonl   the kept records, append-only, one JSON object per line;
                                  `meta.seed_id` names the seed each came from
  documents-00000-of-00001.array_record   (document generators) the same documents as a
                                  RefineCode shard for `opencoder data tokenize`, rewritten
                                  at the end of every run
  state/processed.jsonl           one line per finished seed: {"seed_id", "status", ...};
                                  status "passed" or "rejected/<reason>"
  state/rejected.jsonl            the rejected seeds' details (reason, error, the answer)
  stats.json                      seeds = passed + rejected by reason, for this run's seeds

Crash safety: a kept record is appended (and flushed) BEFORE its seed is marked processed, so
a kill between the two leaves a record whose seed is unmarked. On start the run repairs that:
a torn last line (killed mid-write) is cut off, unmarked seeds that have a record are marked
"passed", records repeated for one seed are dropped (the file is rewritten), and processed
seeds are skipped. A killed run started again with the same arguments finishes the rest
without duplicates.

Failures of the teacher (see teacher.py): `TeacherUnavailable` leaves the seed unmarked (the
next run retries it; counted `rejected/endpoint_unavailable` in this run's stats) and stops the
run after `max_consecutive_unavailable` in a row; `TeacherRejected` rejects the seed
(`endpoint_rejected`); `TeacherConfigError` stops the run. Kept records are checked by the
decontaminator (when given): a hit rejects the record as `decontaminate/<benchmark>`.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import time
from collections import Counter
from typing import Any, Iterable, Iterator, Protocol

from opencoder_jax.synth.seeds import Seed
from opencoder_jax.synth.teacher import TeacherRejected, TeacherUnavailable

OUTPUT_FILES = {"chats": "chats.jsonl", "documents": "documents.jsonl"}
SHARD_NAME = "documents-00000-of-00001.array_record"
STATE_DIR = "state"
PROCESSED_FILE = "processed.jsonl"
REJECTED_FILE = "rejected.jsonl"
STATS_FILE = "stats.json"
PASSED = "passed"
UNAVAILABLE = "endpoint_unavailable"
MAX_KEPT_ANSWER_CHARS = 4000  # of a rejected answer, in rejected.jsonl


@dataclasses.dataclass
class Outcome:
    """What one seed produced: a record to keep (reason None) or the reason it was rejected."""
    reason: str | None = None
    record: dict | None = None
    generated: bool = False  # the teacher answered (False: rejected before/without asking)
    detail: str = ""
    answer: str = ""


class Generator(Protocol):
    name: str
    kind: str  # "chats" | "documents"

    def seeds(self) -> Iterable[Seed]: ...

    def process(self, seed: Seed) -> Outcome: ...  # called from worker threads

    def record_text(self, record: dict) -> str: ...  # what decontamination checks

    def describe(self) -> dict: ...


def _truncate_torn_line(path: str) -> bool:
    """Cut a last line without its newline (a write killed midway); True if anything was cut."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return False
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return False
        data_end = f.seek(0, os.SEEK_END)
        pos, chunk = data_end, 1 << 16
        keep = 0
        while pos > 0:
            start = max(0, pos - chunk)
            f.seek(start)
            block = f.read(pos - start)
            i = block.rfind(b"\n")
            if i >= 0:
                keep = start + i + 1
                break
            pos = start
        f.truncate(keep)
    return True


def _read_jsonl(path: str) -> Iterator[dict]:
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # a line someone damaged by hand: ignored, like a torn one
                if isinstance(row, dict):
                    yield row


def _utf8_ok(record: dict) -> bool:
    """False for text with lone surrogates (JSON "\\ud800" decodes to one): not writable as UTF-8."""
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def record_seed_id(record: dict) -> str | None:
    meta = record.get("meta")
    return meta.get("seed_id") if isinstance(meta, dict) else None


class Ledger:
    """The append-only output and processed-seed files of one output directory."""

    def __init__(self, output_dir: str, kind: str):
        if kind not in OUTPUT_FILES:
            raise ValueError(f"kind must be one of {sorted(OUTPUT_FILES)}, got {kind!r}")
        self.output_dir = output_dir
        self.output_path = os.path.join(output_dir, OUTPUT_FILES[kind])
        state = os.path.join(output_dir, STATE_DIR)
        self.processed_path = os.path.join(state, PROCESSED_FILE)
        self.rejected_path = os.path.join(state, REJECTED_FILE)
        os.makedirs(state, exist_ok=True)
        self.repairs: Counter = Counter()
        self.processed = self._recover()
        self._out = open(self.output_path, "a", encoding="utf-8")
        self._proc = open(self.processed_path, "a", encoding="utf-8")
        self._rej = open(self.rejected_path, "a", encoding="utf-8", errors="backslashreplace")

    def _recover(self) -> dict[str, dict]:
        for path in (self.output_path, self.processed_path, self.rejected_path):
            if _truncate_torn_line(path):
                self.repairs[f"torn_line/{os.path.basename(path)}"] += 1
        processed: dict[str, dict] = {}
        for row in _read_jsonl(self.processed_path):
            if isinstance(row.get("seed_id"), str):
                processed[row["seed_id"]] = row  # the last line of a seed wins
        records, seen, duplicates = [], set(), 0
        for record in _read_jsonl(self.output_path):
            sid = record_seed_id(record)
            if sid in seen:
                duplicates += 1
                continue
            seen.add(sid)
            records.append(record)
        if duplicates:  # rewrite without them (atomically)
            tmp = self.output_path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                for record in records:
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
            os.replace(tmp, self.output_path)
            self.repairs["duplicate_records_dropped"] += duplicates
        unmarked = [sid for sid in seen if sid is not None and processed.get(sid, {}).get("status") != PASSED]
        if unmarked:  # killed between writing a record and marking its seed
            with open(self.processed_path, "a", encoding="utf-8") as f:
                for sid in unmarked:
                    row = {"seed_id": sid, "status": PASSED, "generated": True, "recovered": True}
                    f.write(json.dumps(row) + "\n")
                    processed[sid] = row
            self.repairs["seeds_marked_from_records"] += len(unmarked)
        for sid in [s for s, row in processed.items() if row.get("status") == PASSED and s not in seen]:
            del processed[sid]  # marked passed but its record is gone: do it again
            self.repairs["passed_without_record"] += 1
        return processed

    def keep(self, seed_id: str, record: dict, generated: bool) -> None:
        """Append the record, then mark its seed (this order is what makes a kill safe)."""
        self._out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._out.flush()
        self._mark({"seed_id": seed_id, "status": PASSED, "generated": generated})

    def reject(self, seed_id: str, reason: str, outcome: Outcome) -> None:
        if outcome.detail or outcome.answer:  # (a bare reason, e.g. no_keyword, is in processed.jsonl)
            self._rej.write(json.dumps({"seed_id": seed_id, "reason": reason, "detail": outcome.detail[:1000],
                                        "answer": outcome.answer[:MAX_KEPT_ANSWER_CHARS]}, ensure_ascii=False) + "\n")
            self._rej.flush()
        self._mark({"seed_id": seed_id, "status": f"rejected/{reason}", "generated": outcome.generated})

    def _mark(self, row: dict) -> None:
        self._proc.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._proc.flush()
        self.processed[row["seed_id"]] = row

    def close(self) -> None:
        for f in (self._out, self._proc, self._rej):
            f.flush()
            os.fsync(f.fileno())
            f.close()


def write_document_shard(output_dir: str) -> int:
    """documents.jsonl -> documents-00000-of-00001.array_record (atomic; what tokenize reads)."""
    from opencoder_jax.data.array_record_file import write_local_atomic
    from opencoder_jax.document import to_bytes

    docs = _read_jsonl(os.path.join(output_dir, OUTPUT_FILES["documents"]))
    return write_local_atomic(os.path.join(output_dir, SHARD_NAME), (to_bytes(d) for d in docs))


def run(generator: Generator, output_dir: str, *, max_seeds: int | None = None, concurrency: int = 8,
        decontaminator: Any = None, progress: bool = True, max_consecutive_unavailable: int = 8,
        teacher: Any = None) -> dict:
    """Process the first `max_seeds` seeds of `generator` (all when None); returns stats.json."""
    from tqdm.auto import tqdm

    start = time.time()
    os.makedirs(output_dir, exist_ok=True)
    ledger = Ledger(output_dir, generator.kind)
    status: Counter = Counter()         # per seed of this run: "passed" / "rejected/<reason>"
    generated = 0
    resumed = 0
    seen: set[str] = set()
    consecutive = 0
    aborted = None
    bar = tqdm(total=max_seeds, desc=f"synth {generator.name}", unit="seed", disable=not progress, smoothing=0.05)

    def finish(seed: Seed, outcome: Outcome | None, error: BaseException | None) -> None:
        nonlocal generated, consecutive
        if error is not None:
            if isinstance(error, TeacherUnavailable):
                status[f"rejected/{UNAVAILABLE}"] += 1  # not marked: the next run retries it
                consecutive += 1
                if consecutive >= max_consecutive_unavailable:
                    raise TeacherUnavailable(f"{consecutive} seeds in a row got no answer ({error}); "
                                             "run again to resume once the endpoint is back")
                bar.update(1)
                return
            if isinstance(error, TeacherRejected):
                outcome = Outcome(reason="endpoint_rejected", detail=str(error))
            else:
                raise error
        consecutive = 0
        assert outcome is not None
        if outcome.reason is None and decontaminator is not None:
            hit = decontaminator.check(generator.record_text(outcome.record))
            if hit is not None:
                outcome = dataclasses.replace(outcome, reason=f"decontaminate/{hit.benchmark}",
                                              detail=f"{hit.kind}: {list(hit.task_ids)[:5]}", record=None)
        if outcome.reason is None and not _utf8_ok(outcome.record):
            outcome = dataclasses.replace(outcome, reason="invalid_unicode", record=None)
        generated += bool(outcome.generated)
        if outcome.reason is None:
            record = dict(outcome.record)
            record["meta"] = dict(record.get("meta") or {}, seed_id=seed.id)
            ledger.keep(seed.id, record, outcome.generated)
            status[PASSED] += 1
        else:
            ledger.reject(seed.id, outcome.reason, outcome)
            status[f"rejected/{outcome.reason}"] += 1
        bar.update(1)
        bar.set_postfix(passed=status[PASSED], rejected=sum(status.values()) - status[PASSED], refresh=False)

    def todo() -> Iterator[Seed]:
        """Seeds still to process; already-processed and repeated ones are counted here."""
        nonlocal resumed, generated
        for k, seed in enumerate(generator.seeds()):
            if max_seeds is not None and k >= max_seeds:
                return
            if seed.id in seen:
                status["rejected/duplicate_seed"] += 1
                bar.update(1)
                continue
            seen.add(seed.id)
            done = ledger.processed.get(seed.id)
            if done is not None:
                resumed += 1
                status[done["status"]] += 1
                generated += bool(done.get("generated"))
                bar.update(1)
                continue
            yield seed

    try:
        if concurrency <= 1:
            for seed in todo():
                try:
                    outcome, error = generator.process(seed), None
                except (TeacherUnavailable, TeacherRejected) as e:
                    outcome, error = None, e
                finish(seed, outcome, error)
        else:
            with concurrent.futures.ThreadPoolExecutor(concurrency, thread_name_prefix="synth") as pool:
                pending: dict[concurrent.futures.Future, Seed] = {}
                seeds = todo()
                exhausted = False
                try:
                    while True:
                        while not exhausted and len(pending) < 2 * concurrency:
                            seed = next(seeds, None)
                            if seed is None:
                                exhausted = True
                                break
                            pending[pool.submit(generator.process, seed)] = seed
                        if not pending:
                            break
                        done, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
                        for fut in done:
                            seed = pending.pop(fut)
                            error = fut.exception()
                            finish(seed, None if error else fut.result(), error)
                except BaseException:
                    for fut in pending:
                        fut.cancel()
                    raise
    except BaseException as e:  # TeacherConfigError, TeacherUnavailable, a bug, Ctrl-C: stats first
        aborted = f"{type(e).__name__}: {e}"
        raise
    finally:
        bar.close()
        ledger.close()
        if generator.kind == "documents":
            write_document_shard(output_dir)
        stats = _stats(generator, output_dir, status, generated, resumed, ledger, time.time() - start, aborted,
                       teacher)
        with open(os.path.join(output_dir, STATS_FILE + ".tmp"), "w", encoding="utf-8") as f:
            json.dump(stats, f, indent=2)
        os.replace(os.path.join(output_dir, STATS_FILE + ".tmp"), os.path.join(output_dir, STATS_FILE))
    return stats


def _stats(generator, output_dir, status: Counter, generated: int, resumed: int, ledger: Ledger, elapsed: float,
           aborted: str | None, teacher: Any) -> dict:
    rejected = {k[len("rejected/"):]: v for k, v in sorted(status.items()) if k.startswith("rejected/")}
    seeds = sum(status.values())
    out = {
        "generator": generator.name,
        "seeds": seeds,
        "generated": generated,
        "passed": status[PASSED],
        "rejected": rejected,
        "resumed": resumed,
        "conservation_ok": seeds == status[PASSED] + sum(rejected.values()),
        "output": ledger.output_path,
        "repairs": dict(ledger.repairs),
        "input": dict(getattr(generator, "input_stats", None) or {}),
        "elapsed_s": round(elapsed, 2),
    }
    if generator.kind == "documents":
        out["shard"] = os.path.join(output_dir, SHARD_NAME)
    if teacher is not None:
        out["teacher"] = getattr(teacher, "name", type(teacher).__name__)
        out["retried_requests"] = getattr(teacher, "retried", 0)
    if aborted:
        out["aborted"] = aborted
    out["config"] = generator.describe()
    return out
