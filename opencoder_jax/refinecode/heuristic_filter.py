"""The three-tier heuristic filter as a plain per-document API (no Beam).

    facts = file_facts(doc, config)              # program language, doc type, language
    signals, errors = compute_signals(doc, config, facts)
    decision = decide(doc, signals, config, facts, errors)   # FilterDecision(keep, fired, errors)
    # or simply: decision = filter_document(doc, config)

Parity with OpenCoder's released pipeline (compute_quality_signals.py + compute_filtering.py):
  * doc types: 'text' -> qsc_doc_* signals; 'code'/'data' -> qsc_code_* then the
    language-specific group of its program language; 'unknown'/'excluded' -> no signals and
    the document is dropped (reason 'doc_type/<type>'; FilterConfig.drop_unknown_doc_type).
  * signals run group by group in registry order, each under a timeout (10 s, main thread
    only). A signal that raises or times out gets the value None and, as released, the REST
    OF ITS GROUP IS NOT COMPUTED; rules whose signal is missing or None do not fire.
  * a rule that cannot compare its value (e.g. a str) does not fire; the error is recorded.
  * the first rule that fires, in table order, is the drop reason; all fired rules are listed.

Error policy (our choice, documented): every signal error is REPORTED (FilterDecision.errors,
stage metrics 'filter/signal_error/<name>'). It DROPS the document only where the released
logic would not simply skip it: when the per-document view itself cannot be built (released:
the whole evaluation crashes and the file has no signals) -> 'signal_error/document'.
FilterConfig.drop_on_signal_error=True also drops on any single failing signal,
'signal_error/<name>' (the issue's stricter reading; off by default for parity).
"""
from __future__ import annotations

import dataclasses
import signal as os_signal
import threading
from typing import Any, Optional

from opencoder_jax.document import Document
from opencoder_jax.refinecode.filter_quirks import apply_signal_fixes, fixed_language
from opencoder_jax.refinecode.languages import DOC_TYPES, detect_language, load_table, split_filename_extension
from opencoder_jax.refinecode.signals.code_document import CodeDocument
from opencoder_jax.refinecode.signals.registry import signal_groups
from opencoder_jax.refinecode.text_language import detect_text_language
from opencoder_jax.refinecode.filter_config import FilterConfig, table_name
from opencoder_jax.refinecode.filter_rule import deterministic_draw

DOCUMENT_ERROR = "document"


@dataclasses.dataclass
class FilterDecision:
    keep: bool
    fired: list[str]  # rules that fired, in table order (or one 'doc_type/...' / 'signal_error/...')
    errors: dict[str, str]  # signal or rule name -> error message
    table: Optional[str] = None  # threshold table used
    signals: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def reason(self) -> Optional[str]:
        """The drop reason (first fired rule), None when kept."""
        return None if self.keep else self.fired[0]


class SignalTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise SignalTimeout("signal timed out")


@dataclasses.dataclass(frozen=True)
class FileFacts:
    """What the released filter keys on for one file."""

    filename: str  # base name without its extension (released: os.path.splitext(name)[0])
    extension: str  # without the dot
    program_lang: str  # OpenCoder program language, e.g. "python", "cpp", "unknown"
    doc_type: str  # code / data / text / unknown / excluded
    lang: str  # natural language: 'en' or 'zh'
    file_size_in_byte: Optional[int]


def file_facts(doc: Document, config: Optional[FilterConfig] = None) -> FileFacts:
    """The facts of one document. Preprocess already stored them: doc["language"] is the
    released program language, doc["lang_type"] its doc type, meta "filename"/"extension";
    documents without them are looked up from their path (refinecode.languages).
    doc["meta"]["text_lang"] pins the natural language (else text_language.py decides)."""
    config = config or FilterConfig()
    meta = doc.get("meta") or {}
    path = doc.get("path") or ""
    filename, extension = split_filename_extension(path)
    filename = meta.get("filename", filename)
    extension = meta.get("extension", extension)
    program_lang = doc.get("language")
    doc_type = doc.get("lang_type")
    if not program_lang:
        info = detect_language(path)
        program_lang, doc_type = info.name, info.doc_type
    elif doc_type not in DOC_TYPES:
        doc_type = load_table().doc_type_of(program_lang)
    if not config.quirks.released:  # filter_fixed.gin: corrected labels (setup.cfg, requirements/*.in)
        program_lang, doc_type = fixed_language(path, filename, extension, program_lang, doc_type, config.quirks)
    lang = meta.get("text_lang") or detect_text_language(doc.get("text") or "", config.zh_han_fraction)
    size = doc.get("size_bytes")
    if size is None and isinstance(doc.get("text"), str):
        size = len(doc["text"].encode("utf-8", "surrogatepass"))
    return FileFacts(filename, extension, program_lang, doc_type, lang, size)


