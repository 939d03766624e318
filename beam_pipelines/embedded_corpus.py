"""The embedded default corpus: the source files of the running Python installation.

Real multi-language code written by others, present on every machine after set-up: the
standard library (each top-level package one repository, loose modules one more) and
every installed distribution of the environment's site-packages (each top-level folder
one repository). `__pycache__` folders hold build artefacts, not sources, and are skipped.
"""
from __future__ import annotations

import dataclasses
import os
import sysconfig

import gin

from opencoder_jax.names import check_names


@gin.configurable
@dataclasses.dataclass(frozen=True)
class EmbeddedCorpusConfig:
    include_stdlib: bool = True
    include_site_packages: bool = True
    # Only these site-packages folders (None = all); lets the quickstart stay small.
    packages: tuple[str, ...] | None = None
    # Cap on stdlib repositories taken (None = all), in name order.
    max_stdlib_repos: int | None = None


@dataclasses.dataclass(frozen=True)
class TreeSpec:
    root: str
    repo_prefix: str
    exclude: frozenset[str] = frozenset()
    include: frozenset[str] | None = None
    max_repos: int | None = None


def embedded_trees(config: EmbeddedCorpusConfig) -> list[TreeSpec]:
    paths = sysconfig.get_paths()
    stdlib = paths["stdlib"]
    site = paths["purelib"]
    trees = []
    if config.include_stdlib and os.path.isdir(stdlib):
        trees.append(TreeSpec(stdlib, "stdlib/", exclude=frozenset({"site-packages", "dist-packages"}),
                              max_repos=config.max_stdlib_repos))
    if config.include_site_packages and os.path.isdir(site):
        include = None
        if config.packages is not None:
            include = frozenset(config.packages)
            check_names("package", config.packages, os.listdir(site), where=f"EmbeddedCorpusConfig.packages ({site})")
        trees.append(TreeSpec(site, "site-packages/", include=include))
    if not trees:
        raise ValueError("the embedded corpus is empty: enable include_stdlib or include_site_packages")
    return trees
