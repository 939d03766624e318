"""Live progress of a Beam job: one line per interval on stderr while the pipeline runs.

    progress = LiveProgress("refinecode", runner)        # in the driver, before building
    progress.count(pcoll, "preprocess/in")               # a counting leaf on any PCollection
    result = progress.run(pipeline)                      # instead of pipeline.run().wait_until_finish()

prints, every `interval_s` seconds and once more at the end,

    [refinecode 0:01:23] preprocess 2,600 in 2,431 kept 169 dropped | filter ... | 31 docs/s

Counter names are "<group>/<kind>"; a line shows the groups and kinds in the order they were
registered, and the rate of the first counter registered.

Two channels carry the counts (every counting DoFn feeds both):
  * local runners (FnApiRunner, also with --direct_num_workers=N): `pipeline.run()` blocks and
    the runner reports Beam metrics only when it returns, so each process also keeps a tally
    and writes it, at most every FLUSH_S seconds and at each bundle's end, to
    `<progress dir>/<pid>.json` on this machine; a driver thread sums those files;
  * distributed runners (Dataflow, Flink, Spark): `run()` returns at once; the driver polls
    `result.metrics()` (Beam counters, namespace = the job name) until the job ends, where the
    runner reports them.
"""
from __future__ import annotations

import datetime
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from typing import Callable, TextIO

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "PrismRunner", "InteractiveRunner", "BundleBasedDirectRunner")
FLUSH_S = 0.5  # how often a worker process rewrites its tally file (at most)

# Per-process tallies of the counting DoFns: {progress dir: {counter: n}}.
_TALLIES: dict[str, dict[str, int]] = {}
_LAST_FLUSH: dict[str, float] = {}
_LOCK = threading.Lock()


def _flush(progress_dir: str) -> None:
    """Write this process's tally for `progress_dir` atomically (caller holds _LOCK)."""
    path = os.path.join(progress_dir, f"{os.getpid()}.json")
    tmp = f"{path}.{threading.get_ident()}.tmp"
    try:
        with open(tmp, "w") as f:
            json.dump(_TALLIES.get(progress_dir, {}), f)
        os.replace(tmp, path)
    except OSError:
        pass  # progress is best effort: never fail the job over it
    _LAST_FLUSH[progress_dir] = time.monotonic()


def _add(progress_dir: str, counter: str, n: int, force_flush: bool = False) -> None:
    with _LOCK:
        tally = _TALLIES.setdefault(progress_dir, {})
        tally[counter] = tally.get(counter, 0) + n
        if force_flush or time.monotonic() - _LAST_FLUSH.get(progress_dir, 0.0) >= FLUSH_S:
            _flush(progress_dir)


class CountElements(beam.DoFn):
    """A leaf that counts the elements of a PCollection into a Beam counter (and the local tally)."""

    def __init__(self, namespace: str, counter: str, progress_dir: str | None,
                 weight: Callable | None = None):
        self._namespace = namespace
        self._counter = counter
        self._dir = progress_dir
        self._weight = weight  # element -> amount (e.g. tokens of a record); default 1

    def setup(self):
        self._metric = Metrics.counter(self._namespace, self._counter)
        self._dirty = False

    def start_bundle(self):
        self._dirty = False

    def process(self, element):
        n = 1 if self._weight is None else int(self._weight(element))
        self._metric.inc(n)
        if self._dir is not None:
            _add(self._dir, self._counter, n)
            self._dirty = True
        return ()

    def finish_bundle(self):
        if self._dir is not None and self._dirty:
            with _LOCK:
                _flush(self._dir)


def read_local_counts(progress_dir: str) -> dict[str, int]:
    """Sum of the tally files every worker process wrote under `progress_dir`."""
    total: dict[str, int] = {}
    try:
        names = os.listdir(progress_dir)
    except OSError:
        return total
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(progress_dir, name)) as f:
                counts = json.load(f)
        except (OSError, ValueError):
            continue  # being replaced right now: the next poll reads it
        for key, value in counts.items():
            total[key] = total.get(key, 0) + int(value)
    return total


