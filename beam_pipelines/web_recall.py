"""Beam graphs of code-related web recall (the driver is beam_pipelines/web_recall_main.py).

Two graphs, both over the same page reader:

  build_pool_pipeline   one pass before the rounds: counts input and bad pages and draws the
                        random pool of pages the negatives come from (the k smallest
                        `sample_rank`s: uniform and reproducible)
  build_round_pipeline  one pass per round: score every page with the round's fastText model
                        (a DoFn that loads it once per worker), recall P(code) >= threshold,
                        count pages and recalled pages per domain, mark code-related domains,
                        pull pages matching the URL annotations inside marked domains (the
                        next round's extra seeds); the last round also decontaminates the
                        recalled pages and writes them as `documents-*.array_record`.

Every input record is counted once: as a page that was scored, or as a drop by reason
(read/broken_jsonl, read/corrupt_file, page/no_url, page/no_text, page/invalid_utf8, ...;
score/fasttext_nan when fastText's predict meets a NaN).
Numbers leave the graph as summed (key, value) pairs under `_stats/` (beam_pipelines/stats.py).
"""
from __future__ import annotations

import gzip
import io
import json
import math
import os
import shutil
import tempfile

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from beam_pipelines.array_record_io import WriteToArrayRecord, match_files
from beam_pipelines.stage import in_global_window
from beam_pipelines.stats import stats_line
from opencoder_jax.document import to_bytes
from opencoder_jax.recall.classifier import CodeClassifier
from opencoder_jax.recall.domains import UrlPatterns, is_code_domain
from opencoder_jax.recall.pages import parse_page, sample_rank, to_document

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")
PARQUET_SUFFIXES = (".parquet",)
STATS_PREFIX = "_stats/recall"
SCORE_BINS = 20  # score histogram bins over [0, 1]


def _key(*parts) -> str:
    return json.dumps(list(parts), ensure_ascii=False)


# ----------------------------------------------------------------------------- reading
def page_files(inputs: list[str]) -> list[tuple[str, str]]:
    """Inputs (files, globs, directories) -> sorted ("jsonl"|"parquet", path) read tasks."""
    tasks = []
    for spec in inputs:
        if "://" not in spec and os.path.isdir(spec):
            paths = [p for pattern in ("*.jsonl", "*.jsonl.gz", "*.json.gz", "*.ndjson", "*.parquet")
                     for p in match_files(os.path.join(spec, pattern))]
        else:
            paths = match_files(spec)
        if not paths:
            raise FileNotFoundError(f"web input {spec!r} matches no JSONL/Parquet files")
        for path in paths:
            lower = path.lower()
            if lower.endswith(JSONL_SUFFIXES):
                tasks.append(("jsonl", path))
            elif lower.endswith(PARQUET_SUFFIXES):
                tasks.append(("parquet", path))
            else:
                raise ValueError(f"web input {path!r}: expected *.jsonl[.gz] or *.parquet with url and text")
    return sorted(set(tasks))


def _jsonl_records(path):
    """(record | reason) per line; a corrupt compressed tail is one read/corrupt_file."""
    try:
        with FileSystems.open(path, compression_type="uncompressed") as raw:
            stream = gzip.GzipFile(fileobj=raw) if path.lower().endswith(".gz") else raw
            stream = stream if hasattr(stream, "readline") else io.BufferedReader(stream)
            for line in stream:
                if not line.strip():
                    continue
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError:
                    yield "page/invalid_utf8"
                    continue
                try:
                    record = json.loads(text)
                except ValueError:
                    record = None
                yield record if isinstance(record, dict) else "read/broken_jsonl"
    except (OSError, EOFError, gzip.BadGzipFile, ValueError):
        yield "read/corrupt_file"


def _parquet_records(path):
    import pyarrow.parquet as pq

    try:
        handle = FileSystems.open(path, compression_type="uncompressed")
        pf = pq.ParquetFile(handle)
    except Exception:  # noqa: BLE001 - an unreadable file is one counted drop
        yield "read/corrupt_parquet_file"
        return
    with handle:
        columns = [c for c in pf.schema_arrow.names if c in ("url", "URL", "uri", "text", "content", "raw_content")]
        for group in range(pf.num_row_groups):
            try:
                rows = pf.read_row_group(group, columns=columns or None).to_pylist()
            except Exception:  # noqa: BLE001 - one drop per lost row keeps the count exact
                yield from ["read/corrupt_parquet_rows"] * pf.metadata.row_group(group).num_rows
                continue
            yield from rows


