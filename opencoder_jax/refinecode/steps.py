"""The per-document RefineCode stages as plain steps: one input -> kept or dropped, + metrics.

preprocess, transform, filter, decontaminate and sample each look at one document at a time.
Each is a `DocumentStep` here (no Beam): `setup()` builds its heavy state once per worker
(threshold tables, the benchmark index), `step(item) -> Outcome` decides. One Beam helper,
`beam_pipelines/per_document_stage.py`, wraps every one of them the same way (as datatrove's
`BaseFilter` does), so counting, drop records and error handling are written once. The dedup
stages look at many documents together and are Beam graphs of their own.

Drop reasons are `<stage>/<reason>`; a reason may have parts of its own separated by '/'
(`filter/signal_error/document`), never ':'.
"""
from __future__ import annotations

import copy
import dataclasses
from typing import Any

from opencoder_jax.refinecode.decontam import DecontamConfig, Decontaminator
from opencoder_jax.refinecode.heuristic_filter import FilterDecision, filter_document
from opencoder_jax.refinecode.preprocess import PreprocessConfig, preprocess_file
from opencoder_jax.refinecode.sampling import LanguageSampler, SampleConfig
from opencoder_jax.refinecode.filter_config import FilterConfig
from opencoder_jax.refinecode.transforms import TransformConfig, apply_transforms_with_errors
from opencoder_jax.refinecode.transforms.comment_syntax import canonical_language

Metric = tuple[str, int]


@dataclasses.dataclass
class Outcome:
    """What a step decided for one input: `doc` kept (possibly rewritten) or `reason` dropped."""

    doc: dict | None = None
    reason: str | None = None  # the reason within the stage, e.g. "downsampled"; None = kept
    metrics: list[Metric] = dataclasses.field(default_factory=list)
    drop_fields: dict[str, Any] = dataclasses.field(default_factory=dict)  # extra fields of the drop record

    @classmethod
    def kept(cls, doc: dict, metrics: list[Metric] | None = None) -> "Outcome":
        return cls(doc=doc, metrics=metrics or [])

    @classmethod
    def dropped(cls, reason: str, metrics: list[Metric] | None = None, **fields: Any) -> "Outcome":
        return cls(reason=reason, metrics=metrics or [], drop_fields=fields)


class DocumentStep:
    """One per-document stage. Subclasses set `name` and implement `__call__`."""

    name = ""

    def setup(self) -> None:
        """Build heavy state once per worker (called before the first document)."""

    def __call__(self, item: dict) -> Outcome:
        raise NotImplementedError


class PreprocessStep(DocumentStep):
    """Raw file -> document (size, binary, encoding, language, type); see refinecode/preprocess.py."""

    name = "preprocess"

    def __init__(self, config: PreprocessConfig):
        self.config = config

    def __call__(self, raw: dict) -> Outcome:
        doc, reason = preprocess_file(raw, self.config)
        return Outcome.kept(doc) if doc is not None else Outcome.dropped(reason)


class TransformStep(DocumentStep):
    """Copyright removal and PII reduction: rewrites, never drops (a transform bug skips that
    transform and keeps the document, counted as transform/error/<name>)."""

    name = "transform"

    def __init__(self, config: TransformConfig):
        self.config = config

    def __call__(self, doc: dict) -> Outcome:
        try:
            result = apply_transforms_with_errors(doc, self.config)
        except Exception as e:  # noqa: BLE001 - never lose a document to a transform bug
            return Outcome.kept(doc, [(f"transform/error/{type(e).__name__}", 1)])
        metrics = [(f"transform/error/{name}", 1) for name, _ in result.errors]
        if result.fired:
            metrics += [(f"transform/fired/{name}", 1) for name in result.fired]
            metrics += [(f"transform/replacements/{n}", c) for n, c in result.replacements.items()]
            metrics += [(f"transform/bytes_removed/{n}", b) for n, b in result.bytes_removed.items()]
            metrics += [("transform/changed_docs", 1), ("transform/bytes_removed", sum(result.bytes_removed.values()))]
        return Outcome.kept(result.doc, metrics)


