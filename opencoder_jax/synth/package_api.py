"""The documented API of installed Python packages: the seeds of Package-Instruct.

For each named package (or standard-library module) we import it and walk its public names
(`__all__` when defined, else the names without a leading underscore), its submodules that
it already imported, and the public methods of its classes; every function, class or method
whose docstring has at least `min_doc_chars` characters becomes one seed:

  seed id   "<package>==<version>:<qualified name>"   (a new version gives new seeds)
  payload   ApiDoc(package, version, api, name, signature, docstring)

Objects defined outside the package (re-exports of other packages) are skipped. The order is
deterministic (sorted names, depth first). The version is the installed distribution's
(`importlib.metadata`), or Python's own for the standard library.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import inspect
import platform
import re
import sys
import types
from typing import Iterable, Iterator

from opencoder_jax.synth.seeds import Seed


@dataclasses.dataclass(frozen=True)
class ApiDoc:
    package: str    # the import name given ("numpy", "json")
    version: str
    api: str        # fully qualified: "numpy.linalg.norm", "json.JSONDecoder.decode"
    name: str       # the attribute name ("norm", "decode")
    signature: str  # "norm(x, ord=None, axis=None, keepdims=False)" or "(signature unavailable)"
    docstring: str


def package_version(package: str) -> str:
    root = package.split(".")[0]
    if root in getattr(sys, "stdlib_module_names", ()):
        return f"python-{platform.python_version()}"
    dists = importlib.metadata.packages_distributions().get(root, [])
    for dist in dists or [root]:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    module = sys.modules.get(root)
    return str(getattr(module, "__version__", "unknown"))


def _public_names(obj) -> list[str]:
    names = getattr(obj, "__all__", None) if isinstance(obj, types.ModuleType) else None
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        names = [n for n in dir(obj) if not n.startswith("_")]
    return sorted(set(names))


def _signature(obj, name: str) -> str:
    try:  # default values print as "<... at 0x7f...>": drop the address (prompts stay deterministic)
        return re.sub(r" at 0x[0-9a-fA-F]+", "", f"{name}{inspect.signature(obj)}")
    except (TypeError, ValueError):
        return "(signature unavailable)"


def _defined_in(obj, root: str) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == root or module.startswith(root + ".") or module.lstrip("_") == root


def api_docs(package: str, *, min_doc_chars: int = 40, max_doc_chars: int = 2000,
             max_depth: int = 2) -> Iterator[ApiDoc]:
    """The documented public callables of one installed package (see the module doc)."""
    try:
        module = importlib.import_module(package)
    except ImportError as e:
        raise ValueError(f"package {package!r} cannot be imported here: {e}") from None
    version = package_version(package)
    root = package.split(".")[0]
    seen_modules: set[str] = set()
    seen_objects: set[int] = set()

    def doc_of(obj, qualified: str, name: str) -> ApiDoc | None:
        try:
            doc = inspect.getdoc(obj) or ""
        except Exception:  # a broken descriptor: not documentation
            return None
        if len(doc) < min_doc_chars:
            return None
        return ApiDoc(package, version, qualified, name, _signature(obj, name), doc[:max_doc_chars])

    def walk(mod: types.ModuleType, depth: int) -> Iterator[ApiDoc]:
        if mod.__name__ in seen_modules:
            return
        seen_modules.add(mod.__name__)
        submodules = []
        for name in _public_names(mod):
            try:
                obj = getattr(mod, name)
            except Exception:  # lazy attributes that fail to load
                continue
            if isinstance(obj, types.ModuleType):
                if obj.__name__.startswith(root + ".") and depth < max_depth:
                    submodules.append(obj)
                continue
            if not (inspect.isclass(obj) or callable(obj)) or not _defined_in(obj, root):
                continue
            if id(obj) in seen_objects:
                continue
            seen_objects.add(id(obj))
            qualified = f"{mod.__name__}.{name}"
            found = doc_of(obj, qualified, name)
            if found is not None:
                yield found
            if inspect.isclass(obj):
                for attr in sorted(vars(obj)):
                    if attr.startswith("_"):
                        continue
                    member = vars(obj)[attr]
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    if inspect.isfunction(member) or inspect.ismethoddescriptor(member) or inspect.isbuiltin(member):
                        found = doc_of(member, f"{qualified}.{attr}", attr)
                        if found is not None:
                            yield found
        for sub in sorted(submodules, key=lambda m: m.__name__):
            yield from walk(sub, depth + 1)

    yield from walk(module, 0)


def api_seeds(packages: Iterable[str], **kwargs) -> Iterator[Seed]:
    for package in packages:
        for doc in api_docs(package, **kwargs):
            yield Seed(f"{doc.package}=={doc.version}:{doc.api}", doc)
