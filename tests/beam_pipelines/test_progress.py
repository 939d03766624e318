"""LiveProgress: counts reach the driver from in-process and multi-process local runners
(tally files) and from distributed runners (Beam metrics polled while the job runs)."""
import io
from types import SimpleNamespace

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineState

from beam_pipelines.progress import LiveProgress, format_line


def test_format_line_hand_computed():
    line = format_line("refinecode", ["read/files", "preprocess/in", "preprocess/kept", "preprocess/dropped"],
                       {"read/files": 2600, "preprocess/in": 2600, "preprocess/kept": 2431,
                        "preprocess/dropped": 169}, elapsed_s=83.4)
    assert line == ("[refinecode 0:01:23] read 2,600 files | preprocess 2,600 in 2,431 kept 169 dropped"
                    " | 31 docs/s")


def _local_run(extra_args):
    stream = io.StringIO()
    progress = LiveProgress("job", "FnApiRunner", interval_s=0.05, stream=stream)
    p = beam.Pipeline(options=PipelineOptions(extra_args, runner="FnApiRunner"))
    numbers = p | beam.Create(range(1000))
    progress.count(numbers, "numbers/seen")
    progress.count(numbers | beam.Filter(lambda n: n % 3 == 0), "numbers/kept")
    progress.count(numbers, "sum/total", weight=lambda n: n)
    progress.run(p)
    assert progress.final_from == "tally files"  # what the workers wrote, not the end-of-job metrics
    return stream.getvalue().splitlines()


def test_in_process_counts_reach_the_driver():
    lines = _local_run([])
    assert lines[-1].split("] ", 1)[1].startswith("numbers 1,000 seen 334 kept | sum 499,500 total |")


def test_multi_process_workers_counts_reach_the_driver():
    lines = _local_run(["--direct_num_workers=2", "--direct_running_mode=multi_processing"])
    assert "numbers 1,000 seen 334 kept | sum 499,500 total |" in lines[-1]


class _FakeDistributedResult:
    """A job that runs for three polls, its counters growing, then finishes."""

    def __init__(self):
        self.polls = 0

    @property
    def state(self):
        self.polls += 1
        return PipelineState.DONE if self.polls > 3 else PipelineState.RUNNING

    def wait_until_finish(self, duration=None):
        return PipelineState.DONE

    def metrics(self):
        n = min(self.polls, 4) * 100
        key = SimpleNamespace(metric=SimpleNamespace(name="documents/read"))
        return SimpleNamespace(query=lambda f: {"counters": [SimpleNamespace(key=key, committed=n, attempted=n)]})


def test_distributed_runner_is_polled_through_metrics():
    stream = io.StringIO()
    progress = LiveProgress("recall", "DataflowRunner", interval_s=0.01, stream=stream)
    progress.counters.append("documents/read")
    result = _FakeDistributedResult()
    assert progress.run(SimpleNamespace(run=lambda: result)) is result
    counts = [int(line.split("documents ")[1].split(" read")[0].replace(",", "")) for line in stream.getvalue().splitlines()]
    assert len(counts) >= 3 and counts == sorted(counts) and counts[-1] == 400
