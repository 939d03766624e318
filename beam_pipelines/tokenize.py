"""`opencoder data tokenize`: document shards -> token-id shards.

  opencoder data tokenize --input DIR [DIR ...] --vocab DIR --output DIR [beam options]

Reads `DIR/documents-*.array_record` (one UTF-8 JSON document per record, see
opencoder_jax/document.py) and writes `OUTPUT/tokens-SSSSS-of-NNNNN.array_record`: one record
per document, its token ids as little-endian uint32 with eos appended. Documents are encoded
in batches by tensorflow_text inside a DoFn whose vocabulary (model bytes included) is
loaded once per worker, so any Beam runner works (unknown flags pass through as pipeline
options: --runner DataflowRunner --project ... etc.).

Every input record is written or dropped exactly once, by reason:
  tokenize/corrupt_record    not a JSON document with a string "text"
  tokenize/invalid_unicode   text holds lone surrogates (no UTF-8 spelling)
  tokenize/empty             zero-length text
  tokenize/encode_error      the tokenizer raised on this document
stats.json: documents, kept, tokens (eos included), tokens/documents/bytes per language,
dropped by reason, conservation_ok, and the vocabulary's facts.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time

import apache_beam as beam
import gin
import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from beam_pipelines.array_record_io import ReadFromArrayRecord, WriteToArrayRecord, match_files
from beam_pipelines.output_dir import prepare_output_dir
from beam_pipelines.progress import LiveProgress
from beam_pipelines.stats import read_stats_pairs, stats_line
from opencoder_jax import config as gin_config

STAGE = "tokenize"
DOCUMENT_GLOB = "documents-*.array_record"
TOKENS_PREFIX = "tokens"
STATS_PREFIX = "_stats/tokenize"
TOKEN_DTYPE = np.dtype("<u4")  # little-endian uint32
OUR_FILES = ("tokens-", "tokens.json", "stats.json", "config.gin")
METADATA_FILE = "tokens.json"  # which tokenizer made the shards (read by opencoder_jax/data/token_shards.py)
DEFAULT_GIN = ("tokenizer/tokenize.gin",)


@gin.configurable
@dataclasses.dataclass(frozen=True)
class TokenizeConfig:
    num_shards: int = 8  # output token shards
    batch_size: int = 256  # documents per tensorflow_text call
    append_eos: bool = True


def _key(*parts) -> str:
    return json.dumps(list(parts), ensure_ascii=False)


def _drop(reason: str, language: str = "unknown"):
    return [(_key("dropped", f"{STAGE}/{reason}"), 1), (_key("dropped_by_language", f"{STAGE}/{reason}", language), 1)]


class ParseDocuments(beam.DoFn):
    """bytes -> (text, language) for the encoder, or counted drops on the "stats" output."""

    def process(self, record):
        yield beam.pvalue.TaggedOutput("stats", (_key("input", "documents"), 1))
        try:
            doc = json.loads(record.decode("utf-8"))
            text = doc["text"]
            if not isinstance(text, str):
                raise TypeError("text is not a string")
            language = doc.get("language") or "unknown"
            if not isinstance(language, str):
                language = str(language)
        except Exception:  # noqa: BLE001 - every unreadable record is one counted drop
            for kv in _drop("corrupt_record"):
                yield beam.pvalue.TaggedOutput("stats", kv)
            return
        if not text:
            for kv in _drop("empty", language):
                yield beam.pvalue.TaggedOutput("stats", kv)
            return
        try:
            n_bytes = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            for kv in _drop("invalid_unicode", language):
                yield beam.pvalue.TaggedOutput("stats", kv)
            return
        yield text, language, n_bytes


class EncodeBatches(beam.DoFn):
    """[(text, language, bytes)] -> uint32 LE records (main) and stats pairs ("stats")."""

    def __init__(self, vocabulary, append_eos: bool):
        self._vocab = vocabulary  # pickled with its model bytes; TF state is rebuilt per worker
        self._append_eos = append_eos

    def setup(self):
        self._vocab.load_model()
        self._vocab.tf_tokenizer  # noqa: B018 - build the tensorflow_text op once per worker
        self._eos = np.asarray([self._vocab.eos_id], np.int32) if self._append_eos else np.zeros([0], np.int32)
        if self._append_eos and self._vocab.eos_id < 0:
            raise ValueError(f"{self._vocab} has no eos token to append")

    def process(self, batch):
        texts = [t for t, _, _ in batch]
        try:
            flat, splits = self._vocab.encode_batch(texts)
            rows = [flat[splits[i]:splits[i + 1]] for i in range(len(texts))]
        except Exception:  # noqa: BLE001 - retry one by one so one bad text cannot sink the batch
            rows = []
            for text in texts:
                try:
                    rows.append(np.asarray(self._vocab.encode(text), np.int32))
                except Exception:  # noqa: BLE001
                    rows.append(None)
        for (_, language, n_bytes), ids in zip(batch, rows):
            if ids is None:
                for kv in _drop("encode_error", language):
                    yield beam.pvalue.TaggedOutput("stats", kv)
                continue
            tokens = np.concatenate([ids, self._eos]).astype(TOKEN_DTYPE)
            yield tokens.tobytes()
            for kv in ((_key("kept", "documents"), 1), (_key("kept", "tokens"), int(tokens.size)),
                       (_key("kept", "bytes"), n_bytes),
                       (_key("language", language, "documents"), 1),
                       (_key("language", language, "tokens"), int(tokens.size)),
                       (_key("language", language, "bytes"), n_bytes)):
                yield beam.pvalue.TaggedOutput("stats", kv)


def build_pipeline(pipeline, input_patterns: list[str], output_dir: str, vocabulary,
                   config: TokenizeConfig, progress=None) -> None:
    """Add the tokenization graph to `pipeline` (tests run it with TestPipeline).

    `progress`: a `beam_pipelines.progress.LiveProgress` counting documents and tokens."""
    records = pipeline | "ReadDocuments" >> ReadFromArrayRecord(input_patterns)
    parsed = records | "Parse" >> beam.ParDo(ParseDocuments()).with_outputs("stats", main="docs")
    encoded = (parsed.docs
               | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=config.batch_size)
               | "Encode" >> beam.ParDo(EncodeBatches(vocabulary, config.append_eos)).with_outputs(
                   "stats", main="tokens"))
    _ = encoded.tokens | "WriteTokens" >> WriteToArrayRecord(
        output_dir.rstrip("/") + "/" + TOKENS_PREFIX, config.num_shards)
    all_stats = (parsed.stats, encoded.stats) | "AllStats" >> beam.Flatten()
    if progress:
        progress.count(records, "documents/read")
        progress.count(encoded.tokens, "documents/kept")
        progress.count(all_stats, "documents/dropped", weight=_dropped_count)
        progress.count(encoded.tokens, "tokens/written", weight=_token_count)
    _ = (all_stats
         | "SumStats" >> beam.CombinePerKey(sum)
         | "StatsJson" >> beam.MapTuple(stats_line)
         | "WriteStats" >> beam.io.WriteToText(output_dir.rstrip("/") + "/" + STATS_PREFIX,
                                               file_name_suffix=".jsonl", num_shards=1))


def _dropped_count(kv) -> int:
    return int(kv[1]) if kv[0].startswith('["dropped",') else 0


def _token_count(record: bytes) -> int:
    return len(record) // TOKEN_DTYPE.itemsize


# ----- driver -----------------------------------------------------------------------------
def input_patterns(inputs: list[str]) -> list[str]:
    """Directories -> their document shard globs; globs and files pass through."""
    patterns = []
    for spec in inputs:
        if any(ch in spec for ch in "*?[") or spec.endswith(".array_record"):
            patterns.append(spec)
        else:
            patterns.append(spec.rstrip("/") + "/" + DOCUMENT_GLOB)
    for pattern in patterns:
        if not match_files(pattern):
            raise FileNotFoundError(f"no document shards match {pattern!r}")
    return patterns


def check_output(output_dir: str, overwrite: bool) -> None:
    prepare_output_dir(output_dir, overwrite, OUR_FILES, ("_stats",), what="tokenize results")


def assemble_stats(pairs: dict[str, float]) -> dict:
    """Summed pairs -> stats.json (the conservation law checked here)."""
    kept: dict[str, int] = {}
    languages: dict[str, dict[str, int]] = {}
    dropped: dict[str, int] = {}
    dropped_by_language: dict[str, dict[str, int]] = {}
    documents = 0
    for key, value in pairs.items():
        parts = json.loads(key)
        if parts[0] == "input":
            documents += int(value)
        elif parts[0] == "kept":
            kept[parts[1]] = int(value)
        elif parts[0] == "language":
            languages.setdefault(parts[1], {})[parts[2]] = int(value)
        elif parts[0] == "dropped":
            dropped[parts[1]] = int(value)
        elif parts[0] == "dropped_by_language":
            dropped_by_language.setdefault(parts[1], {})[parts[2]] = int(value)
    n_kept = kept.get("documents", 0)
    n_dropped = sum(dropped.values())
    per_language = {lang: {"documents": row.get("documents", 0), "tokens": row.get("tokens", 0),
                           "bytes": row.get("bytes", 0)}
                    for lang, row in sorted(languages.items(), key=lambda kv: (-kv[1].get("tokens", 0), kv[0]))}
    return {
        "documents": documents,
        "kept": n_kept,
        "tokens": kept.get("tokens", 0),
        "bytes": kept.get("bytes", 0),
        "dropped_total": n_dropped,
        "dropped": dict(sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))),
        "dropped_by_language": dropped_by_language,
        "conservation_ok": documents == n_kept + n_dropped,
        "tokens_per_language": {lang: row["tokens"] for lang, row in per_language.items()},
        "per_language": per_language,
    }


def vocabulary_facts(vocabulary, vocab_dir: str) -> dict:
    return {"dir": vocab_dir, "size": vocabulary.vocab_size, "eos_id": vocabulary.eos_id,
            "bos_id": vocabulary.bos_id, "pad_id": vocabulary.pad_id,
            "model_sha256": hashlib.sha256(vocabulary.model_bytes).hexdigest()}


def write_metadata(output_dir: str, vocabulary, vocab_dir: str, config: TokenizeConfig) -> dict:
    """tokens.json: the tokenizer that made these shards (its file hash), for the loader's check."""
    from opencoder_jax.tokenizer.fingerprint import tokenizer_sha256

    meta = {"format": 1, "tokenizer_sha256": tokenizer_sha256(vocab_dir), "tokenizer_dir": vocab_dir,
            "vocab_size": vocabulary.vocab_size, "eos_id": vocabulary.eos_id, "eos_appended": config.append_eos,
            "token_dtype": "uint32 little-endian", "shards": f"{TOKENS_PREFIX}-*.array_record"}
    with FileSystems.create(output_dir.rstrip("/") + "/" + METADATA_FILE) as f:
        f.write(json.dumps(meta, indent=2, ensure_ascii=False).encode("utf-8"))
    return meta


