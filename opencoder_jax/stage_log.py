"""Console, per-stage log files and logged subprocesses for multi-stage jobs (the quickstart).

A stage's own output (Python objects and file descriptors 1/2, so Beam workers and native
libraries too) goes to its log file; `CONSOLE` still reaches the terminal for progress lines.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from typing import Callable

LOG_TAIL_LINES = 15
HEARTBEAT_S = 30.0


class Console:
    """Where progress lines go while a stage's output is redirected to its log."""

    def __init__(self):
        self.fd: int | None = None
        self.stream = None

    def write(self, text: str) -> None:
        if self.fd is not None:
            os.write(self.fd, text.encode("utf-8", "replace"))
        else:
            stream = self.stream or sys.stdout
            stream.write(text)
            stream.flush()


CONSOLE = Console()


@contextlib.contextmanager
def logged(path: str):
    """Send this process's stdout/stderr (Python objects and file descriptors 1/2, so Beam's
    worker processes and native libraries too) to `path` (appended)."""
    sys.stdout.flush()
    sys.stderr.flush()
    log = open(path, "a", encoding="utf-8", buffering=1)
    saved = []
    orig_stdout = sys.stdout
    try:
        orig_is_fd1 = orig_stdout.fileno() == 1
    except (AttributeError, OSError, ValueError):
        orig_is_fd1 = False
    try:
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
                os.dup2(log.fileno(), fd)
            except OSError:
                pass
        CONSOLE.fd = dict(saved).get(1) if orig_is_fd1 else None
        CONSOLE.stream = None if orig_is_fd1 else orig_stdout
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            yield log
    finally:
        CONSOLE.fd, CONSOLE.stream = None, None
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)
            log.close()


def tail(path: str, n: int = LOG_TAIL_LINES) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [ln.rstrip("\n").split("\r")[-1] for ln in f.readlines()]
    except OSError:
        return ""
    return "\n".join("    " + ln for ln in lines[-n:])


def say(msg: str) -> None:
    print(msg, flush=True)


def opencoder_command(*args: str) -> list[str]:
    """`opencoder ARGS` in a fresh interpreter (its own gin state and JAX runtime)."""
    return [sys.executable, "-m", "opencoder_jax.cli", *args]


def run_logged(argv: list[str], log_path: str, heartbeat: Callable[[], str | None] | None = None) -> None:
    """Run argv with stdout+stderr appended to log_path; raise on a non-zero exit. Every
    HEARTBEAT_S seconds `heartbeat()` may return a progress line for the console."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("$ " + " ".join(argv) + "\n")
        log.flush()
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        last = time.time()
        try:
            while True:
                try:
                    rc = proc.wait(timeout=1.0)
                    break
                except subprocess.TimeoutExpired:
                    if heartbeat is not None and time.time() - last >= HEARTBEAT_S:
                        last = time.time()
                        line = heartbeat()
                        if line:
                            CONSOLE.write(f"  ... {line}\n")
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    if rc != 0:
        raise RuntimeError(f"`opencoder {' '.join(argv[3:5])} ...` exited with status {rc}")
