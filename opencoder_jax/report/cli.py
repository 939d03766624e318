"""`opencoder report DIR`: (re)write DIR/report.html from a RefineCode run's stats.json."""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output_dir", metavar="DIR",
                        help="a RefineCode output directory holding stats.json (and drop_examples.jsonl)")


def run(args: argparse.Namespace) -> int:
    from opencoder_jax.report.html_report import write_report

    try:
        path = write_report(args.output_dir)
    except (FileNotFoundError, ValueError) as e:
        print(f"opencoder report: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0
