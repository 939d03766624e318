"""Gin plumbing shared by every command (T5X style).

Configs are frozen dataclasses decorated with `@gin.configurable`; a command parses
repeatable `--gin_file` / `--gin_param`, builds its configs in the driver, and writes the
operative config next to its outputs as `config.gin`.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Iterable, Sequence

import gin

GIN_CONFIG_DIR = Path(__file__).resolve().parent.parent / "gin_configs"


def add_gin_flags(parser) -> None:
    parser.add_argument("--gin_file", action="append", default=[],
                        help="gin file (repeatable); relative names are looked up in gin_configs/")
    parser.add_argument("--gin_param", action="append", default=[],
                        help="gin binding such as 'FuzzyDedupConfig.num_bands=16' (repeatable)")


def resolve_gin_file(name: str) -> str:
    if os.path.exists(name):
        return name
    candidate = GIN_CONFIG_DIR / name
    if candidate.exists():
        return str(candidate)
    raise FileNotFoundError(f"gin file {name!r} not found (looked in . and {GIN_CONFIG_DIR})")


def parse_gin(files: Sequence[str] = (), params: Sequence[str] = (), defaults: Iterable[str] = ()) -> None:
    """Load default gin files, then the user's files, then the user's bindings (last wins).

    Any mistake (unparsable binding, unknown name, a value of the wrong type for a dataclass
    field) is a one-line ValueError naming the culprit; the CLI turns it into exit status 2.
    """
    gin.clear_config()
    gin.add_config_file_search_path(str(GIN_CONFIG_DIR))
    all_files = [resolve_gin_file(f) for f in [*defaults, *files]]
    for name in all_files:
        try:
            gin.parse_config_file(name, skip_unknown=False)
        except (SyntaxError, ValueError, TypeError) as e:
            raise ValueError(f"gin file {name}: {_first_line(e)}") from None
    for param in params:
        if not param.strip():
            raise ValueError(f"--gin_param {param!r}: expected 'Configurable.parameter = value'")
        try:
            gin.parse_config(param, skip_unknown=False)
        except (SyntaxError, ValueError, TypeError) as e:
            raise ValueError(f"--gin_param {param!r}: {_first_line(e)} "
                             "(expected 'Configurable.parameter = value', strings quoted)") from None
    check_binding_types()


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def check_binding_types() -> None:
    """Every bound value must fit its dataclass field's annotation (gin checks no types)."""
    from gin import config as gin_internal

    for (scope, selector), values in gin_internal._CONFIG.items():
        info = gin_internal._REGISTRY.get_match(selector)
        cls = getattr(info, "wrapped", None)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            continue
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # noqa: BLE001 - an annotation we cannot resolve is not checked
            continue
        for name, value in values.items():
            if name in hints and not value_fits(value, hints[name]):
                where = f"{scope}/" if scope else ""
                raise ValueError(f"gin binding {where}{cls.__name__}.{name} = {value!r}: expected "
                                 f"{_type_name(hints[name])}, got {type(value).__name__}")


def value_fits(value, annotation) -> bool:
    """Whether a gin-parsed value can stand for `annotation` (lists stand for tuples)."""
    from gin import config as gin_internal

    if isinstance(value, gin_internal.ConfigurableReference):
        return True  # @references and %macros: resolved by gin later
    if annotation is typing.Any or isinstance(annotation, (str, typing.TypeVar)):
        return True
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(value_fits(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation in (tuple, list, collections.abc.Sequence):
        origin = annotation
    if origin in (tuple, list, collections.abc.Sequence, set, frozenset):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(value_fits(v, a) for v, a in zip(value, args))
        return not args or all(value_fits(v, args[0]) for v in value)
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            return False
        return not args or all(value_fits(k, args[0]) and value_fits(v, args[1]) for k, v in value.items())
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True  # anything fancier is not checked


def _type_name(annotation) -> str:
    return getattr(annotation, "__name__", None) if isinstance(annotation, type) else str(annotation).replace("typing.", "")


def write_operative_config(output_dir: str, name: str = "config.gin") -> str:
    """Write gin's operative config (every binding actually used) to output_dir/name."""
    from opencoder_jax import file_io

    path = file_io.join(output_dir, name)
    file_io.write_bytes(path, gin.operative_config_str().encode("utf-8"))
    return path
