"""Token shards on disk -> a Grain random-access source of documents.

A token shard is an ArrayRecord file written by `beam_pipelines/tokenize.py`
(`DIR/tokens-*.array_record`): one record per document, the document's token ids as
little-endian uint32 bytes with eos already appended.

Bad input never stops a run:
  * an unreadable shard (not an ArrayRecord file, truncated) is skipped at open time and
    reported in `ShardReport.unreadable`;
  * an empty shard contributes no records;
  * a record that cannot be read, or whose length is not a multiple of 4 bytes, becomes
    an empty document flagged `corrupt=True`; packing skips it and counts it in the
    batch statistics (`stats/corrupt_records`);
  * a zero-length document is valid and simply contributes no tokens.

Which tokenizer made the shards: `tokens.json` next to them (written by the tokenization
job) holds `tokenizer_sha256` (see opencoder_jax/tokenizer/fingerprint.py). Shards of another
tokenizer than the one expected, or shards of several tokenizers at once, are refused;
shards without tokens.json (older jobs) are read with a warning. A directory of documents
(`documents-*.array_record`, JSON) given in place of token shards is refused.

Dimension legend: N tokens of one document (after the next-token shift, N-1).
"""
from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
from typing import Sequence

import numpy as np

from opencoder_jax.data.array_record_file import count_records

TOKEN_DTYPE = np.dtype("<u4")  # little-endian uint32, as written by the tokenization job
SHARD_GLOB = "tokens-*.array_record"
DOCUMENT_GLOB = "documents-*.array_record"  # RefineCode output: JSON documents, not token ids
METADATA_FILE = "tokens.json"

log = logging.getLogger(__name__)


def list_token_shards(spec: str | Sequence[str]) -> list[str]:
    """Expand a directory, a glob pattern, a file, or a list of those into sorted shard paths."""
    specs = [spec] if isinstance(spec, str) else list(spec)
    paths: list[str] = []
    for s in specs:
        if os.path.isdir(s):
            found = sorted(glob.glob(os.path.join(s, SHARD_GLOB)))
            if not found and glob.glob(os.path.join(s, DOCUMENT_GLOB)):
                raise ValueError(f"{s} holds documents ({DOCUMENT_GLOB}), not token shards: "
                                 "tokenize it first with `opencoder data tokenize`")
            paths.extend(found)
        elif any(ch in s for ch in "*?["):
            paths.extend(sorted(glob.glob(s)))
        else:
            paths.append(s)
    documents = [p for p in paths if os.path.basename(p).startswith("documents-")]
    if documents:
        raise ValueError(f"{documents[0]} is a document shard (JSON), not token ids: "
                         "tokenize it first with `opencoder data tokenize`")
    return paths


def read_shard_metadata(shard_dir: str) -> dict | None:
    """tokens.json of a token-shard directory, or None when it has none (older jobs)."""
    path = os.path.join(shard_dir, METADATA_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} is unreadable ({type(e).__name__}: {e})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return meta


def check_shard_tokenizer(paths: Sequence[str], tokenizer_sha256: str | None = None,
                          tokenizer_dir: str | None = None) -> str | None:
    """The tokenizer hash shared by the shards' directories; raises ValueError when they were
    made by several tokenizers, or by another one than `tokenizer_sha256` (when given)."""
    by_hash: dict[str, list[str]] = {}
    for shard_dir in sorted({os.path.dirname(os.path.abspath(p)) for p in paths}):
        meta = read_shard_metadata(shard_dir)
        if meta is None or not meta.get("tokenizer_sha256"):
            log.warning("token shards in %s have no %s (an older tokenization job): which tokenizer "
                        "made them cannot be checked", shard_dir, METADATA_FILE)
            continue
        by_hash.setdefault(str(meta["tokenizer_sha256"]), []).append(
            f"{shard_dir} (tokenizer {meta.get('tokenizer_dir', '?')})")
    if len(by_hash) > 1:
        listing = "; ".join(f"{h[:12]}: {', '.join(dirs)}" for h, dirs in sorted(by_hash.items()))
        raise ValueError(f"token shards made by {len(by_hash)} different tokenizers cannot be mixed: {listing}")
    found = next(iter(by_hash), None)
    if found and tokenizer_sha256 and found != tokenizer_sha256:
        raise ValueError(f"token shards {by_hash[found][0]} were made by tokenizer {found[:12]}, not by this "
                         f"run's tokenizer {tokenizer_dir or ''} ({tokenizer_sha256[:12]}): re-tokenize them "
                         "with it, or train with the tokenizer that made them")
    return found


@dataclasses.dataclass(frozen=True)
class ShardReport:
    """What `open_token_shards` found: readable shards with their record counts, and the rest."""

    readable: tuple[tuple[str, int], ...]
    unreadable: tuple[tuple[str, str], ...]  # (path, reason)

    @property
    def num_records(self) -> int:
        return sum(n for _, n in self.readable)


