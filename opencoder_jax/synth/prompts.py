"""Prompt templates of the synthetic-data generators, kept as text files in `prompts/`.

A template is a `string.Template` (`${name}` placeholders: code is full of braces, rarely of
dollars). `--prompts DIR` points a run at edited copies: any file found there wins.
"""
from __future__ import annotations

import os
import string

PROMPTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prompts")


def load_template(name: str, prompt_dir: str | None = None) -> string.Template:
    """The template `name` (file `name.txt`) from `prompt_dir` when it has one, else ours."""
    for directory in (prompt_dir, PROMPTS_DIR):
        if directory:
            path = os.path.join(directory, f"{name}.txt")
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as f:
                    return string.Template(f.read())
    raise FileNotFoundError(f"no prompt template {name}.txt in {prompt_dir or PROMPTS_DIR}")


def render(template: string.Template, **values: object) -> str:
    """Fill every placeholder (a missing value raises KeyError naming it)."""
    return template.substitute({k: str(v) for k, v in values.items()}).strip() + "\n"
