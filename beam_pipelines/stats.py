"""Counting for stats.json: every number is a (key, value) pair summed per key in Beam,
then shaped into stats.json by the driver (`assemble_stats`).

Keys are JSON lists so names may contain any character:
  ["funnel", stage, "documents"|"bytes"]     documents/bytes leaving each stage ("input" first)
  ["dropped", "stage/reason"]                 one per dropped document
  ["dropped_by_language", "stage/reason", language]
  ["lang_before", language, "documents"|"bytes"] / ["lang_after", ...]
  ["metrics", key]                            stage-specific numbers (see beam_pipelines/stage.py)
"""
from __future__ import annotations

import hashlib
import json

import apache_beam as beam

from opencoder_jax.document import text_bytes


def _key(*parts) -> str:
    return json.dumps(list(parts), ensure_ascii=False)


def doc_entries(section: str, stage: str):
    def entries(doc):
        n = text_bytes(doc)
        return [(_key(section, stage, "documents"), 1), (_key(section, stage, "bytes"), n)]
    return entries


def language_entries(section: str):
    def entries(doc):
        lang = doc.get("language") or "unknown"
        return [(_key(section, lang, "documents"), 1), (_key(section, lang, "bytes"), text_bytes(doc))]
    return entries


def raw_input_entries(raw: dict):
    content = raw.get("content")
    return [(_key("funnel", "input", "documents"), 1),
            (_key("funnel", "input", "bytes"), len(content) if content else 0)]


def read_drop_input_entries(drop: dict):
    return [(_key("funnel", "input", "documents"), 1), (_key("funnel", "input", "bytes"), int(drop.get("bytes", 0)))]


def drop_entries(drop: dict):
    lang = drop.get("language") or "unknown"
    return [(_key("dropped", drop["reason"]), 1), (_key("dropped_by_language", drop["reason"], lang), 1)]


def metric_entry(kv):
    key, value = kv
    return _key("metrics", key), value


def example_rank(drop: dict) -> int:
    """Deterministic pseudo-random rank so the sampled examples do not depend on order."""
    h = hashlib.blake2b(f"{drop.get('id')}|{drop.get('repo')}|{drop.get('path')}|{drop.get('source', '')}".encode(
        "utf-8", "replace"), digest_size=8)
    return int.from_bytes(h.digest(), "little")


class SampleDropExamples(beam.PTransform):
    """A few dropped documents per reason (without raw payloads), for the report's audit."""

    def __init__(self, per_reason: int):
        super().__init__()
        self._n = per_reason

    def expand(self, drops):
        return (drops
                | "ByReason" >> beam.Map(lambda d: (d["reason"], {k: v for k, v in d.items() if k != "raw"}))
                | "Top" >> beam.combiners.Top.PerKey(self._n, key=example_rank)
                | "Flatten" >> beam.FlatMap(lambda kv: kv[1]))


def stats_line(key: str, value) -> str:
    """One summed pair as the JSON line `read_stats_pairs` reads back."""
    return json.dumps({"k": key, "v": value}, ensure_ascii=False)


def read_stats_pairs(output_dir: str, prefix: str) -> dict[str, float]:
    """Sum the {"k", "v"} lines a pipeline wrote under output_dir/prefix* (any file system)."""
    from apache_beam.io.filesystems import FileSystems

    pairs: dict[str, float] = {}
    matches = FileSystems.match([output_dir.rstrip("/") + "/" + prefix + "*"])[0].metadata_list
    for path in sorted(m.path for m in matches):
        with FileSystems.open(path) as f:
            for line in f.read().decode("utf-8").splitlines():
                if line.strip():
                    item = json.loads(line)
                    pairs[item["k"]] = pairs.get(item["k"], 0) + item["v"]
    return pairs


def assemble_stats(pairs: dict[str, float], stages: list[str]) -> dict:
    """Shape the summed (key, value) pairs into stats.json."""
    funnel_raw: dict[str, dict[str, int]] = {}
    dropped: dict[str, int] = {}
    dropped_by_language: dict[str, dict[str, int]] = {}
    before: dict[str, dict[str, int]] = {}
    after: dict[str, dict[str, int]] = {}
    metrics: dict[str, float] = {}
    for key, value in pairs.items():
        parts = json.loads(key)
        section = parts[0]
        if section == "funnel":
            funnel_raw.setdefault(parts[1], {})[parts[2]] = value
        elif section == "dropped":
            dropped[parts[1]] = value
        elif section == "dropped_by_language":
            dropped_by_language.setdefault(parts[1], {})[parts[2]] = value
        elif section == "lang_before":
            before.setdefault(parts[1], {})[parts[2]] = value
        elif section == "lang_after":
            after.setdefault(parts[1], {})[parts[2]] = value
        elif section == "metrics":
            metrics[parts[1]] = value
    funnel = [{"stage": s, "documents": int(funnel_raw.get(s, {}).get("documents", 0)),
               "bytes": int(funnel_raw.get(s, {}).get("bytes", 0))} for s in ["input", *stages]]
    n_input = funnel[0]["documents"]
    kept = funnel[-1]["documents"]
    total_dropped = sum(dropped.values())
    dropped_by_stage = {}
    for reason, count in dropped.items():
        stage = reason.split("/", 1)[0]
        dropped_by_stage[stage] = dropped_by_stage.get(stage, 0) + count
    return {
        "input": n_input,
        "kept": kept,
        "dropped_total": total_dropped,
        "conservation_ok": n_input == kept + total_dropped,
        "stages": list(stages),
        "funnel": funnel,
        "dropped": dict(sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))),
        "dropped_by_stage": dropped_by_stage,
        "dropped_by_language": dropped_by_language,
        "per_language_before": _sorted_langs(before),
        "per_language": _sorted_langs(after),
        "metrics": dict(sorted(metrics.items())),
    }


def _sorted_langs(table):
    return {lang: {"documents": int(v.get("documents", 0)), "bytes": int(v.get("bytes", 0))}
            for lang, v in sorted(table.items(), key=lambda kv: (-kv[1].get("bytes", 0), kv[0]))}
