"""The dependency arrows point one way: the library never imports Beam or the Beam graphs.

Only the app layer (`opencoder_jax/cli.py` and `opencoder_jax/quickstart.py`) may compose
Beam pipelines. Every other module of `opencoder_jax` must import with `apache_beam` and
`beam_pipelines` made unimportable, and must not import them lazily either (checked on the
source: a function-level `import apache_beam` would only fail when called).
"""
from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "opencoder_jax"
APP_LAYER = {LIBRARY / "cli.py", LIBRARY / "quickstart.py"}
FORBIDDEN = ("apache_beam", "beam_pipelines")


def _library_modules() -> list[pathlib.Path]:
    return sorted(p for p in LIBRARY.rglob("*.py") if p not in APP_LAYER)


def _imported_names(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_library_module_names_beam_in_an_import():
    offenders = {}
    for path in _library_modules():
        bad = sorted(n for n in _imported_names(path) if n.split(".")[0] in FORBIDDEN)
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert not offenders, f"library modules importing Beam (move the code to the app layer or beam_pipelines/): {offenders}"


def test_every_library_module_imports_without_beam():
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in _library_modules()]
    modules = [m[: -len(".__init__")] if m.endswith(".__init__") else m for m in modules]
    code = (
        "import sys, importlib\n"
        f"for name in {FORBIDDEN!r}: sys.modules[name] = None  # any import of them now raises\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]
