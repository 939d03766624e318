"""Gin plumbing shared by every command (T5X style).

Configs are frozen dataclasses decorated with `@gin.configurable`; a command parses
repeatable `--gin_file` / `--gin_param`, builds its configs in the driver, and writes the
operative config next to its outputs as `config.gin`.
"""
from __future__ import annotations

import os
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
    """Load default gin files, then the user's files, then the user's bindings (last wins)."""
    gin.clear_config()
    gin.add_config_file_search_path(str(GIN_CONFIG_DIR))
    all_files = [resolve_gin_file(f) for f in [*defaults, *files]]
    gin.parse_config_files_and_bindings(all_files, list(params), finalize_config=False, skip_unknown=False)


def write_operative_config(output_dir: str, name: str = "config.gin") -> str:
    """Write gin's operative config (every binding actually used) to output_dir/name."""
    from apache_beam.io.filesystems import FileSystems

    path = FileSystems.join(output_dir, name)
    text = gin.operative_config_str()
    with FileSystems.create(path) as f:
        f.write(text.encode("utf-8"))
    return path
