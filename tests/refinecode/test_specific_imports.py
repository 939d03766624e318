"""A missing parser package of the language-specific tier fails the filter at its start (issue 19).

Before: the tier was skipped with a logged warning and the filter silently kept more documents.
Simulated in a subprocess: sys.modules['esprima'] = None makes `import esprima` fail.
"""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    sys.modules["esprima"] = None  # as if esprima were not installed
    from opencoder_jax.refinecode.filter_config import FilterConfig
    try:
        FilterConfig()
    except ImportError as e:
        print("IMPORT_ERROR:", e)
    else:
        print("CONSTRUCTED")
""")


def test_filter_config_raises_when_esprima_is_missing():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "IMPORT_ERROR:" in out.stdout, out.stdout + out.stderr
    assert "'esprima'" in out.stdout and "pip install 'esprima==4.0.1'" in out.stdout


def test_filter_config_builds_when_every_package_imports():
    from opencoder_jax.refinecode.signals import registry
    from opencoder_jax.refinecode.filter_config import FilterConfig

    registry.set_specific_signals(None)
    FilterConfig()
    assert "qsc_codejavascript_cate_ast" in registry.specific_signals()["javascript"]
