"""Run untrusted Python programs (model completions + their tests), each in its own sandbox.

Every program gets:

* a fresh interpreter: `python -I -S -B bootstrap.pyc` (the bootstrap compiled once per
  Sandbox) is exec'd, never a fork of the harness (the harness only forks+execs through
  `subprocess`, with no `preexec_fn`, so it is safe to call from many threads). The program's
  source arrives on a pipe; the bootstrap sets the resource limits, changes into the temp
  dir and runs it. Without a PID namespace the bootstrap first forks once, inside that fresh
  interpreter: the parent is a tiny relay that waits for the program and reports its exit
  status (so the program's parent is not the harness);
* a fresh, empty temporary directory as its cwd (also HOME and TMPDIR), removed afterwards;
* a clean environment: a fixed handful of variables (PATH, LANG, HOME, TMPDIR and
  thread-count pins), none of the harness's own; stdin is /dev/null;
* resource limits (setrlimit in the program process): CPU seconds, address space, file size,
  number of processes/threads, open files, no core dumps;
* a wall-clock deadline after which the whole process group is SIGKILLed;
* stdout/stderr read by the harness with a cap: a program that writes more than
  `Limits.max_output_bytes` on either stream is killed and scored failed, and only the first
  `Limits.keep_output_bytes` are kept;
* isolation, chosen by `detect_isolation()` (see `Isolation`):

  - ``full`` (Linux, root, util-linux `unshare`): new network, PID and mount namespaces
    (`unshare --net --pid --fork --kill-child --mount-proc`): no network at all (only a
    loopback device that is down), the program sees only its own processes in /proc, and it
    is PID 1 of its namespace: when it ends, the kernel kills everything it left behind, even
    processes that called setsid() (as PID 1 it also ignores signals it sends itself without
    a handler, and the CPU limit kills it with SIGKILL rather than SIGXCPU; the harness
    reads the CPU time from wait4() to score that as a timeout). The program runs under its own
    unprivileged uid/gid (one per worker slot, via `setpriv`), so it cannot write or delete
    files of the harness (outside world-writable places such as /tmp), read other processes'
    /proc/<pid>/environ, or signal the harness; RLIMIT_NPROC then counts only its own
    processes, so a fork bomb stops at `max_processes`. Where that uid cannot read the
    interpreter's own installation (Python under a 0700 home such as /root), the program
    keeps CAP_DAC_READ_SEARCH (`Sandbox.read_all_files`): it may then read, never write, any
    file; `describe()` reports it.
  - ``userns`` (Linux, not root, unprivileged user namespaces allowed):
    `unshare --user --map-root-user --net --pid --fork ...`: the same network and process
    isolation, but the program keeps the harness's uid outside the namespace (so files the
    harness's user can write are writable by the program) and RLIMIT_NPROC counts all of
    that user's processes.
  - ``process-group`` (anything else, e.g. macOS or a container that forbids namespaces):
    WEAKER. Resource limits, clean env, temp dir and the process-group kill still apply, and
    the relay process means `os.kill(os.getppid(), ...)` hits the relay, not the harness;
    but the program shares the host network and the harness's uid (when the harness is
    root it still drops to a per-slot uid and leftover processes are killed by uid). A
    program that forks a child which calls setsid() and sleeps can outlive its run there.

  `Sandbox.isolation.describe()` says which mode is active; `opencoder eval` writes it into
  results.json. `isolation="strict"` refuses to run without network isolation.

Scoring (`Result.status`):
  ``passed``  the program ran to its end (the bootstrap writes a completion marker on a
              private pipe after the program's last statement, so `os._exit(0)` or
              `sys.exit(0)` before the tests do not pass);
  ``failed``  it raised (AssertionError, NameError, MemoryError, SystemExit, ...), was killed
              by a signal (SIGXFSZ for the file-size limit, SIGSEGV, ...), wrote too much
              output, or exited early; `error` holds "ExceptionType: message" or the reason;
  ``timeout`` the wall-clock deadline or the CPU-time limit was hit;
  ``error``   the program could not start: it does not compile (SyntaxError, ...), or the
              sandbox failed to launch it.

Not guarded: disk space as a whole (each file is capped by RLIMIT_FSIZE, but a program may
create many files in its temp dir or in world-writable directories within its time limit),
and a determined program can forge the completion marker (it shares its process with the
bootstrap); the threat model is model-written code, not an adversary studying this file.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import queue
import selectors
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Iterable, Sequence

from opencoder_jax.eval.isolation import Isolation, detect_isolation

PASSED, FAILED, TIMEOUT, ERROR = "passed", "failed", "timeout", "error"
STATUSES = (PASSED, FAILED, TIMEOUT, ERROR)


@dataclasses.dataclass(frozen=True)
class Limits:
    timeout: float = 10.0  # wall-clock seconds for one program (start-up included)
    cpu_seconds: int | None = None  # RLIMIT_CPU; None: ceil(timeout)
    memory_bytes: int = 2 << 30  # RLIMIT_AS
    file_size_bytes: int = 16 << 20  # RLIMIT_FSIZE (largest file it may write)
    max_processes: int = 32  # RLIMIT_NPROC (processes + threads of its uid)
    max_open_files: int = 256  # RLIMIT_NOFILE
    max_output_bytes: int = 1 << 20  # per stream; beyond it the program is killed
    keep_output_bytes: int = 16 << 10  # per stream, kept in Result

    def cpu_limit(self) -> int:
        return int(self.cpu_seconds if self.cpu_seconds is not None else max(1, -(-self.timeout // 1)))


@dataclasses.dataclass
class Result:
    status: str
    error: str = ""
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# Runs in the fresh interpreter (already under the slot's uid when uid_drop), compiled once to
# a .pyc per Sandbox. argv: program_fd work_dir cpu mem fsize nproc nofile result_fd relay
# site_dirs(os.pathsep-joined). The program arrives on program_fd (a pipe) as UTF-8. With
# relay=1 the interpreter forks: the parent waits and reports the child's exit status (so the
# program's parent is not the harness); in a PID namespace (relay=0) `unshare --fork` is that
# parent and the program is the namespace's PID 1. Parent = relay (PID 1 of the namespace in "full"
# mode); child = the program.
_BOOTSTRAP = r'''
import os, sys
a = sys.argv
pfd = int(a[1])
chunks = []
while True:
    c = os.read(pfd, 1 << 20)
    if not c:
        break
    chunks.append(c)
os.close(pfd)
src = b"".join(chunks).decode("utf-8", "surrogateescape")
del chunks, c
cpu, mem, fsize, nproc, nofile, rfd, relay = map(int, a[3:10])
pid = os.fork() if relay else 0
if pid:
    os.close(rfd)
    while True:
        try:
            _, st = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    os._exit(128 + os.WTERMSIG(st) if os.WIFSIGNALED(st) else os.WEXITSTATUS(st))
import resource as R
def lim(kind, soft, hard=None):
    if soft > 0:
        R.setrlimit(kind, (soft, soft if hard is None else hard))
lim(R.RLIMIT_CPU, cpu, cpu + relay)  # PID 1 ignores SIGXCPU: SIGKILL at the limit
lim(R.RLIMIT_AS, mem)
lim(R.RLIMIT_FSIZE, fsize)
lim(R.RLIMIT_NOFILE, nofile)
R.setrlimit(R.RLIMIT_CORE, (0, 0))
os.chdir(a[2])
lim(R.RLIMIT_NPROC, nproc)
os.umask(0o077)
sys.path.extend(p for p in a[10].split(os.pathsep) if p)
del R, lim, a, pid, pfd
me = os.getpid()
def report(kind, e):
    if os.getpid() != me:  # a child the program forked: only the program itself reports
        return
    try:
        msg = "%s: %s" % (type(e).__name__, e)
    except BaseException:
        msg = type(e).__name__
    msg = " ".join(msg.split())[:2000]
    try:
        os.write(rfd, ("%s\t%s" % (kind, msg)).encode("utf-8", "replace"))
    except BaseException:
        pass
try:
    code = compile(src, "<program>", "exec")
except BaseException as e:
    import traceback
    traceback.print_exc()
    report("error", e)
    os._exit(1)
import builtins
sys.argv = ["<program>"]
g = {"__name__": "__main__", "__builtins__": builtins, "__file__": "<program>"}
try:
    exec(code, g)
    sys.stdout.flush()
    sys.stderr.flush()
except BaseException as e:
    try:
        import linecache, traceback
        linecache.cache["<program>"] = (len(src), None, src.splitlines(True), "<program>")
        traceback.print_exc()
        sys.stderr.flush()
    except BaseException:
        pass
    report("failed", e)
    os._exit(1)
if os.getpid() != me:
    os._exit(0)
try:
    os.write(rfd, b"ok")
except BaseException:
    os._exit(1)
os._exit(0)
'''

_CLEAN_ENV_BASE = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _kill_uid(uid: int) -> None:
    """SIGKILL every live process owned by `uid` (used only without a PID namespace)."""
    for _ in range(5):
        found = False
        for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
            if not name.isdigit():
                continue
            try:
                if os.stat(f"/proc/{name}").st_uid != uid:
                    continue
                with open(f"/proc/{name}/stat", "rb") as f:
                    if f.read().rpartition(b")")[2].split()[0] == b"Z":
                        continue  # a zombie: already dead, its parent reaps it
                found = True
                os.kill(int(name), signal.SIGKILL)
            except (OSError, ValueError, IndexError):
                pass
        if not found:
            return
        time.sleep(0.01)


def _write_pyc(source: str, path: str) -> None:
    import importlib.util
    import marshal

    code = compile(source, "<sandbox-bootstrap>", "exec")
    data = importlib.util.MAGIC_NUMBER + b"\x00" * 12 + marshal.dumps(code)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o644)


def _setpriv_argv(setpriv: str, uid: int, read_all_files: bool) -> list[str]:
    argv = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    if read_all_files:
        argv += ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    return argv + ["--"]


_UID_CAN_RUN: dict[str, bool] = {}


def _uid_can_run(setpriv: str | None, python: str, uid: int) -> bool:
    """Whether `python`, started under an unprivileged `uid`, finds its own installation."""
    if setpriv is None:
        return True
    if python not in _UID_CAN_RUN:
        check = "import sys, json; print(sys.base_prefix, sys.version)"
        want = subprocess.run([python, "-I", "-S", "-c", check], capture_output=True, text=True).stdout
        try:
            got = subprocess.run(_setpriv_argv(setpriv, uid, False) + [python, "-I", "-S", "-c", check],
                                 capture_output=True, text=True, cwd="/", timeout=30,
                                 env=_CLEAN_ENV_BASE).stdout
        except (OSError, subprocess.SubprocessError):
            got = ""
        _UID_CAN_RUN[python] = bool(want) and got == want
    return _UID_CAN_RUN[python]


class Sandbox:
    """A pool of sandbox slots. `run(program)` runs one; `run_many(programs)` runs them in
    parallel on a thread pool (each thread drives one subprocess at a time; default: four
    per core, since a short program mostly waits for its interpreter to start; the CPU-time
    limit, not the wall clock, is what judges a busy program, so set `Limits.timeout` well
    above `cpu_seconds` when oversubscribing)."""

    def __init__(self, limits: Limits | None = None, workers: int | None = None,
                 isolation: str | Isolation = "auto", python: str | None = None):
        self.limits = limits or Limits()
        if workers is None:  # most of a short program's life is start-up latency: oversubscribe
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            workers = 4 * (cores or 1)
        self.workers = max(1, int(workers))
        self.isolation = isolation if isinstance(isolation, Isolation) else detect_isolation(isolation)
        self.python = python or sys.executable
        # Site-packages of the interpreter (the program may import numpy etc.), added without
        # running site.py: `-S` halves interpreter start-up.
        self._site_dirs = os.pathsep.join(
            p for p in (site.getsitepackages() if python is None else []) if os.path.isdir(p))
        self._root = tempfile.mkdtemp(prefix="opencoder-sandbox-")
        os.chmod(self._root, 0o711)
        # The bootstrap, compiled once: the interpreter runs a .pyc directly.
        self._boot_pyc = os.path.join(self._root, "bootstrap.pyc")
        _write_pyc(_BOOTSTRAP, self._boot_pyc)
        self._slots: queue.Queue[int] = queue.Queue()
        for i in range(self.workers):
            self._slots.put(i)
        # Distinct unprivileged ids per slot (and per harness process), far above real users.
        self._uid_base = 1_900_000_000 + (os.getpid() % 1_000_000) * 128
        # Can an unprivileged uid read this interpreter's installation? (Not when Python lives
        # under a 0700 home such as /root.) If not, the program keeps CAP_DAC_READ_SEARCH:
        # it may read (never write) any file, but still not other uids' /proc/<pid>/environ.
        self.read_all_files = bool(self.isolation.uid_drop) and not _uid_can_run(
            self.isolation.setpriv, self.python, self._uid_base + self.workers)
        self._lock = threading.Lock()
        self._counter = 0
        self._closed = False

    # -- public API --------------------------------------------------------------------------
    def describe(self) -> dict:
        """The active isolation and limits (for results.json)."""
        d = self.isolation.describe()
        d["read_all_files"] = self.read_all_files
        d["workers"] = self.workers
        d["limits"] = dataclasses.asdict(self.limits)
        return d

    def run(self, program: str, limits: Limits | None = None) -> Result:
        slot = self._slots.get()
        try:
            return self._run_in_slot(program, limits or self.limits, slot)
        finally:
            self._slots.put(slot)

    def run_many(self, programs: Sequence[str] | Iterable[str],
                 limits: Limits | Sequence[Limits] | None = None,
                 on_result: Callable[[int, Result], None] | None = None) -> list[Result]:
        """Results in the order of `programs`; `limits`: one for all or one per program."""
        programs = list(programs)
        per = list(limits) if isinstance(limits, (list, tuple)) else [limits] * len(programs)
        if len(per) != len(programs):
            raise ValueError("one Limits per program, or one for all")
        results: list[Result | None] = [None] * len(programs)
        with concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="sandbox") as pool:
            futures = {pool.submit(self.run, p, lim): i for i, (p, lim) in enumerate(zip(programs, per))}
            for fut in concurrent.futures.as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                if on_result is not None:
                    on_result(i, results[i])
        return results  # type: ignore[return-value]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # -- one program -------------------------------------------------------------------------
    def _run_in_slot(self, program: str, limits: Limits, slot: int) -> Result:
        iso = self.isolation
        with self._lock:
            self._counter += 1
            n = self._counter
        work = os.path.join(self._root, f"w{n}")
        os.mkdir(work, 0o700)
        uid = -1
        launcher = iso.launcher()
        if iso.uid_drop:
            uid = self._uid_base + slot
            os.chown(work, uid, uid)
            launcher += _setpriv_argv(iso.setpriv, uid, self.read_all_files)
        env = dict(_CLEAN_ENV_BASE, HOME=work, TMPDIR=work)
        payload = program.encode("utf-8", "surrogateescape")
        res_r, res_w = os.pipe()
        prog_r, prog_w = os.pipe()
        argv = launcher + [
            self.python, "-I", "-S", "-B", self._boot_pyc, str(prog_r), work,
            str(limits.cpu_limit()), str(limits.memory_bytes), str(limits.file_size_bytes),
            str(limits.max_processes), str(limits.max_open_files), str(res_w),
            "0" if iso.pid_namespace else "1", self._site_dirs]
        start = time.monotonic()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, pass_fds=(res_w, prog_r), env=env, cwd=work,
                                    start_new_session=True, close_fds=True)
        except OSError as e:
            for fd in (res_r, res_w, prog_r, prog_w):
                os.close(fd)
            shutil.rmtree(work, ignore_errors=True)
            return Result(ERROR, f"sandbox launch failed: {e}")
        os.close(res_w)
        os.close(prog_r)
        try:
            out, err, marker, timed_out, overflow = self._communicate(proc, res_r, prog_w, payload,
                                                                      start, limits, uid)
        finally:
            os.close(res_r)
            self._kill(proc, uid)
            for stream in (proc.stdout, proc.stderr):
                stream.close()
            shutil.rmtree(work, ignore_errors=True)
        duration = time.monotonic() - start
        rc = proc.returncode
        result = Result(FAILED, exit_code=rc, duration=duration,
                        stdout=out.decode("utf-8", "replace"), stderr=err.decode("utf-8", "replace"))
        if rc == 1 and iso.pid_namespace and b"unshare: sigprocmask unblock failed" in err[-200:]:
            rc = 128 + signal.SIGKILL  # util-linux 2.38 reports its child's SIGKILL death so
        result.status, result.error = self._classify(rc, marker, timed_out, overflow, limits,
                                                     getattr(proc, "cpu_seconds", 0.0))
        return result

    def _communicate(self, proc: subprocess.Popen, res_r: int, prog_w: int, payload: bytes, start: float,
                     limits: Limits, uid: int):
        deadline = start + limits.timeout
        # The program goes down a pipe: small ones in one write, big ones as the reader drains it.
        sent = 0
        try:
            if len(payload) <= 60000:
                sent = os.write(prog_w, payload)
            os.set_blocking(prog_w, False)
        except OSError:
            sent = len(payload)
        if sent >= len(payload):
            os.close(prog_w)
            prog_w = -1
        names = {proc.stdout.fileno(): "stdout", proc.stderr.fileno(): "stderr", res_r: "marker"}
        kept = {fd: bytearray() for fd in names}
        total = dict.fromkeys(names, 0)
        keep = {fd: (4096 if name == "marker" else limits.keep_output_bytes) for fd, name in names.items()}
        cap = {fd: (1 << 16 if name == "marker" else limits.max_output_bytes) for fd, name in names.items()}
        timed_out, overflow, exited_at = False, "", None
        with selectors.DefaultSelector() as sel:
            for fd in names:
                sel.register(fd, selectors.EVENT_READ)
            if prog_w >= 0:
                sel.register(prog_w, selectors.EVENT_WRITE)
            while len(sel.get_map()) > (prog_w >= 0):
                now = time.monotonic()
                if now >= deadline:
                    timed_out = True
                    break
                if exited_at is None and self._reap(proc, block=False):
                    exited_at = now
                    # Leftover processes (no PID namespace) may still hold the pipes open.
                    self._kill(proc, -1)
                if exited_at is not None and now - exited_at > 0.2:
                    self._kill(proc, uid)
                if exited_at is not None and now - exited_at > 1.0:
                    break
                wait = deadline - now if exited_at is None else 0.05
                for key, _ in sel.select(min(wait, 0.1)):
                    fd = key.fd
                    if fd == prog_w:
                        try:
                            sent += os.write(prog_w, payload[sent:sent + (1 << 16)])
                        except BlockingIOError:
                            continue
                        except OSError:  # the reader is gone
                            sent = len(payload)
                        if sent >= len(payload):
                            sel.unregister(prog_w)
                            os.close(prog_w)
                            prog_w = -1
                        continue
                    try:
                        chunk = os.read(fd, 1 << 16)
                    except OSError:
                        chunk = b""
                    if not chunk:
                        sel.unregister(fd)
                        continue
                    total[fd] += len(chunk)
                    room = keep[fd] - len(kept[fd])
                    if room > 0:
                        kept[fd] += chunk[:room]
                    if total[fd] > cap[fd]:
                        overflow = names[fd]
                        break
                if overflow:
                    break
        if prog_w >= 0:
            os.close(prog_w)
        self._kill(proc, -1)
        self._reap(proc, block=True)
        fds = list(names)
        return bytes(kept[fds[0]]), bytes(kept[fds[1]]), bytes(kept[fds[2]]).decode("utf-8", "replace"), \
            timed_out, overflow

    @staticmethod
    def _reap(proc: subprocess.Popen, block: bool) -> bool:
        """wait4() the launcher: its exit code, and the CPU time of it and every descendant it
        waited for (the program), kept on `proc.cpu_seconds`."""
        if proc.returncode is not None:
            return True
        try:
            pid, status, ru = os.wait4(proc.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            proc.returncode, proc.cpu_seconds = -signal.SIGKILL, 0.0
            return True
        if pid == 0:
            return False
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.cpu_seconds = ru.ru_utime + ru.ru_stime
        return True

    def _kill(self, proc: subprocess.Popen, uid: int) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if uid >= 0 and not self.isolation.pid_namespace:
            _kill_uid(uid)

    @staticmethod
    def _classify(rc: int | None, marker: str, timed_out: bool, overflow: str, limits: Limits,
                  cpu_seconds: float = 0.0):
        if timed_out:
            return TIMEOUT, f"timed out: wall-clock limit of {limits.timeout:g}s"
        if overflow:
            return FAILED, f"output limit exceeded: more than {limits.max_output_bytes} bytes on {overflow}"
        kind, _, msg = marker.partition("\t")
        if rc == 0 and marker == "ok":
            return PASSED, ""
        if kind in (ERROR, FAILED) and msg:
            if msg.startswith("MemoryError"):
                msg = f"{msg} (memory limit {limits.memory_bytes} bytes)".replace(":  (", " (")
            return kind, msg
        sig = -rc if rc is not None and rc < 0 else (rc - 128 if rc is not None and rc > 128 else 0)
        # PID 1 of a namespace ignores SIGXCPU and dies of SIGKILL at the limit; rusage is coarse.
        cpu_hit = cpu_seconds >= (0.5 if sig == signal.SIGKILL else 0.9) * limits.cpu_limit()
        if sig == signal.SIGXCPU or cpu_hit:
            return TIMEOUT, f"timed out: CPU-time limit of {limits.cpu_limit()}s"
        if sig == signal.SIGXFSZ:
            return FAILED, f"killed by SIGXFSZ: file size limit of {limits.file_size_bytes} bytes"
        if sig:
            return FAILED, f"killed by {_signal_name(sig)}"
        if rc == 0:
            return FAILED, "exited before the program's end (exit status 0 without the completion marker)"
        return FAILED, f"exited with status {rc}"
