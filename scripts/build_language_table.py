"""Regenerate opencoder_jax/refinecode/data/language_table.json from OpenCoder's tables.

The language tables of OpenCoder's released filter (OpenCoder-llm/opc_data_filtering) are
GitHub-linguist-derived facts stored as Python dict/list literals:

  artifacts/extension_to_program.py   EXTENSION_TO_PROGRAM  {extension: language}
  artifacts/filename_to_program.py    FILENAME_TO_PROGRAM   {file name: language}
  artifacts/program_to_type.py        PROGRAM_TO_TYPE       {language: code|data|text}
  utils/preprocessing.py              excluded_code_langs   [language, ...]

This script only *parses* those literals (``ast``; nothing is imported or executed) and
writes them, in their original order, to our JSON data file with a provenance header.
Python dict literals keep the last value of a repeated key; the script reports repeated
keys so a future table revision cannot change meaning silently.

Usage (either a checkout of the repository or a git directory of it):
  python scripts/build_language_table.py --source-dir path/to/opc_data_filtering
  python scripts/build_language_table.py --git-dir /work/.mirror/OpenCoder-llm+opc_data_filtering/repo
"""
from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from pathlib import Path

SOURCE_REPO = "OpenCoder-llm/opc_data_filtering"
TABLES = {
    # json key: (file in the source repo, variable name)
    "extension_to_language": ("artifacts/extension_to_program.py", "EXTENSION_TO_PROGRAM"),
    "filename_to_language": ("artifacts/filename_to_program.py", "FILENAME_TO_PROGRAM"),
    "language_to_type": ("artifacts/program_to_type.py", "PROGRAM_TO_TYPE"),
    "excluded_languages": ("utils/preprocessing.py", "excluded_code_langs"),
}
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "opencoder_jax/refinecode/data/language_table.json"


def find_literal(source: str, name: str) -> ast.expr:
    """The literal assigned to a top-level `name = ...` in a Python source text."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return node.value
    raise KeyError(f"no top-level assignment to {name}")


def dict_items(node: ast.expr) -> tuple[dict, list]:
    """(mapping with last-wins semantics like Python, repeated keys)."""
    if not isinstance(node, ast.Dict):
        raise TypeError("expected a dict literal")
    pairs = [(ast.literal_eval(k), ast.literal_eval(v)) for k, v in zip(node.keys, node.values)]
    mapping: dict = {}
    repeated = []
    for key, value in pairs:
        if key in mapping:
            repeated.append(key)
        mapping[key] = value
    return mapping, repeated


def read_source(args, path: str) -> str:
    if args.source_dir:
        return (Path(args.source_dir) / path).read_text(encoding="utf-8")
    return subprocess.run(
        ["git", "-C", args.git_dir, "show", f"{args.rev}:{path}"],
        check=True, capture_output=True, text=True,
    ).stdout


def source_commit(args) -> str | None:
    directory = args.git_dir or args.source_dir
    try:
        out = subprocess.run(["git", "-C", directory, "rev-parse", args.rev],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None


def build(args) -> dict:
    table: dict = {
        "source": {"repo": SOURCE_REPO, "commit": source_commit(args),
                   "files": {key: f"{path}:{var}" for key, (path, var) in TABLES.items()}},
        "counts": {},
    }
    for key, (path, var) in TABLES.items():
        node = find_literal(read_source(args, path), var)
        if key == "excluded_languages":
            value = ast.literal_eval(node)
            if not isinstance(value, list):
                raise TypeError(f"{var} is not a list")
            repeated = sorted({v for v in value if value.count(v) > 1})
        else:
            value, repeated = dict_items(node)
        if repeated:
            print(f"warning: {var} repeats {repeated} (kept as Python would)", file=sys.stderr)
        table[key] = value
        table["counts"][key] = len(value)
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--source-dir", help="a checkout of opc_data_filtering")
    where.add_argument("--git-dir", help="a git directory of opc_data_filtering (read with git show)")
    parser.add_argument("--rev", default="HEAD", help="revision to read with --git-dir")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT))
    args = parser.parse_args(argv)
    table = build(args)
    Path(args.output).write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.output}: {table['counts']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
