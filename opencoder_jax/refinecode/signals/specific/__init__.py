"""Language-specific tier of the filter: OpenCoder's qsc_code<lang>_* quality signals.

SPECIFIC_SIGNALS maps program_lang -> {signal name: fn(CodeDocument) -> value}, names and
order exactly as the released opc_data_filtering registers them (the order matters: the
released caller stops a document's group at the first signal that raises). A signal returns
None where the released one does; it raises where the released one would raise, including
SignalInputTooComplex where the released recursion would overflow (see common.py).

Importing this package registers the 'javascript' and 'html' parsers in
CodeDocument.AST_PARSERS, so `doc.ast` is the esprima tree / the bs4-equivalent visible text.
"""
from __future__ import annotations

from typing import Callable, Optional, Union

from opencoder_jax.refinecode.signals.code_document import AST_PARSERS, CodeDocument
from opencoder_jax.refinecode.signals.specific.c_family import C_SIGNALS, CPP_SIGNALS
from opencoder_jax.refinecode.signals.specific.common import SignalInputTooComplex
from opencoder_jax.refinecode.signals.specific.csharp import CSHARP_SIGNALS
from opencoder_jax.refinecode.signals.specific.go import GO_SIGNALS
from opencoder_jax.refinecode.signals.specific.html import HTML_SIGNALS, parse_html
from opencoder_jax.refinecode.signals.specific.java import JAVA_SIGNALS
from opencoder_jax.refinecode.signals.specific.javascript import JAVASCRIPT_SIGNALS, parse_js
from opencoder_jax.refinecode.signals.specific.python import PYTHON_SIGNALS

AST_PARSERS.setdefault("javascript", parse_js)
AST_PARSERS.setdefault("html", parse_html)

SignalValue = Optional[Union[float, int, bool]]

SPECIFIC_SIGNALS: dict[str, dict[str, Callable[[CodeDocument], SignalValue]]] = {
    "python": PYTHON_SIGNALS,
    "c": C_SIGNALS,
    "cpp": CPP_SIGNALS,
    "csharp": CSHARP_SIGNALS,
    "java": JAVA_SIGNALS,
    "javascript": JAVASCRIPT_SIGNALS,
    "go": GO_SIGNALS,
    "html": HTML_SIGNALS,
}

__all__ = ["SPECIFIC_SIGNALS", "SignalInputTooComplex"]
