"""Stage `preprocess`: raw files -> documents (size, binary, encoding, language, type).

Unlike later stages it consumes raw file dicts from `beam_pipelines.raw_sources`, so its drop
records are built from the raw file; the rules live in `opencoder_jax.refinecode.preprocess`
(`steps.PreprocessStep`).
"""
from __future__ import annotations

from beam_pipelines.per_document_stage import PerDocumentStage
from beam_pipelines.stage import HEAD_CHARS, StageContext
from opencoder_jax.refinecode.languages import detect_language
from opencoder_jax.refinecode.preprocess import PreprocessConfig
from opencoder_jax.refinecode.steps import PreprocessStep

_NOT_SHOWN = ("binary", "undecodable", "too_large")  # content the report must not show as text


def raw_drop(stage: str, reason: str, raw: dict, **fields) -> dict:
    content = raw.get("content") or b""
    if not isinstance(content, bytes):
        content = str(content).encode("utf-8", "replace")
    return {
        "reason": f"{stage}/{reason}",
        "id": "",
        "repo": raw.get("repo", ""),
        "path": raw.get("path", ""),
        "language": detect_language(raw.get("path", "")).name,
        "bytes": len(content),
        "head": "" if reason in _NOT_SHOWN else content[:HEAD_CHARS].decode("utf-8", "replace"),
        "source": raw.get("source", ""),
        "error": fields.get("error", raw.get("error")),
    }


def make_stage(context: StageContext, config: PreprocessConfig | None = None) -> PerDocumentStage:
    del context
    return PerDocumentStage(PreprocessStep(config if config is not None else PreprocessConfig()), raw_drop)