def run_tokenize(inputs: list[str], vocab_dir: str, output_dir: str, runner: str = "FnApiRunner",
                 beam_args: list[str] | None = None, overwrite: bool = False,
                 config: TokenizeConfig | None = None, quiet: bool = False,
                 progress_interval_s: float | None = 5.0) -> dict:
    """Run the job with gin already parsed; returns stats.json's content.

    Unless `quiet`, a progress line goes to stderr every `progress_interval_s` seconds."""
    from opencoder_jax.tokenizer.hf_import import load_tokenizer_dir

    config = config or TokenizeConfig()
    if config.num_shards < 1 or config.batch_size < 1:
        raise ValueError(f"num_shards and batch_size must be >= 1, got {config}")
    patterns = input_patterns(inputs)
    vocabulary = load_tokenizer_dir(vocab_dir)
    if vocabulary.vocab_size > 2 ** 32:
        raise ValueError("vocabulary too large for uint32 token ids")
    check_output(output_dir, overwrite)
    options = PipelineOptions(list(beam_args or []), runner=runner, save_main_session=False)
    start = time.time()
    pipeline = beam.Pipeline(options=options)
    progress = None if quiet or not progress_interval_s else LiveProgress("tokenize", runner, progress_interval_s)
    build_pipeline(pipeline, patterns, output_dir, vocabulary, config, progress)
    if progress:
        progress.run(pipeline)
    else:
        pipeline.run().wait_until_finish()
    elapsed = time.time() - start
    write_metadata(output_dir, vocabulary, vocab_dir, config)
    stats = assemble_stats(read_stats_pairs(output_dir, STATS_PREFIX))
    stats.update({"runner": runner, "elapsed_s": round(elapsed, 2), "inputs": patterns,
                  "vocabulary": vocabulary_facts(vocabulary, vocab_dir), "eos_appended": config.append_eos,
                  "token_dtype": "uint32 little-endian",
                  "outputs": output_dir.rstrip("/") + f"/{TOKENS_PREFIX}-*.array_record"})
    with FileSystems.create(output_dir.rstrip("/") + "/stats.json") as f:
        f.write(json.dumps(stats, indent=2, ensure_ascii=False).encode("utf-8"))
    if not stats["conservation_ok"]:
        raise AssertionError(f"conservation law broken: {stats['documents']} documents != kept {stats['kept']} "
                             f"+ dropped {stats['dropped_total']}")
    if not quiet:
        print(format_summary(stats))
    return stats


