"""The bounded-memory dedup graph: same outputs as the in-memory joins on the whole pipeline
(file and repo level), and a run's memory does not follow the documents' text.

(The stage-level equivalence on every existing dedup test lives in test_exact_dedup.py and
test_fuzzy_dedup.py, whose `run` helpers run both graphs and compare.)"""
import filecmp
import glob
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from opencoder_jax import cli


def _source(module) -> str:
    with open(module.__file__, encoding="utf-8") as f:
        return f.read()


def _tree(root):
    """Repositories of real source files: an exact copy (beta = alpha), a shared file, a near
    copy (one word changed) and unique files."""
    import json.decoder
    import json.encoder
    import textwrap as tw

    decoder, encoder, wrap = _source(json.decoder), _source(json.encoder), _source(tw)
    a = root / "tree" / "alpha"
    (a / "pkg").mkdir(parents=True)
    (a / "pkg" / "decoder.py").write_text(decoder)
    (a / "pkg" / "encoder.py").write_text(encoder)
    (a / "tiny.py").write_text("x=1\n")
    shutil.copytree(a, root / "tree" / "beta")
    g = root / "tree" / "gamma"
    g.mkdir()
    (g / "decoder.py").write_text(decoder)  # shares one file with alpha
    (g / "encoder_fork.py").write_text(encoder.replace("Extensible", "Extendable", 1))  # near copy
    (g / "wrap.py").write_text(wrap)
    return str(root / "tree")


def _outputs(out):
    stats = json.load(open(os.path.join(out, "stats.json")))
    for key in ("elapsed_s", "report", "outputs"):
        stats.pop(key, None)
    with open(os.path.join(out, "drop_examples.jsonl")) as f:
        examples = sorted(f.read().splitlines())
    samples = {}
    for path in sorted(glob.glob(os.path.join(out, "dedup", "*.jsonl"))):
        with open(path) as f:
            samples[os.path.basename(path)] = sorted(f.read().splitlines())
    return stats, examples, samples


@pytest.mark.parametrize("level,stages", [("file", None), ("repo", "preprocess,exact_dedup,fuzzy_dedup")])
def test_whole_pipeline_same_as_in_memory_dedup(tmp_path, level, stages):
    tree = _tree(tmp_path)
    runs = {}
    for mode in ("in_memory", "streaming"):
        out = str(tmp_path / mode)
        args = ["data", "refinecode", "--input", tree, "--output", out, "--num_shards", "3", "--no_report",
                "--dedup_level", level, "--gin_param", f"RefinecodeConfig.dedup = '{mode}'"]
        if stages:
            args += ["--stages", stages]
        assert cli.main(args) == 0
        runs[mode] = out
    memory, streaming = _outputs(runs["in_memory"]), _outputs(runs["streaming"])
    assert streaming == memory
    assert memory[0]["conservation_ok"] and memory[0]["dropped_by_stage"]["exact_dedup"] >= 3
    if level == "file":  # (at repo level no repository is a near copy of another)
        assert memory[0]["dropped_by_stage"]["fuzzy_dedup"] >= 1 and memory[0]["kept"] >= 2
    shards = sorted(os.path.basename(p) for p in glob.glob(os.path.join(runs["in_memory"], "documents-*")))
    assert len(shards) == 3
    for name in shards:  # the sorted-runs sink writes byte-identical shards
        assert filecmp.cmp(os.path.join(runs["in_memory"], name), os.path.join(runs["streaming"], name), shallow=False)
    assert not os.path.exists(os.path.join(runs["streaming"], "_tmp", "dedup_spool"))  # the spool is gone
    assert not os.path.exists(os.path.join(runs["streaming"], "documents.runs"))  # and the sink's runs


_MEMORY_PROBE = textwrap.dedent('''
    import json, resource, sys
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from beam_pipelines.stage import StageContext
    from beam_pipelines.streaming_dedup import StreamingDedup
    from opencoder_jax.document import make_document
    from opencoder_jax.refinecode.dedup_config import ExactDedupConfig, FuzzyDedupConfig

    N, WORD = int(sys.argv[2]), 1000   # N documents of ~1 MB: 1000 words of 1000 characters

    def make_doc(i):
        base = i - i % 3       # in each group of three: an original, a near copy, an exact copy
        words = [(f"w{base}x{k}y" * 200)[:999] for k in range(WORD)]
        if i % 3 == 1:
            words[0] = "changed"
        text = " ".join(words)
        return make_document(repo=f"r{i}", path="big.py", text=text, content=text.encode(),
                             language="Python", lang_type="programming", stars=i)

    def rss_mb():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024

    out = sys.argv[1]
    before = rss_mb()
    with beam.Pipeline(options=PipelineOptions(flags=[], runner="FnApiRunner")) as p:
        docs = p | beam.Create(list(range(N))) | beam.Map(make_doc)
        result = docs | StreamingDedup(("exact_dedup", "fuzzy_dedup"), StageContext(out, out + "/_tmp"),
                                       ExactDedupConfig(sample_clusters=0),
                                       FuzzyDedupConfig(num_perm=64, num_bands=8, rows_per_band=8, batch_size=4,
                                                        sample_clusters=0),
                                       spool_buffer_bytes=16 << 20)
        counts = [result["kept"] | "K" >> beam.combiners.Count.Globally(),
                  result["dropped"] | "D" >> beam.combiners.Count.Globally()]
        (counts | beam.Flatten() | beam.combiners.ToList()
         | beam.Map(lambda c: open(out + "/counts.json", "w").write(json.dumps(sorted(c)))))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"before_mb": before, "peak_mb": peak, "text_mb": N * WORD * 1000 / 2**20}))
''')


# glibc raises its mmap threshold after the first large free, so later 1 MB strings come from
# per-thread heaps that keep their high-water mark: RSS then measures the allocator, not what
# is alive. A fixed threshold maps and unmaps every large block, so the peak shows live data.
FIXED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_ARENA_MAX": "2"}


def _probe(out_dir, n: int) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.makedirs(out_dir, exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(out_dir), str(n)], capture_output=True,
                          text=True, cwd=root, env={**os.environ, "PYTHONPATH": root, **FIXED_MALLOC}, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = json.loads(proc.stdout.strip().splitlines()[-1])
    m["kept"], m["dropped"] = sorted(json.load(open(os.path.join(out_dir, "counts.json"))))
    m["growth_mb"] = m["peak_mb"] - m["before_mb"]
    return m


def test_memory_does_not_follow_document_text(tmp_path):
    """~300 MB of text (300 documents of 1 MB) through both dedup stages: the peak grows by
    little more than for 3 such documents (the runner's own ~170 MB), while any grouping of
    the documents (the in-memory joins) would hold all 300 MB. What a worker does hold: one
    spool buffer, one read chunk, one sketch batch with its shingles (~5x the batch's text
    for word 5-grams): bounded, and set small here."""
    small, big = _probe(tmp_path / "small", 3), _probe(tmp_path / "big", 300)
    assert (big["kept"], big["dropped"]) == (100, 200)  # copies and near copies removed
    assert (small["kept"], small["dropped"]) == (1, 2)
    assert big["growth_mb"] - small["growth_mb"] < 0.3 * big["text_mb"], (small, big)