class _ReadPageFile(beam.DoFn):
    """A read task -> pages (main) and summed-count pairs ("stats")."""

    def process(self, task):
        kind, path = task
        records = _jsonl_records(path) if kind == "jsonl" else _parquet_records(path)
        counts: dict[str, int] = {}  # summed per file: one stats pair per reason, not per record
        for record in records:
            counts[_key("input")] = counts.get(_key("input"), 0) + 1
            page = parse_page(record) if isinstance(record, dict) else record
            if isinstance(page, str):
                counts[_key("dropped", page)] = counts.get(_key("dropped", page), 0) + 1
                continue
            page["input"] = path
            yield page
        for kv in counts.items():
            yield beam.pvalue.TaggedOutput("stats", kv)


class ReadPages(beam.PTransform):
    """Read tasks -> {"pages": PCollection[page], "stats": PCollection[(key, count)]}."""

    def __init__(self, tasks: list[tuple[str, str]]):
        super().__init__()
        self._tasks = list(tasks)

    def expand(self, pbegin):
        read = (pbegin
                | "Files" >> beam.Create(self._tasks)
                | "Reshuffle" >> beam.Reshuffle()
                | "Read" >> beam.ParDo(_ReadPageFile()).with_outputs("stats", main="pages"))
        return {"pages": read.pages, "stats": read.stats}


def write_stats(stats_pcolls, output_dir: str, label: str = "Stats"):
    return (tuple(stats_pcolls)
            | f"{label}Flatten" >> beam.Flatten()
            | f"{label}Sum" >> beam.CombinePerKey(sum)
            | f"{label}Json" >> beam.MapTuple(stats_line)
            | f"{label}Write" >> beam.io.WriteToText(output_dir.rstrip("/") + "/" + STATS_PREFIX,
                                                    file_name_suffix=".jsonl", num_shards=1))


def _page_json(page: dict) -> str:
    return json.dumps({k: page[k] for k in ("id", "url", "domain", "text")}, ensure_ascii=False)


# ----------------------------------------------------------------------------- the pool pass
def build_pool_pipeline(pipeline, tasks: list[tuple[str, str]], output_dir: str, pool_size: int, seed: int):
    """Count the input and write `pool-*.jsonl`: `pool_size` random pages, rank order."""
    read = pipeline | "ReadPages" >> ReadPages(tasks)
    _ = (read["pages"]
         | "Rank" >> beam.Map(lambda p: (sample_rank(p["id"], seed), _page_json(p)))
         | "Smallest" >> beam.combiners.Top.Smallest(max(1, pool_size))
         | "Unpack" >> beam.FlatMap(lambda ranked: [line for _, line in ranked])
         | "WritePool" >> beam.io.WriteToText(output_dir.rstrip("/") + "/pool", file_name_suffix=".jsonl",
                                              num_shards=1))
    scored = read["pages"] | "CountPages" >> beam.Map(lambda _: (_key("pages"), 1))
    write_stats([read["stats"], scored], output_dir)


# ----------------------------------------------------------------------------- a round
def _local_model(path: str) -> tuple[str, bool]:
    """fastText loads local files only: copy a remote model into a temporary file."""
    if "://" not in path:
        return path, False
    fd, local = tempfile.mkstemp(suffix=".bin")
    with os.fdopen(fd, "wb") as dst, FileSystems.open(path) as src:
        shutil.copyfileobj(src, dst, 16 << 20)
    return local, True


class ScorePages(beam.DoFn):
    """page -> (page, P(code)); the model is loaded once per worker in `setup`.

    The counts (scored, recalled, the score histogram) are summed per bundle and leave on
    the "stats" output in `finish_bundle`: a few pairs per bundle instead of four per page
    (measured in benchmarks/recall.py)."""

    def __init__(self, model_path: str, segmenter, max_chars: int, threshold: float):
        self._model_path = model_path
        self._segmenter = segmenter
        self._max_chars = max_chars
        self._threshold = threshold
        self._classifier = None

    def setup(self):
        local, is_copy = _local_model(self._model_path)
        try:
            self._classifier = CodeClassifier.load(local, self._segmenter, self._max_chars)
        finally:
            if is_copy:
                os.remove(local)

    def start_bundle(self):
        self._counts: dict[str, int] = {}

    def _add(self, key: str, n: int = 1) -> None:
        self._counts[key] = self._counts.get(key, 0) + n

    def process(self, page):
        p = self._classifier.probability(page["text"])
        if math.isnan(p):  # fastText "Encountered NaN": a counted drop, not a crash
            self._add(_key("dropped", "score/fasttext_nan"))
            return
        recalled = p >= self._threshold
        self._add(_key("scored"))
        self._add(_key("recalled" if recalled else "not_recalled"))
        self._add(_key("score_hist", min(int(p * SCORE_BINS), SCORE_BINS - 1)))
        if recalled:
            self._add(_key("recalled_bytes"), len(page["text"].encode("utf-8")))
        yield page, p

    def finish_bundle(self):
        for kv in self._counts.items():
            yield beam.pvalue.TaggedOutput("stats", in_global_window(kv))
        self._counts = {}


