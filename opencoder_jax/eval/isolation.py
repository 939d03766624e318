"""How strongly the sandbox can isolate a program on this machine (namespaces, uid drop).

`detect_isolation()` probes, once per mode, for the strongest launcher the platform allows:
"full" (network, PID and mount namespaces plus a per-slot unprivileged uid; needs root and
`unshare`/`setpriv`), "userns" (the same namespaces through a user namespace) or the weaker
"process-group" fallback (no namespaces). See sandbox.py for what each mode guards.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys


@dataclasses.dataclass(frozen=True)
class Isolation:
    mode: str  # "full" | "userns" | "process-group"
    network: bool  # a private network namespace
    pid_namespace: bool
    uid_drop: bool  # the program runs under its own unprivileged uid (via setpriv)
    unshare: str | None = None  # path of the unshare binary
    setpriv: str | None = None  # path of the setpriv binary

    def describe(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("unshare")
        d.pop("setpriv")
        d["note"] = {
            "full": "network, PID and mount namespaces; per-slot unprivileged uid",
            "userns": "network and PID namespaces via a user namespace; harness uid",
            "process-group": "WEAKER: no namespaces (host network visible); resource limits, "
                             "clean env, temp dir and process-group kill only",
        }[self.mode]
        return d

    def launcher(self) -> list[str]:
        if self.mode == "full":
            return [self.unshare, "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--"]
        if self.mode == "userns":
            return [self.unshare, "--user", "--map-root-user", "--net", "--pid", "--fork",
                    "--kill-child", "--mount-proc", "--"]
        return []


def _probe(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd + ["true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


_ISOLATION_CACHE: dict[str, Isolation] = {}


def detect_isolation(mode: str = "auto") -> Isolation:
    """The strongest isolation this platform allows ("auto"), or exactly `mode`.

    mode: "auto" | "strict" (auto, but raise unless the network is isolated) | "full" |
    "userns" | "process-group".
    """
    if mode in _ISOLATION_CACHE:
        return _ISOLATION_CACHE[mode]
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    linux = sys.platform.startswith("linux")
    unshare = shutil.which("unshare") if linux else None
    setpriv = shutil.which("setpriv") if linux and root else None
    candidates = []
    if unshare and setpriv:
        candidates.append(Isolation("full", True, True, True, unshare, setpriv))
    if unshare:
        candidates.append(Isolation("userns", True, True, False, unshare))
    candidates.append(Isolation("process-group", False, False, bool(setpriv), None, setpriv))
    chosen = None
    for iso in candidates:
        if mode not in ("auto", "strict") and iso.mode != mode:
            continue
        if iso.mode == "process-group" or _probe(iso.launcher()):
            chosen = iso
            break
    if chosen is None:
        raise RuntimeError(f"sandbox isolation {mode!r} is not available on this machine")
    if mode == "strict" and not chosen.network:
        raise RuntimeError("sandbox: no network namespace available (isolation='strict'); "
                           "use isolation='auto' to accept the weaker process-group mode")
    _ISOLATION_CACHE[mode] = chosen
    return chosen
