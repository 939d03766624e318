"""Stage `preprocess`: raw files -> documents (size, binary, encoding, language, type).

Unlike later stages it consumes raw file dicts from `beam_pipelines.sources`; the rules
themselves live in `opencoder_jax.refinecode.preprocess`.
"""
from __future__ import annotations

import apache_beam as beam

from beam_pipelines.stage import HEAD_CHARS, StageContext, stage_output
from opencoder_jax.refinecode.languages import detect_language
from opencoder_jax.refinecode.preprocess import PreprocessConfig, preprocess_file


def _raw_drop(raw: dict, reason: str) -> dict:
    content = raw.get("content") or b""
    return {
        "reason": f"preprocess/{reason}",
        "id": "",
        "repo": raw.get("repo", ""),
        "path": raw.get("path", ""),
        "language": detect_language(raw.get("path", "")).name,
        "bytes": len(content),
        # binary or undecodable content is not shown in the report, only text
        "head": "" if reason in ("binary", "undecodable", "too_large") else content[:HEAD_CHARS].decode("utf-8", "replace"),
        "source": raw.get("source", ""),
        "error": raw.get("error"),
    }


class _Preprocess(beam.DoFn):
    def __init__(self, config: PreprocessConfig):
        self._config = config

    def process(self, raw):
        try:
            doc, reason = preprocess_file(raw, self._config)
        except Exception as e:  # noqa: BLE001 - a rule bug must not stop the run
            yield beam.pvalue.TaggedOutput("dropped", _raw_drop(raw, f"error:{type(e).__name__}"))
            return
        if doc is None:
            yield beam.pvalue.TaggedOutput("dropped", _raw_drop(raw, reason))
        else:
            yield doc


class PreprocessStage(beam.PTransform):
    def __init__(self, config: PreprocessConfig):
        super().__init__()
        self.config = config

    def expand(self, raw_files):
        out = raw_files | "Preprocess" >> beam.ParDo(_Preprocess(self.config)).with_outputs("dropped", main="kept")
        metrics = raw_files.pipeline | "NoMetrics" >> beam.Create([])
        return stage_output(out.kept, out.dropped, metrics)


def make_stage(context: StageContext) -> PreprocessStage:
    return PreprocessStage(PreprocessConfig())
