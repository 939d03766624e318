"""`opencoder tokenizer train`: byte-fallback BPE SentencePiece on a sample of documents.

  opencoder tokenizer train --input DIR [DIR ...] --vocab_size N --output DIR

Inputs are RefineCode outputs (`DIR/documents-*.array_record`, one UTF-8 JSON document per
record). The sample is deterministic and independent of shard order: every document gets
the key blake2b(seed, id) and the `sample_documents` smallest keys are kept (bottom-k).
Texts are cut at line ends into chunks of at most `chunk_bytes` (SentencePiece skips longer
"sentences" silently, so nothing reaches it that it would drop).

Training keeps every character: identity normalization, no whitespace collapsing, no dummy
prefix, whitespace-only pieces allowed (indentation), digits split, byte fallback for the
rest. The special tokens (see special_tokens.py) are appended after training as CONTROL
pieces in the released layout, so `vocab_size` counts them: 96640 gives eos 96539, bos 96540.

Outputs in --output: tokenizer.model, tokenizer_config.json (Hugging Face style, loadable by
transformers and by `load_vocabulary`), special_tokens_map.json, config.gin (operative gin
config) and train_stats.json (documents read, sampled, corrupt, bytes, pieces).
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import heapq
import io
import json
import os
import sys
import tempfile
import time
from typing import Iterable, Iterator, Sequence

import gin

from opencoder_jax import config as gin_config
from opencoder_jax.document import from_bytes
from opencoder_jax.tokenizer import special_tokens as st
from opencoder_jax.tokenizer.chat_template import CHAT_TEMPLATE
from opencoder_jax.tokenizer.hf_import import CONFIG_FILE, MODEL_FILE, OUR_CONFIG_KEY, SPECIAL_TOKENS_MAP_FILE
from opencoder_jax.units import human_bytes

DOCUMENT_GLOB = "documents-*.array_record"
# What this command writes (and what --overwrite replaces); config.gin is rewritten by run().
OUTPUT_FILES = (MODEL_FILE, CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE, "train_stats.json", "config.gin")
DEFAULT_GIN = ("tokenizer/opencoder.gin",)


@gin.configurable
@dataclasses.dataclass(frozen=True)
class TokenizerTrainConfig:
    """Defaults: the released vocabulary size and special-token layout; sampling sized for
    one machine (the paper does not say how INF-34B's tokenizer sample was drawn)."""

    vocab_size: int = st.RELEASED_VOCAB_SIZE
    num_special_slots: int = st.RELEASED_SPECIAL_SLOTS
    sample_documents: int = 200_000
    max_document_bytes: int = 65_536  # longer documents contribute their first 64 KiB
    chunk_bytes: int = 8_192  # SentencePiece "sentence" limit; texts are cut at line ends
    seed: int = 0
    character_coverage: float = 0.9999
    split_digits: bool = True
    max_sentencepiece_length: int = 16
    allow_whitespace_only_pieces: bool = True
    num_threads: int = 2
    train_extremely_large_corpus: bool = False


@dataclasses.dataclass
class SampleStats:
    shards: int = 0
    unreadable_shards: int = 0
    records: int = 0
    corrupt_records: int = 0
    invalid_unicode: int = 0
    empty: int = 0
    sampled: int = 0
    sampled_bytes: int = 0
    truncated: int = 0


# ----- reading documents ------------------------------------------------------------------
def list_document_shards(inputs: Sequence[str]) -> list[str]:
    import tensorflow as tf

    paths: list[str] = []
    for spec in inputs:
        if any(ch in spec for ch in "*?["):
            paths.extend(tf.io.gfile.glob(spec))
        elif tf.io.gfile.isdir(spec):
            paths.extend(tf.io.gfile.glob(spec.rstrip("/") + "/" + DOCUMENT_GLOB))
        elif tf.io.gfile.exists(spec):
            paths.append(spec)
        else:
            raise FileNotFoundError(f"input {spec!r} does not exist")
    return sorted(set(paths))


def iter_shard_records(path: str) -> Iterator[bytes]:
    """Records of one ArrayRecord shard (copied locally first if it lives on gs:// etc.)."""
    import tensorflow as tf
    from array_record.python import array_record_module

    local, tmp = path, None
    if "://" in path:
        fd, tmp = tempfile.mkstemp(suffix=".array_record")
        os.close(fd)
        tf.io.gfile.copy(path, tmp, overwrite=True)
        local = tmp
    try:
        reader = array_record_module.ArrayRecordReader(local)
        try:
            n = reader.num_records()
            for start in range(0, n, 1024):
                yield from reader.read(range(start, min(n, start + 1024)))
        finally:
            reader.close()
    finally:
        if tmp:
            os.remove(tmp)


def sample_key(seed: int, doc_id: str) -> bytes:
    return hashlib.blake2b(f"{seed}\x00{doc_id}".encode("utf-8", "surrogatepass"), digest_size=16).digest()


class SampleProgress:
    """Progress lines on stderr while documents are read: at most one per `interval_s`."""

    def __init__(self, num_shards: int, stats: SampleStats, interval_s: float = 5.0):
        self._num_shards = num_shards
        self._stats = stats
        self._interval = interval_s
        self._start = time.time()
        self._last = self._start

    def say(self, what: str) -> None:
        clock = datetime.timedelta(seconds=int(time.time() - self._start))
        print(f"[tokenizer train {clock}] {what}", file=sys.stderr, flush=True)

    def tick(self, force: bool = False) -> None:
        now = time.time()
        if force or now - self._last >= self._interval:
            self._last = now
            s = self._stats
            rate = s.records / max(now - self._start, 1e-9)
            self.say(f"read {s.records:,} documents from {s.shards}/{self._num_shards} shards "
                     f"(corrupt {s.corrupt_records:,}, empty {s.empty:,}) | {rate:,.0f} docs/s")


def sample_documents(shards: Sequence[str], config: TokenizerTrainConfig,
                     stats: SampleStats | None = None, progress: SampleProgress | None = None) -> list[str]:
    """Bottom-k deterministic sample of document texts (sorted by key), truncated and valid UTF-8."""
    stats = stats if stats is not None else SampleStats()
    heap: list[tuple[bytes, str]] = []  # max-heap via inverted keys: (-key, text)
    k = config.sample_documents
    for path in shards:
        stats.shards += 1
        try:
            records = iter_shard_records(path)
            for record in records:
                stats.records += 1
                if progress and stats.records % 256 == 0:
                    progress.tick()
                try:
                    doc = from_bytes(record)
                    text = doc["text"]
                    if not isinstance(text, str):
                        raise ValueError("text is not a string")
                except Exception:  # noqa: BLE001 - any unreadable record is counted, not fatal
                    stats.corrupt_records += 1
                    continue
                if not text:
                    stats.empty += 1
                    continue
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    stats.invalid_unicode += 1
                    continue
                key = sample_key(config.seed, str(doc.get("id") or hashlib.sha256(record).hexdigest()))
                inverted = bytes(255 - b for b in key)
                if len(heap) < k:
                    heapq.heappush(heap, (inverted, text))
                elif inverted > heap[0][0]:
                    heapq.heapreplace(heap, (inverted, text))
        except Exception as e:  # noqa: BLE001 - a shard we cannot open is reported, not fatal
            stats.unreadable_shards += 1
            print(f"tokenizer train: skipping unreadable shard {path}: {type(e).__name__}: {e}")
    if progress:
        progress.tick(force=True)
    chosen = sorted(heap, reverse=True)  # ascending key
    texts = []
    for _, text in chosen:
        data = text.encode("utf-8")
        if len(data) > config.max_document_bytes:
            stats.truncated += 1
            text = data[:config.max_document_bytes].decode("utf-8", "ignore")
        texts.append(text)
        stats.sampled += 1
        stats.sampled_bytes += len(text.encode("utf-8"))
    return texts


def chunk_text(text: str, max_bytes: int) -> Iterator[str]:
    """Cut `text` at line ends into pieces of at most `max_bytes` UTF-8 bytes."""
    chunk: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        n = len(line.encode("utf-8"))
        if n > max_bytes:  # one very long line: cut it by characters
            if chunk:
                yield "".join(chunk)
                chunk, size = [], 0
            yield from _cut_long_line(line, max_bytes)
            continue
        if size + n > max_bytes and chunk:
            yield "".join(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += n
    if chunk:
        yield "".join(chunk)


def _cut_long_line(line: str, max_bytes: int) -> Iterator[str]:
    data = line.encode("utf-8")
    start = 0
    while start < len(data):
        end = min(len(data), start + max_bytes)
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # never split a character
            end -= 1
        yield data[start:end].decode("utf-8")
        start = end


# ----- training ---------------------------------------------------------------------------
def train_model(texts: Iterable[str], config: TokenizerTrainConfig) -> bytes:
    """Train the BPE model and append the special tokens; returns the serialized model."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as sp_pb2

    layout = st.SpecialTokenLayout(config.vocab_size, config.num_special_slots)
    sentences = (chunk for text in texts for chunk in chunk_text(text, config.chunk_bytes))
    out = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=sentences, model_writer=out,
            model_type="bpe", vocab_size=layout.base_size,
            byte_fallback=True, character_coverage=config.character_coverage,
            normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=False,
            split_digits=config.split_digits, allow_whitespace_only_pieces=config.allow_whitespace_only_pieces,
            max_sentencepiece_length=config.max_sentencepiece_length,
            max_sentence_length=config.chunk_bytes + 1,
            input_sentence_size=0, shuffle_input_sentence=False,
            pad_id=st.PAD_ID, pad_piece=st.PAD, unk_id=st.UNK_ID, unk_piece=st.UNK, bos_id=-1, eos_id=-1,
            num_threads=config.num_threads, train_extremely_large_corpus=config.train_extremely_large_corpus,
            minloglevel=2,
        )
    except RuntimeError as e:
        if "Vocabulary size" in str(e) or "vocab_size" in str(e):
            raise ValueError(f"the sample is too small for vocab_size {config.vocab_size}: {e}; "
                             "sample more documents or pick a smaller vocabulary") from e
        raise
    proto = sp_pb2.ModelProto.FromString(out.getvalue())
    if len(proto.pieces) != layout.base_size:
        raise ValueError(f"SentencePiece made {len(proto.pieces)} pieces, expected {layout.base_size}")
    for token in layout.tail_tokens():
        proto.pieces.add(piece=token, score=0.0, type=sp_pb2.ModelProto.SentencePiece.CONTROL)
    spec = proto.trainer_spec
    spec.eos_id, spec.eos_piece = layout.eos_id, st.EOS
    spec.bos_id, spec.bos_piece = layout.bos_id, st.BOS
    spec.vocab_size = len(proto.pieces)
    spec.ClearField("num_threads")  # the file depends on data and settings, not on the machine
    return proto.SerializeToString()


def tokenizer_config_json(config: TokenizerTrainConfig, model_max_length: int = 8192) -> dict:
    """HF-style tokenizer_config.json: transformers reads it as a Llama tokenizer with the same
    ids (no prefix space, no bos/eos added), and `load_vocabulary` reads our extra entry."""
    layout = st.SpecialTokenLayout(config.vocab_size, config.num_special_slots)
    decoder = {str(i): {"content": tok, "lstrip": False, "normalized": False, "rstrip": False,
                        "single_word": False, "special": True}
               for tok, i in sorted(layout.token_ids().items(), key=lambda kv: kv[1])}
    return {
        "tokenizer_class": "LlamaTokenizer",
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "legacy": False,
        "bos_token": st.BOS,
        "eos_token": st.EOS,
        "pad_token": st.PAD,
        "unk_token": st.UNK,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": [t for t in layout.tail_tokens() if t not in (st.BOS, st.EOS)],
        "chat_template": CHAT_TEMPLATE,
        OUR_CONFIG_KEY: {"format": 1, "prefix_policy": "never", "escape_meta_symbol": True,
                         "vocab_size": config.vocab_size, "num_special_slots": config.num_special_slots},
    }


def special_tokens_map_json(config: TokenizerTrainConfig) -> dict:
    layout = st.SpecialTokenLayout(config.vocab_size, config.num_special_slots)
    return {"bos_token": st.BOS, "eos_token": st.EOS, "pad_token": st.PAD, "unk_token": st.UNK,
            "additional_special_tokens": [t for t in layout.tail_tokens() if t not in (st.BOS, st.EOS)]}


def _write(path: str, data: bytes) -> None:
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(data)


def check_round_trip(model: bytes, texts: Sequence[str], limit: int = 200) -> int:
    """Encode/decode a few sampled texts; raise if any differs (a broken setting, not data)."""
    from opencoder_jax.tokenizer.vocabulary import Vocabulary

    vocab = Vocabulary(model)
    for text in texts[:limit]:
        if vocab.decode_all(vocab.encode(text)) != text:
            raise AssertionError(f"round trip failed on a sampled text starting {text[:80]!r}")
    return min(limit, len(texts))


def check_output_dir(output_dir: str, overwrite: bool) -> None:
    """Refuse to replace an existing tokenizer without `overwrite` (token shards made with it
    would silently stop matching), before any work starts; with it, remove our files."""
    import tensorflow as tf

    ours = [output_dir.rstrip("/") + "/" + name for name in OUTPUT_FILES]
    existing = [p for p in ours if tf.io.gfile.exists(p)]
    if existing and not overwrite:
        raise FileExistsError(f"{output_dir} already holds a tokenizer ({len(existing)} files); "
                              "pass --overwrite or choose another --output")
    for path in existing:
        tf.io.gfile.remove(path)


def train_tokenizer(inputs: Sequence[str], output_dir: str, config: TokenizerTrainConfig,
                    quiet: bool = False, overwrite: bool = False, progress_interval_s: float = 5.0) -> dict:
    """Sample, train, check and write a tokenizer directory; returns train_stats.json's content.

    Unless `quiet`, progress lines (documents read, sample size, training) go to stderr."""
    import tensorflow as tf

    st.SpecialTokenLayout(config.vocab_size, config.num_special_slots)  # validate before reading
    shards = list_document_shards(inputs)
    if not shards:
        raise FileNotFoundError(f"no {DOCUMENT_GLOB} shards under {list(inputs)}")
    check_output_dir(output_dir, overwrite)
    start = time.time()
    stats = SampleStats()
    progress = None if quiet or progress_interval_s <= 0 else SampleProgress(len(shards), stats, progress_interval_s)
    texts = sample_documents(shards, config, stats, progress)
    if not texts:
        raise ValueError(f"no usable documents in {len(shards)} shards ({dataclasses.asdict(stats)})")
    sampled_at = time.time()
    if progress:
        progress.say(f"training BPE ({config.vocab_size:,} ids) on {stats.sampled:,} documents "
                     f"({human_bytes(stats.sampled_bytes)}); SentencePiece reports nothing until it is done")
    model = train_model(texts, config)
    if progress:
        progress.say(f"trained in {time.time() - sampled_at:.1f}s; checking round trips")
    checked = check_round_trip(model, texts)
    tf.io.gfile.makedirs(output_dir)
    _write(output_dir.rstrip("/") + "/" + MODEL_FILE, model)
    _write(output_dir.rstrip("/") + "/" + CONFIG_FILE,
           json.dumps(tokenizer_config_json(config), indent=2, ensure_ascii=False).encode("utf-8"))
    _write(output_dir.rstrip("/") + "/" + SPECIAL_TOKENS_MAP_FILE,
           json.dumps(special_tokens_map_json(config), indent=2).encode("utf-8"))
    layout = st.SpecialTokenLayout(config.vocab_size, config.num_special_slots)
    result = {
        **dataclasses.asdict(stats),
        "vocab_size": config.vocab_size,
        "eos_id": layout.eos_id,
        "bos_id": layout.bos_id,
        "pad_id": st.PAD_ID,
        "round_trip_checked": checked,
        "sample_seconds": round(sampled_at - start, 2),
        "train_seconds": round(time.time() - sampled_at, 2),
        "inputs": list(inputs),
        "model_sha256": hashlib.sha256(model).hexdigest(),
    }
    _write(output_dir.rstrip("/") + "/train_stats.json", json.dumps(result, indent=2).encode("utf-8"))
    if not quiet:
        print(f"tokenizer: {config.vocab_size} ids (eos {layout.eos_id}, bos {layout.bos_id}) from "
              f"{stats.sampled:,} of {stats.records:,} documents ({human_bytes(stats.sampled_bytes)}; "
              f"corrupt {stats.corrupt_records}, empty {stats.empty}, invalid unicode {stats.invalid_unicode}) "
              f"-> {output_dir}")
    return result


# ----- command line -----------------------------------------------------------------------
def add_arguments(parser) -> None:
    parser.add_argument("--input", nargs="+", required=True,
                        help="RefineCode output dirs (documents-*.array_record) or shard globs")
    parser.add_argument("--output", required=True, help="tokenizer directory to write")
    parser.add_argument("--vocab_size", type=int, default=None,
                        help="total ids, special tokens included (default: gin, 96640)")
    parser.add_argument("--sample_documents", type=int, default=None, help="documents in the training sample")
    parser.add_argument("--overwrite", action="store_true", help="replace a tokenizer already in --output")
    parser.add_argument("--progress_every", type=float, default=5.0,
                        help="seconds between progress lines on stderr (0: none)")
    gin_config.add_gin_flags(parser)


def run(args) -> int:
    # Flags become gin bindings (last wins), so config.gin records what was actually used.
    params = list(args.gin_param)
    for name in ("vocab_size", "sample_documents"):
        if getattr(args, name) is not None:
            params.append(f"TokenizerTrainConfig.{name} = {int(getattr(args, name))}")
    gin_config.parse_gin(args.gin_file, params, defaults=DEFAULT_GIN)
    config = TokenizerTrainConfig()
    train_tokenizer(args.input, args.output, config, overwrite=args.overwrite,
                    progress_interval_s=args.progress_every)
    gin_config.write_operative_config(args.output)
    return 0