def metrics_counts(result, namespace: str) -> dict[str, int]:
    """Counters of `namespace` from a running or finished job (committed where reported)."""
    try:
        counters = result.metrics().query(MetricsFilter().with_namespace(namespace))["counters"]
    except Exception:  # noqa: BLE001 - some runners report no metrics while running
        return {}
    total: dict[str, int] = {}
    for c in counters:
        value = c.committed if c.committed is not None else c.attempted
        total[c.key.metric.name] = total.get(c.key.metric.name, 0) + int(value or 0)
    return total


def format_line(job: str, counters: list[str], counts: dict[str, int], elapsed_s: float,
                rate_unit: str = "docs/s") -> str:
    """'[job 0:01:23] group N kind N kind | group ... | R docs/s' in registration order."""
    groups: dict[str, list[str]] = {}
    for name in counters:
        group, _, kind = name.partition("/")
        groups.setdefault(group, []).append(kind)
    parts = []
    for group, kinds in groups.items():
        parts.append(group + " " + " ".join(f"{counts.get(f'{group}/{k}', 0):,} {k}".rstrip() for k in kinds))
    clock = str(datetime.timedelta(seconds=int(elapsed_s)))
    rate = counts.get(counters[0], 0) / elapsed_s if counters and elapsed_s > 0 else 0.0
    parts.append(f"{rate:,.0f} {rate_unit}" if rate >= 10 else f"{rate:.1f} {rate_unit}")
    return f"[{job} {clock}] " + " | ".join(parts)


class LiveProgress:
    """Counting leaves for a pipeline being built, and the driver loop that prints them."""

    def __init__(self, job: str, runner: str = "FnApiRunner", interval_s: float = 5.0,
                 stream: TextIO | None = None, rate_unit: str = "docs/s"):
        self.job = job
        self.interval_s = max(float(interval_s), 0.05)
        self._stream = stream
        self._rate_unit = rate_unit
        self._local = runner in LOCAL_RUNNERS
        self._dir = tempfile.mkdtemp(prefix=f"opencoder-{job}-progress-") if self._local else None
        self.counters: list[str] = []
        self.started = time.time()  # the clock of every line: the job starts when it is built
        self.lines: list[str] = []  # every line printed (the last one holds the final counts)

    def count(self, pcoll, counter: str, weight: Callable | None = None) -> None:
        """Count the elements (or `weight(element)`) of `pcoll` into `counter` ("group/kind")."""
        if counter in self.counters:
            raise ValueError(f"progress counter {counter!r} registered twice")
        self.counters.append(counter)
        _ = pcoll | f"Progress[{counter}]" >> beam.ParDo(
            CountElements(self.job, counter, self._dir, weight))

    def _print(self, counts: dict[str, int], elapsed: float) -> None:
        line = format_line(self.job, self.counters, counts, elapsed, self._rate_unit)
        self.lines.append(line)
        print(line, file=self._stream or sys.stderr, flush=True)

    def run(self, pipeline):
        """pipeline.run() + wait, printing progress meanwhile; returns the PipelineResult."""
        start = self.started
        stop = threading.Event()
        poller = None
        if self._local:
            def poll():
                while not stop.wait(self.interval_s):
                    self._print(read_local_counts(self._dir), time.time() - start)

            poller = threading.Thread(target=poll, name=f"{self.job}-progress", daemon=True)
            poller.start()
        try:
            result = pipeline.run()  # local runners return here only when the job is done
            if not self._local:
                while not _terminal(result):
                    time.sleep(self.interval_s)
                    self._print(metrics_counts(result, self.job), time.time() - start)
            result.wait_until_finish()
        finally:
            stop.set()
            if poller is not None:
                poller.join()
        final = (read_local_counts(self._dir) if self._local else {})
        self.final_from = "tally files"
        if not final:  # distributed, or a local runner whose workers wrote no files
            final = metrics_counts(result, self.job)
            self.final_from = "beam metrics"
        self._print(final, time.time() - start)
        self.close()
        return result

    def close(self) -> None:
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            with _LOCK:
                _TALLIES.pop(self._dir, None)
                _LAST_FLUSH.pop(self._dir, None)


def _terminal(result) -> bool:
    from apache_beam.runners.runner import PipelineState

    return PipelineState.is_terminal(result.state)