def code_document(doc: Document, facts: FileFacts) -> CodeDocument:
    text = doc.get("text")
    if not isinstance(text, str):
        raise TypeError(f"document text must be a str, got {type(text).__name__}")
    return CodeDocument(
        text,
        filename=facts.filename,
        extension=facts.extension,
        file_size_in_byte=facts.file_size_in_byte,
        program_lang=facts.program_lang,
        doc_type=facts.doc_type,
        lang=facts.lang,
    )


def _timer_usable(timeout_s: float) -> bool:
    return timeout_s > 0 and threading.current_thread() is threading.main_thread()


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:500]}"


def compute_signals(
    doc: Document, config: Optional[FilterConfig] = None, facts: Optional[FileFacts] = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """All signals of the document's tiers -> (signals, errors), released control flow."""
    config = config or FilterConfig()
    signals: dict[str, Any] = {}
    errors: dict[str, str] = {}
    try:
        facts = facts or file_facts(doc, config)
        view = code_document(doc, facts)
        groups = apply_signal_fixes(signal_groups(facts.doc_type, facts.program_lang), config.quirks)
    except Exception as exc:  # noqa: BLE001 - reported, and the document dropped, by decide()
        errors[DOCUMENT_ERROR] = _error_text(exc)
        return signals, errors
    use_timer = _timer_usable(config.signal_timeout_s)
    previous_handler = os_signal.signal(os_signal.SIGALRM, _on_alarm) if use_timer else None
    try:
        for _tier, group in groups:
            for name, fn in group.items():
                try:
                    if use_timer:
                        os_signal.setitimer(os_signal.ITIMER_REAL, config.signal_timeout_s)
                    try:
                        value = fn(view)
                    finally:
                        if use_timer:
                            os_signal.setitimer(os_signal.ITIMER_REAL, 0)
                    signals[name] = value
                except (Exception, RecursionError, SignalTimeout) as exc:  # noqa: BLE001
                    signals[name] = None
                    errors[name] = _error_text(exc)
                    break  # released: the rest of this group is not computed
    finally:
        if use_timer:
            os_signal.signal(os_signal.SIGALRM, previous_handler)
    return signals, errors


def decide(
    doc: Document,
    signals: dict[str, Any],
    config: Optional[FilterConfig] = None,
    facts: Optional[FileFacts] = None,
    signal_errors: Optional[dict[str, str]] = None,
    tables: Optional[dict] = None,
) -> FilterDecision:
    """Keep or drop, from already computed signals (released compute_filtering.py)."""
    config = config or FilterConfig()
    errors = dict(signal_errors or {})
    if DOCUMENT_ERROR in errors:
        return FilterDecision(False, [f"signal_error/{DOCUMENT_ERROR}"], errors, None, signals)
    facts = facts or file_facts(doc, config)
    table = table_name(facts.doc_type, facts.lang, facts.program_lang)
    if table is None:
        keep = not config.drop_unknown_doc_type
        return FilterDecision(keep, [] if keep else [f"doc_type/{facts.doc_type}"], errors, None, signals)
    if config.drop_on_signal_error and errors:
        return FilterDecision(False, [f"signal_error/{next(iter(errors))}"], errors, table, signals)
    rules = (tables or config.tables())[table]
    fired: list[str] = []
    doc_id = str(doc.get("id", ""))
    for name, rule in rules.items():
        if rule is None or name not in signals:
            continue
        value = signals[name]
        if value is None:
            continue
        try:
            hit = rule.fires(value, deterministic_draw(config.seed, doc_id, name) if rule.probability < 1.0 else 0.0)
        except Exception as exc:  # noqa: BLE001 - released: the rule errs and does not fire
            errors[f"rule:{name}"] = _error_text(exc)
            continue
        if hit:
            fired.append(name)
    return FilterDecision(not fired, fired, errors, table, signals)


def filter_document(doc: Document, config: Optional[FilterConfig] = None, tables: Optional[dict] = None) -> FilterDecision:
    """compute_signals + decide for one document."""
    config = config or FilterConfig()
    try:
        facts = file_facts(doc, config)
    except Exception as exc:  # noqa: BLE001
        return FilterDecision(False, [f"signal_error/{DOCUMENT_ERROR}"], {DOCUMENT_ERROR: _error_text(exc)})
    if table_name(facts.doc_type, facts.lang, facts.program_lang) is None:
        return decide(doc, {}, config, facts, {}, tables)
    signals, errors = compute_signals(doc, config, facts)
    return decide(doc, signals, config, facts, errors, tables)