class FilterStep(DocumentStep):
    """The three-tier heuristic filter; the reason is the first fired rule, every fired rule is
    counted (filter/fired/<rule>, filter/fired_by_language/<language>/<rule>)."""

    name = "filter"

    def __init__(self, config: FilterConfig):
        self.config = config
        self._tables = None

    def setup(self) -> None:
        self._tables = self.config.tables()

    def __call__(self, doc: dict) -> Outcome:
        if self._tables is None:
            self.setup()
        try:
            decision = filter_document(doc, self.config, self._tables)
        except Exception as exc:  # noqa: BLE001 - never crash the run; count and drop
            decision = FilterDecision(False, ["signal_error/internal"], {"internal": f"{type(exc).__name__}: {exc}"})
        language = doc.get("language") or "unknown"
        metrics = [(f"filter/signal_error/{name}", 1) for name in decision.errors]
        if decision.table:
            metrics.append((f"filter/table/{decision.table}", 1))
        for rule in decision.fired:
            metrics += [(f"filter/fired/{rule}", 1), (f"filter/fired_by_language/{language}/{rule}", 1)]
        if not decision.keep:
            return Outcome.dropped(decision.reason, metrics, fired=decision.fired)
        if self.config.keep_signals_in_meta:
            doc = copy.copy(doc)
            doc["meta"] = {**(doc.get("meta") or {}), "qsc": decision.signals}
        return Outcome.kept(doc, metrics)


class DecontaminateStep(DocumentStep):
    """Drop documents that leak HumanEval/MBPP items (refinecode/decontam.py). A document without
    text, or whose check raises, is kept and counted: the stage cannot judge it."""

    name = "decontaminate"

    def __init__(self, config: DecontamConfig):
        self.config = config
        self._dec: Decontaminator | None = None

    def setup(self) -> None:
        self._dec = shared_decontaminator(self.config)

    def __call__(self, doc: dict) -> Outcome:
        if self._dec is None:
            self.setup()
        text = doc.get("text")
        if not isinstance(text, str):
            return Outcome.kept(doc, [("decontaminate/no_text", 1)])
        try:
            hits = self._dec.check_all(text)
        except Exception as exc:  # noqa: BLE001 - never crash the run; count it
            return Outcome.kept(doc, [(f"decontaminate/error/{type(exc).__name__}", 1)])
        if not hits:
            return Outcome.kept(doc)
        first = hits[0]
        tasks: dict[tuple[str, str], None] = {}  # (benchmark, task id), each counted once per document
        for h in hits:
            tasks.update(dict.fromkeys((h.benchmark, t) for t in h.task_ids))
        metrics = [("decontaminate/kind/" + first.kind, 1)]
        metrics += [(f"decontaminate/documents/{b}", 1) for b in dict.fromkeys(h.benchmark for h in hits)]
        metrics += [(f"decontaminate/hit/{b}/{t}", 1) for b, t in tasks]
        all_hits = [{"benchmark": h.benchmark, "kind": h.kind, "task_ids": list(h.task_ids)} for h in hits]
        return Outcome.dropped(first.benchmark, metrics, task_ids=list(first.task_ids), kind=first.kind,
                               hits=all_hits)


_DECONTAMINATORS: dict[DecontamConfig, Decontaminator] = {}


def shared_decontaminator(config: DecontamConfig) -> Decontaminator:
    """One benchmark index per config and process (every step instance on a worker shares it)."""
    if config not in _DECONTAMINATORS:
        _DECONTAMINATORS[config] = Decontaminator(config)
    return _DECONTAMINATORS[config]


class SampleStep(DocumentStep):
    """Per-language downsampling (Java 200/449, HTML 64/474 by default); reason 'downsampled'."""

    name = "sample"

    def __init__(self, config: SampleConfig):
        self.config = config
        self._sampler = LanguageSampler(config)  # a bad rate fails here, in the driver

    def __call__(self, doc: dict) -> Outcome:
        language = canonical_language(doc.get("language")) or "unknown"
        if self._sampler.keep(doc):
            return Outcome.kept(doc, [(f"sample/kept/{language}", 1)])
        return Outcome.dropped("downsampled", [(f"sample/dropped/{language}", 1)])
