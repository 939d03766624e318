"""The sandbox: statuses, and hostile programs contained without harming the harness.

All hostile programs run in one parallel batch (module fixture) to keep the suite short; each
test then checks its own result and the harness's state.
"""
import os
import socket
import threading
import time

import pytest

from opencoder_jax.eval.sandbox import Limits, Sandbox

SECRET_NAME = "OPENCODER_SANDBOX_TEST_SECRET"
SECRET = "hunter2-" + os.urandom(6).hex()
HOSTILE_LIMITS = Limits(timeout=6.0, cpu_seconds=2, memory_bytes=512 << 20, file_size_bytes=8 << 20,
                        max_processes=16, max_output_bytes=256 << 10, keep_output_bytes=4096)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(HOSTILE_LIMITS, workers=8) as sb:
        yield sb


@pytest.fixture(scope="module")
def listener():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    hits = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            hits.append(conn.recv(100))
            conn.close()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1], hits
    stop.set()
    t.join()
    srv.close()


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory):
    d = tmp_path_factory.mktemp("outside")
    path = d / "sentinel.txt"
    path.write_text("keep me")
    return path


def _programs(port, sentinel_path):
    return {
        "infinite_loop": "while True:\n    pass\n",
        "sleep_forever": "import time\ntime.sleep(10**6)\n",
        "fork_bomb": "import os\nwhile True:\n    os.fork()\n",
        "memory_bomb": "x = []\nwhile True:\n    x.append(bytearray(64 * 2**20))\n",
        "huge_file": "with open('big.bin', 'wb') as f:\n    while True:\n        f.write(b'0' * 2**20)\n",
        "delete_outside": f"import os, shutil\np = {str(sentinel_path)!r}\ntry:\n    os.remove(p)\n"
                          f"finally:\n    shutil.rmtree(os.path.dirname(p))\n",
        "network": f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
                   f"s.sendall(b'escaped')\ns.close()\n",
        "read_env": (
            "import glob, os\n"
            f"secret = {SECRET[::-1]!r}[::-1]\n"
            f"found = os.environ.get({SECRET_NAME!r}) == secret\n"
            "for p in glob.glob('/proc/*/environ'):\n"
            "    try:\n"
            "        found = found or secret.encode() in open(p, 'rb').read()\n"
            "    except OSError:\n"
            "        pass\n"
            "assert found, 'secret not visible'\n"),
        "kill_parent": (
            "import os, signal\n"
            f"for pid in (os.getppid(), {os.getpid()}):\n"
            "    try:\n"
            "        os.kill(pid, signal.SIGKILL)\n"
            "    except OSError:\n"
            "        pass\n"
            "import time\ntime.sleep(0.5)\n"
            "raise SystemExit('parent still alive')\n"),
        "print_gigabytes": "import sys\nchunk = 'x' * 2**20\nfor _ in range(10**4):\n    sys.stdout.write(chunk)\n",
        "stdin_closed": "import sys\nassert sys.stdin.read() == ''\n",
        "exit_early": "import os\nos._exit(0)\nassert False\n",
        "sys_exit": "import sys\nsys.exit(0)\n",
        "syntax_error": "def f(:\n    pass\n",
        "ok": "assert sum(range(10)) == 45\nprint('fine')\n",
        # only the program's own process reports; a forked child's end does not count
        "child_ok_parent_fails": "import os\nif os.fork():\n    os.wait()\n    assert False, 'parent'\n",
        "child_fails_parent_ok": "import os\nif os.fork():\n    os.wait()\nelse:\n    assert False, 'child'\n",
    }


@pytest.fixture(scope="module")
def results(sandbox, listener, sentinel):
    port, _ = listener
    old = os.environ.get(SECRET_NAME)
    os.environ[SECRET_NAME] = SECRET
    try:
        progs = _programs(port, sentinel)
        out = dict(zip(progs, sandbox.run_many(list(progs.values()))))
    finally:
        if old is None:
            os.environ.pop(SECRET_NAME, None)
        else:
            os.environ[SECRET_NAME] = old
    return out


def test_isolation_reported(sandbox):
    d = sandbox.describe()
    assert d["mode"] in ("full", "userns", "process-group")
    assert "note" in d and d["limits"]["timeout"] == 6.0


def test_basic_statuses(results):
    assert results["ok"].status == "passed" and results["ok"].stdout == "fine\n"
    assert results["stdin_closed"].status == "passed"
    assert results["exit_early"].status == "failed" and "completion marker" in results["exit_early"].error
    assert results["sys_exit"].status == "failed" and results["sys_exit"].error.startswith("SystemExit")
    assert results["syntax_error"].status == "error" and results["syntax_error"].error.startswith("SyntaxError")
    assert results["child_ok_parent_fails"].status == "failed"
    assert results["child_ok_parent_fails"].error == "AssertionError: parent"
    assert results["child_fails_parent_ok"].status == "passed"


def test_infinite_loop_and_sleep_time_out(results):
    assert results["infinite_loop"].status == "timeout"
    assert results["sleep_forever"].status == "timeout"
    assert results["sleep_forever"].duration < HOSTILE_LIMITS.timeout + 10


def _live_slot_processes(sandbox):
    uids = set(range(sandbox._uid_base, sandbox._uid_base + sandbox.workers))
    left = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid in uids:
                    left.append(name)
            except OSError:
                pass
    return left


def test_fork_bomb_contained(results, sandbox):
    assert results["fork_bomb"].status in ("failed", "timeout")
    if sandbox.isolation.uid_drop:  # nothing of any slot's uid is left (dying ones: give them 3 s)
        deadline = time.monotonic() + 3
        while _live_slot_processes(sandbox) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _live_slot_processes(sandbox)


def test_memory_bomb(results):
    r = results["memory_bomb"]
    assert r.status == "failed" and r.error.startswith("MemoryError")


def test_huge_file(results):
    r = results["huge_file"]
    # Python ignores SIGXFSZ, so the write fails with EFBIG instead of the process dying.
    assert r.status == "failed" and ("SIGXFSZ" in r.error or "File too large" in r.error)


def test_cannot_delete_outside(results, sentinel, sandbox):
    assert results["delete_outside"].status == "failed"
    if sandbox.isolation.uid_drop:
        assert sentinel.read_text() == "keep me"


def test_no_network(results, listener, sandbox):
    r = results["network"]
    if not sandbox.isolation.network:
        pytest.skip("no network namespace on this machine (process-group mode)")
    assert r.status == "failed" and "OSError" in r.error
    assert listener[1] == []


def test_harness_env_invisible(results, sandbox):
    r = results["read_env"]
    assert r.status == "failed" and "secret not visible" in r.error


def test_kill_parent_harmless(results, sandbox):
    # We are still here; the program could not kill its parent or us.
    assert results["kill_parent"].status == "failed"
    assert sandbox.run("pass").status == "passed"


def test_print_gigabytes_capped(results):
    r = results["print_gigabytes"]
    assert r.status == "failed" and "output limit" in r.error
    assert len(r.stdout) <= HOSTILE_LIMITS.keep_output_bytes


def test_workdirs_removed(results, sandbox):
    assert os.listdir(sandbox._root) == ["bootstrap.pyc"]


def test_ordering_and_single_run(sandbox):
    progs = [f"assert {i} % 3 != 0" for i in range(12)]
    res = sandbox.run_many(progs)
    assert [r.status for r in res] == ["failed" if i % 3 == 0 else "passed" for i in range(12)]
