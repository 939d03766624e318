"""RefineCode transformation stage: rewrite documents, never drop them.

OpenCoder (arXiv 2411.04905, sec. 2.1.1) rewrites two things before filtering: leading
copyright notices (removed) and personally identifiable information (replaced by
placeholders). `apply_transforms` runs them in order on one document:

  copyright -> pii_key -> pii_password -> pii_email -> pii_ip_address -> pii_name

and records the names that changed the text in doc["meta"]["transforms"]. Each transform
is isolated: one that raises leaves the text as it was before that transform, is reported
in `TransformResult.errors`, and the others still run (a document is never lost).
"""
from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import gin

from opencoder_jax.refinecode.transforms import copyright as copyright_lib
from opencoder_jax.refinecode.transforms import pii as pii_lib
from opencoder_jax.refinecode.transforms.comment_syntax import canonical_language

TRANSFORM_NAMES = ("copyright", "pii_key", "pii_password", "pii_email", "pii_ip_address", "pii_name")


@gin.configurable
@dataclasses.dataclass(frozen=True)
class TransformConfig:
    remove_copyright: bool = True
    redact_keys: bool = True
    redact_passwords: bool = True
    redact_emails: bool = True
    redact_ip_addresses: bool = True
    redact_names: bool = True
    key_placeholder: str = "<key>"
    password_placeholder: str = "<password>"
    email_placeholder: str = "<email>"
    ip_address_placeholder: str = "<ip_address>"
    name_placeholder: str = "<name>"

    def enabled(self) -> tuple[str, ...]:
        flags = {
            "copyright": self.remove_copyright, "pii_key": self.redact_keys,
            "pii_password": self.redact_passwords, "pii_email": self.redact_emails,
            "pii_ip_address": self.redact_ip_addresses, "pii_name": self.redact_names,
        }
        return tuple(name for name in TRANSFORM_NAMES if flags[name])

    def placeholder(self, name: str) -> str:
        return {
            "pii_key": self.key_placeholder, "pii_password": self.password_placeholder,
            "pii_email": self.email_placeholder, "pii_ip_address": self.ip_address_placeholder,
            "pii_name": self.name_placeholder,
        }.get(name, "")


class TextResult(NamedTuple):
    text: str
    fired: list[str]  # transforms that changed the text, in order
    errors: list[tuple[str, str]]  # (transform name, "ExceptionType: message")
    replacements: dict[str, int]  # PII placeholders inserted per transform
    bytes_removed: dict[str, int]  # net UTF-8 bytes each firing transform removed


class TransformResult(NamedTuple):
    doc: dict[str, Any]  # the input doc when nothing changed, else a shallow copy
    fired: list[str]  # transforms that changed the text, in order
    errors: list[tuple[str, str]]  # (transform name, "ExceptionType: message")
    replacements: dict[str, int]  # PII placeholders inserted per transform
    bytes_removed: dict[str, int]  # net UTF-8 bytes each firing transform removed


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def transform_text(text: str, language: str, config: TransformConfig) -> TextResult:
    """Run the enabled transforms, in order, on one text of the given language."""
    fired: list[str] = []
    errors: list[tuple[str, str]] = []
    replacements: dict[str, int] = {}
    bytes_removed: dict[str, int] = {}
    redactors = pii_lib.redactors()
    for name in config.enabled():
        try:
            if name == "copyright":
                new_text, count = copyright_lib.remove_copyright(text, language), 1
            else:
                new_text, count = redactors[name](text, config.placeholder(name), language)
        except Exception as e:  # noqa: BLE001 -- a transform bug must never cost the document
            errors.append((name, f"{type(e).__name__}: {e}"))
            continue
        if new_text != text:
            fired.append(name)
            if name != "copyright":
                replacements[name] = count
            bytes_removed[name] = _utf8_len(text) - _utf8_len(new_text)
            text = new_text
    return TextResult(text, fired, errors, replacements, bytes_removed)


def apply_transforms_with_errors(doc: dict[str, Any], config: TransformConfig | None = None) -> TransformResult:
    config = config or TransformConfig()
    text = doc.get("text")
    if not isinstance(text, str):
        return TransformResult(doc, [], [("input", "document has no text")], {}, {})
    result = transform_text(text, canonical_language(doc.get("language")), config)
    if not result.fired:
        return TransformResult(doc, [], result.errors, {}, {})
    new_doc = dict(doc)
    new_doc["text"] = result.text
    meta = dict(doc.get("meta") or {})
    meta["transforms"] = list(meta.get("transforms", [])) + result.fired
    new_doc["meta"] = meta
    return TransformResult(new_doc, result.fired, result.errors, result.replacements, result.bytes_removed)


def apply_transforms(doc: dict[str, Any], config: TransformConfig | None = None) -> tuple[dict[str, Any], list[str]]:
    """(doc with transforms applied, names that fired). The input dict is not mutated."""
    result = apply_transforms_with_errors(doc, config)
    return result.doc, result.fired
