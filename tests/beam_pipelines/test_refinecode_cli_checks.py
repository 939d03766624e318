"""`opencoder data refinecode` command-line mistakes are one-line errors (exit 2); a run shows
live progress lines and warns about empty inputs; sizes are printed in MiB like report.html."""
import json
import re

import pytest

from beam_pipelines.refinecode_main import format_summary
from opencoder_jax import cli
from opencoder_jax.report import plots


def _tree(root):
    for repo in ("alpha", "beta"):
        (root / repo).mkdir(parents=True)
        for i in range(4):
            (root / repo / f"m{i}.py").write_text(
                f"def compute_{i}(values):\n    total = 0\n    for v in values:\n        total += v * {i}\n"
                f"    return total\n\n\nprint(compute_{i}([1, 2, 3]))\n")
    (root / "alpha" / "data.bin").write_bytes(b"\x00\x01\x02" * 50)  # dropped by preprocess
    return str(root)


@pytest.mark.parametrize("args, message", [
    (["--gin_param", "garbage"], "--gin_param 'garbage'"),
    (["--gin_param", "FuzzyDedupConfig.num_bands="], "Unable to parse value"),
    (["--gin_param", "FuzzyDedupConfig.num_bands='many'"], "FuzzyDedupConfig.num_bands = 'many': expected int"),
    (["--gin_param", "FuzzyDedupConfig.num_bands=2.5"], "expected int, got float"),
    (["--gin_param", "NoSuchConfig.x = 1"], "No configurable matching 'NoSuchConfig'"),
    (["--stages", ""], "no stages selected"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--workers", "-3"], "--workers must be at least 1"),
])
def test_bad_flags_are_one_line_errors(tmp_path, capsys, args, message):
    rc = cli.main(["data", "refinecode", "--input", _tree(tmp_path / "in"), "--output", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert rc == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("opencoder: error:"), err
    assert message in lines[0]
    assert not (tmp_path / "out" / "stats.json").exists()


def test_progress_lines_and_empty_input_warning(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    out = tmp_path / "out"
    rc = cli.main(["data", "refinecode", "--input", _tree(tmp_path / "in"), str(empty), "--output", str(out),
                   "--stages", "preprocess,exact_dedup", "--no_report", "--num_shards", "1",
                   "--progress_every", "0.05"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err[-2000:]
    stats = json.loads((out / "stats.json").read_text())
    lines = [line for line in captured.err.splitlines() if line.startswith("[refinecode ")]
    assert lines, captured.err[-2000:]
    # The last line holds the final counts, equal to stats.json's.
    last = lines[-1]
    assert re.match(r"\[refinecode \d+:\d\d:\d\d\] read ", last), last
    pre = stats["funnel"][1]["documents"]
    assert f"read {stats['input']:,} files 0 dropped" in last
    assert f"preprocess {stats['input']:,} in {pre:,} kept {stats['dropped_by_stage']['preprocess']:,} dropped" in last
    assert f"dedup {pre:,} in {stats['kept']:,} kept" in last
    # both dedup stages run as one transform; each one's drops are still shown apart
    assert f"exact_dedup {stats['dropped_by_stage'].get('exact_dedup', 0):,} dropped" in last
    assert "docs/s" in last
    # The zero-byte JSONL input is named in the summary and in stats.json.
    assert any("empty.jsonl is empty (0 bytes): nothing was read from it" in w for w in stats["warnings"])
    assert "warning  : input" in captured.out and "empty.jsonl" in captured.out


def test_nothing_read_is_a_warning(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    rc = cli.main(["data", "refinecode", "--input", str(empty), "--output", str(tmp_path / "out"),
                   "--stages", "preprocess", "--no_report", "--num_shards", "1", "--progress_every", "0"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err[-2000:]
    assert "nothing was read: the inputs hold no files or records" in captured.out
    assert "[refinecode " not in captured.err  # --progress_every 0: no progress lines


def test_one_byte_unit_everywhere():
    mib5 = 5 * 2 ** 20
    assert plots.human_bytes(mib5) == "5.0 MiB" and plots.human_bytes(1536) == "1.5 KiB"
    stats = {"elapsed_s": 1.0, "runner": "FnApiRunner", "input": 2, "kept": 1, "dropped_total": 1,
             "funnel": [{"stage": "input", "documents": 2, "bytes": mib5}, {"stage": "filter", "documents": 1, "bytes": mib5}],
             "dropped": {"filter/x": 1}, "per_language": {"python": {"documents": 1, "bytes": mib5}}}
    text = format_summary(stats, "/tmp/x")
    assert "5.00 MiB" in text and " MB" not in text and "5.24" not in text


def test_local_runs_default_to_every_core(monkeypatch):
    from beam_pipelines import refinecode_main

    monkeypatch.delenv(refinecode_main.WORKERS_ENV, raising=False)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.setattr(refinecode_main.os, "cpu_count", lambda: 6)
    assert refinecode_main.default_local_workers() == 6
    assert refinecode_main.local_worker_args("FnApiRunner", 6, []) == [
        "--direct_num_workers=6", "--direct_running_mode=multi_processing"]
    assert refinecode_main.os.environ["MALLOC_ARENA_MAX"] == "2"  # inherited by the SDK workers
    monkeypatch.setenv(refinecode_main.WORKERS_ENV, "2")
    assert refinecode_main.default_local_workers() == 2
    monkeypatch.setenv(refinecode_main.WORKERS_ENV, "0")
    with pytest.raises(ValueError, match="at least 1"):
        refinecode_main.default_local_workers()


def test_overwrite_removes_a_crashed_runs_dedup_spool(tmp_path):
    out = tmp_path / "out"
    leftover = out / "_tmp" / "dedup_spool" / "abc123" / "spool-0.array_record"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half-written spool of a killed run")
    args = ["data", "refinecode", "--input", _tree(tmp_path / "tree"), "--output", str(out),
            "--stages", "preprocess", "--no_report", "--progress_every", "0"]
    assert cli.main(args) == 2  # a crashed run's leftovers are a run's results: refused
    assert cli.main([*args, "--overwrite"]) == 0
    assert not leftover.exists()