class Decontaminate(beam.DoFn):
    """(page, score) -> (page, score) unless it holds a benchmark item ("stats": the drops)."""

    def __init__(self, config):
        self._config = config
        self._decontaminator = None

    def setup(self):
        from opencoder_jax.refinecode.decontam import Decontaminator

        self._decontaminator = Decontaminator(self._config)

    def process(self, scored):
        hit = self._decontaminator.check(scored[0]["text"])
        if hit is not None:
            yield beam.pvalue.TaggedOutput("stats", (_key("dropped", f"decontaminate/{hit.benchmark}"), 1))
            return
        yield scored


def _pull_marked(element):
    _, grouped = element
    if grouped["marked"]:
        yield from grouped["pages"]


def build_round_pipeline(pipeline, tasks: list[tuple[str, str]], round_dir: str, model_path: str, segmenter,
                         config, round_index: int, documents_dir: str | None = None,
                         decontam_config=None) -> None:
    """One round. `documents_dir` set (the last round): also write the recalled documents."""
    threshold, share, min_pages = config.threshold, config.domain_share, config.min_domain_pages
    read = pipeline | "ReadPages" >> ReadPages(tasks)
    scoring = read["pages"] | "Score" >> beam.ParDo(
        ScorePages(model_path, segmenter, config.max_chars, threshold)).with_outputs("stats", main="scored")
    scored = scoring.scored
    stats = [read["stats"], scoring.stats]

    # domain discovery: (pages, recalled) per domain; more than `share` recalled -> marked
    per_domain = (scored
                  | "ByDomain" >> beam.Map(lambda s: (s[0]["domain"], (1, int(s[1] >= threshold))))
                  | "SumDomain" >> beam.CombinePerKey(beam.combiners.TupleCombineFn(sum, sum)))
    marked = per_domain | "Marked" >> beam.Filter(lambda kv: is_code_domain(kv[1][0], kv[1][1], share, min_pages))
    stats.append(per_domain | "DomainCount" >> beam.Map(lambda _: (_key("domains"), 1)))
    stats.append(marked | "MarkedCount" >> beam.Map(lambda _: (_key("code_domains"), 1)))
    _ = (marked
         | "MarkedJson" >> beam.MapTuple(lambda d, c: json.dumps(
             {"domain": d, "pages": c[0], "recalled": c[1], "share": c[1] / c[0]}, ensure_ascii=False))
         | "WriteMarked" >> beam.io.WriteToText(round_dir.rstrip("/") + "/code_domains", file_name_suffix=".jsonl",
                                                num_shards=1))

    # URL annotation: pages matching a pattern inside a marked domain join the seed
    patterns = UrlPatterns(config.url_patterns)
    if patterns:
        candidates = (scored
                      | "MatchUrl" >> beam.Filter(lambda s: patterns.matches(s[0]["url"]))
                      | "CandidateByDomain" >> beam.Map(lambda s: (s[0]["domain"], s[0])))
        pulled = ({"pages": candidates, "marked": marked}
                  | "JoinMarked" >> beam.CoGroupByKey()
                  | "PullMarked" >> beam.FlatMap(_pull_marked))
    else:
        pulled = pipeline | "NoPatterns" >> beam.Create([])
    stats.append(pulled | "PulledCount" >> beam.Map(lambda _: (_key("pulled"), 1)))
    _ = (pulled
         | "PulledJson" >> beam.Map(_page_json)
         | "WritePulled" >> beam.io.WriteToText(round_dir.rstrip("/") + "/pulled", file_name_suffix=".jsonl"))

    if documents_dir is not None:
        recalled = scored | "Recalled" >> beam.Filter(lambda s: s[1] >= threshold)
        if decontam_config is not None:
            clean = recalled | "Decontaminate" >> beam.ParDo(Decontaminate(decontam_config)).with_outputs(
                "stats", main="pages")
            stats.append(clean.stats)
            recalled = clean.pages
        docs = recalled | "ToDocument" >> beam.MapTuple(
            lambda page, p: to_document(page, p, round_index, page.get("input", "")))
        stats.append(docs | "KeptCount" >> beam.Map(lambda _: (_key("kept"), 1)))
        _ = (docs
             | "KeyById" >> beam.Map(lambda d: (d["id"], to_bytes(d)))
             | "WriteDocuments" >> WriteToArrayRecord(documents_dir.rstrip("/") + "/documents", config.num_shards,
                                                      keyed=True))
    write_stats(stats, round_dir)