def scan_shards(paths: Sequence[str]) -> ShardReport:
    """Open every shard once to read its index; unreadable shards are reported, not raised."""
    readable, unreadable = [], []
    for path in paths:
        try:
            readable.append((path, count_records(path)))
        except Exception as e:  # array_record raises RuntimeError/OSError with varied texts
            reason = f"{type(e).__name__}: {e}".strip()
            log.warning("skipping unreadable token shard %s (%s)", path, reason)
            unreadable.append((path, reason))
    return ShardReport(tuple(readable), tuple(unreadable))


class TokenShardSource:
    """Random access over the readable, non-empty shards; a failed read returns None.

    Picklable (Grain ships it to prefetch worker processes); the underlying
    ArrayRecord readers are opened lazily in each process.
    """

    def __init__(self, report: ShardReport, reader_options: dict[str, str] | None = None):
        self.report = report
        self._paths = [p for p, n in report.readable if n > 0]
        self._reader_options = reader_options
        self._source = None
        self._len = report.num_records

    def _ensure_source(self):
        if self._source is None and self._paths:
            import grain

            self._source = grain.sources.ArrayRecordDataSource(self._paths, self._reader_options)
        return self._source

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index) -> bytes | None:
        index = int(index)
        if not 0 <= index < self._len:
            raise IndexError(f"record {index} out of range for {self._len} records")
        try:
            return self._ensure_source()[index]
        except Exception as e:  # a damaged chunk: report it as a corrupt record downstream
            log.warning("unreadable record %d: %s: %s", index, type(e).__name__, e)
            return None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_source"] = None
        return state

    def __repr__(self) -> str:
        return f"TokenShardSource(shards={len(self._paths)}, records={self._len})"


def open_token_shards(spec: str | Sequence[str], reader_options: dict[str, str] | None = None,
                      tokenizer_sha256: str | None = None) -> TokenShardSource:
    """Token shards named by `spec` (see `list_token_shards`) as a `TokenShardSource`.

    `tokenizer_sha256`: refuse shards that tokens.json says another tokenizer made."""
    paths = list_token_shards(spec)
    if not paths:
        raise FileNotFoundError(f"no token shards match {spec!r}")
    check_shard_tokenizer(paths, tokenizer_sha256)
    source = TokenShardSource(scan_shards(paths), reader_options)
    _refuse_json_documents(source)
    return source


def _refuse_json_documents(source: TokenShardSource) -> None:
    """A JSON document read as uint32 ids gives ids up to ~2e9: refuse it before training."""
    if len(source) == 0:
        return
    record = source[0]
    if record and record[:1] == b"{":
        try:
            is_document = isinstance(json.loads(record), dict)
        except (ValueError, UnicodeDecodeError):
            is_document = False
        if is_document:
            raise ValueError(f"{source._paths[0]} holds JSON documents, not token ids: "
                             "tokenize it first with `opencoder data tokenize`")


def decode_tokens(record: bytes | None) -> np.ndarray | None:
    """uint32 LE bytes -> int32 token ids [N]; None when the record is corrupt."""
    if record is None or len(record) % TOKEN_DTYPE.itemsize:
        return None
    return np.frombuffer(record, dtype=TOKEN_DTYPE).astype(np.int32)


def lm_example(tokens: np.ndarray | None) -> dict[str, np.ndarray]:
    """Next-token example of one document: inputs [N-1], targets [N-1], loss_weights [N-1].

    The shift is done per document, before packing, so a target never belongs to another
    document and cutting a long document loses no target. `corrupt` marks a bad record.
    """
    corrupt = tokens is None
    if corrupt or len(tokens) < 2:
        empty = np.zeros((0,), np.int32)
        return {"inputs": empty, "targets": empty, "loss_weights": np.zeros((0,), np.float32),
                "corrupt": np.bool_(corrupt)}
    return {
        "inputs": tokens[:-1],
        "targets": tokens[1:],
        "loss_weights": np.ones((len(tokens) - 1,), np.float32),
        "corrupt": np.bool_(False),
    }


def decode_lm_example(record: bytes | None) -> dict[str, np.ndarray]:
    """Record bytes -> `lm_example` (the map function of pretraining pipelines)."""
    return lm_example(decode_tokens(record))


def mean_tokens_per_document(source: TokenShardSource, sample_size: int = 1000) -> float:
    """Mean document length in tokens from an evenly spaced, deterministic sample of records.

    Used to turn token shares of a mixture into document sampling rates. Corrupt records in
    the sample are ignored; a source of only empty documents counts as length 1.
    """
    n = len(source)
    if n == 0:
        return 0.0
    idx = np.unique(np.linspace(0, n - 1, num=min(n, sample_size)).astype(np.int64))
    lengths = [len(r) // TOKEN_DTYPE.itemsize for r in (source[int(i)] for i in idx)
               if r is not None and len(r) % TOKEN_DTYPE.itemsize == 0]
    return max(float(np.mean(lengths)) if lengths else 1.0, 1.0)
