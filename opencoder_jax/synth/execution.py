"""Running a teacher's code and tests in the evaluation sandbox (`eval/sandbox.py`).

The program is the solution followed by its tests; it passes when it runs to its end. Each
other sandbox status is one rejection reason: `tests_failed` (an assert or any exception),
`timeout` (wall clock or CPU limit), `sandbox_error` (it could not start).
"""
from __future__ import annotations

from opencoder_jax.eval.sandbox import ERROR, FAILED, PASSED, TIMEOUT, Limits, Sandbox

REASONS = {FAILED: "tests_failed", TIMEOUT: "timeout", ERROR: "sandbox_error"}


def make_sandbox(timeout: float = 10.0, workers: int | None = None, isolation: str = "auto") -> Sandbox:
    return Sandbox(Limits(timeout=timeout), workers=workers, isolation=isolation)


def program(code: str, tests: str = "") -> str:
    return code.rstrip() + "\n\n\n" + tests.rstrip() + "\n" if tests else code.rstrip() + "\n"


def run_program(sandbox: Sandbox, source: str, failed_reason: str = "tests_failed") -> tuple[str | None, str]:
    """(rejection reason or None when it passed, the sandbox's error text)."""
    result = sandbox.run(source)
    if result.status == PASSED:
        return None, ""
    reason = failed_reason if result.status == FAILED else REASONS.get(result.status, "sandbox_error")
    return reason, (result.error or result.stderr[-500:])
