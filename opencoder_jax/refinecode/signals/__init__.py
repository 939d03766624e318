"""Quality signals of the three-tier heuristic filter (OpenCoder naming qsc_<type>_<metric>_...).

  code_document  the shared per-document view every signal reads (CodeDocument)
  text_signals   qsc_doc_*  (natural-language tier)
  code_signals   qsc_code_* (general-code tier)
  specific/      qsc_code<lang>_* (language-specific tier, SPECIFIC_SIGNALS)
  registry       name -> function, tier, in the released evaluation order
"""
from opencoder_jax.refinecode.signals.code_document import AST_PARSERS, CodeDocument

__all__ = ["AST_PARSERS", "CodeDocument"]