def format_summary(stats: dict) -> str:
    lines = [f"tokenize finished in {stats['elapsed_s']:.1f}s ({stats['runner']}): "
             f"{stats['documents']:,} documents, {stats['kept']:,} kept, {stats['tokens']:,} tokens "
             f"({stats['bytes'] / max(stats['tokens'], 1):.2f} bytes/token)"]
    for reason, count in stats["dropped"].items():
        lines.append(f"  dropped {reason:<28} {count:>10,}")
    for lang, row in list(stats["per_language"].items())[:10]:
        lines.append(f"  {lang:<20} {row['documents']:>9,} docs {row['tokens']:>12,} tokens")
    lines.append(f"  outputs: {stats['outputs']}, stats.json")
    return "\n".join(lines)


def add_arguments(parser) -> None:
    parser.add_argument("--input", nargs="+", required=True,
                        help="RefineCode output dirs (documents-*.array_record) or shard globs")
    parser.add_argument("--vocab", required=True, help="tokenizer directory (tokenizer.model + tokenizer_config.json)")
    parser.add_argument("--output", required=True, help="output directory (local or gs://...)")
    parser.add_argument("--runner", default="FnApiRunner", help="Beam runner (FnApiRunner locally)")
    parser.add_argument("--num_shards", type=int, default=None, help="output token shards (default: gin, 8)")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --output")
    parser.add_argument("--progress_every", type=float, default=5.0,
                        help="seconds between progress lines on stderr (0: none)")
    gin_config.add_gin_flags(parser)


def run(args, beam_args: list[str] | None = None) -> int:
    params = list(args.gin_param)
    if args.num_shards is not None:
        params.append(f"TokenizeConfig.num_shards = {int(args.num_shards)}")
    gin_config.parse_gin(args.gin_file, params, defaults=DEFAULT_GIN)
    run_tokenize(args.input, args.vocab, args.output, runner=args.runner, beam_args=beam_args,
                 overwrite=args.overwrite, config=TokenizeConfig(),
                 progress_interval_s=args.progress_every if args.progress_every > 0 else None)
    gin_config.write_operative_config(args.output)
    return 0
