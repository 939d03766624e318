"""The contract every RefineCode stage follows in the Beam graph.

A stage is a `beam.PTransform` taking a PCollection of documents (dicts, see
`opencoder_jax.document`) and returning a dict of three PCollections:

  "kept"     the documents that go on to the next stage (possibly rewritten)
  "dropped"  one `Drop` dict per removed document (see `make_drop`); every document the
             stage received is either kept or dropped exactly once (conservation law)
  "metrics"  (key, number) pairs that are summed per key into stats.json["metrics"],
             e.g. ("fuzzy_dedup/cluster_size/2", 1) or ("filter/fired/qsc_code_xyz", 1)

Stages are built in the driver by a factory `make_stage(context) -> Stage`; the factory
reads its gin-bound frozen dataclass config there, so workers (Dataflow etc.) receive
plain pickled config values and never need gin.
"""
from __future__ import annotations

import dataclasses
from typing import Any


from opencoder_jax.document import Document, text_bytes

HEAD_CHARS = 400  # first characters of a dropped document kept for the report's audit


@dataclasses.dataclass(frozen=True)
class StageContext:
    """What the pipeline tells each stage about the run."""

    output_dir: str  # the run's output dir (local path or gs://...); stages may write side files under it
    temp_dir: str  # scratch dir on the same file system
    num_shards: int = 8


def make_drop(stage: str, reason: str, doc: Document, **extra: Any) -> dict:
    """One dropped document, summarised for stats and the report (never the full text)."""
    drop = {
        "reason": f"{stage}/{reason}",
        "id": doc.get("id", ""),
        "repo": doc.get("repo", ""),
        "path": doc.get("path", ""),
        "language": doc.get("language") or "unknown",
        "bytes": text_bytes(doc) if isinstance(doc.get("text"), str) else int(doc.get("size_bytes", 0)),
        "head": (doc.get("text") or "")[:HEAD_CHARS] if isinstance(doc.get("text"), str) else "",
    }
    drop.update(extra)
    return drop


def in_global_window(value):
    """`value` as a finish_bundle output (Beam needs an explicit window there)."""
    from apache_beam.transforms.window import GlobalWindow
    from apache_beam.utils.timestamp import MIN_TIMESTAMP
    from apache_beam.utils.windowed_value import WindowedValue

    return WindowedValue(value, MIN_TIMESTAMP, [GlobalWindow()])


def stage_output(kept, dropped, metrics) -> dict:
    return {"kept": kept, "dropped": dropped, "metrics": metrics}
