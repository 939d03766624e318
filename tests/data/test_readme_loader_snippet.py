"""The README's loader snippet, saved as a script and run in a fresh interpreter.

Grain's prefetch workers are spawned processes that re-import the script, and batches live in
shared memory: the snippet must run to the end and exit without tracebacks or leaked segments.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.data.conftest import write_docs

REPO = Path(__file__).resolve().parents[2]
MARKER = "<!-- readme-snippet: loader -->"


def readme_snippet() -> str:
    text = (REPO / "README.md").read_text()
    assert MARKER in text, "the README lost its loader snippet marker"
    match = re.search(re.escape(MARKER) + r"\s*```python\n(.*?)```", text, re.S)
    assert match, "no ```python block right after the marker"
    return match.group(1)


def test_readme_loader_snippet_runs_cleanly_as_a_script(tmp_path):
    write_docs(str(tmp_path / "out" / "tokens"), [[300, 200, 700], [50, 900, 40]])
    script = tmp_path / "loader_snippet.py"
    script.write_text(readme_snippet())
    env = dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "leaked" not in proc.stderr, proc.stderr[-3000:]
    # The printed shapes are the documented [batch, seq_len] rows.
    assert "'inputs': (8, 512)" in proc.stdout and "'segment_ids': (8, 512)" in proc.stdout, proc.stdout
