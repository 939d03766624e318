"""Reading and writing files that may live on a remote file system (gs://, s3://, ...).

The library reads and writes run outputs (stats.json, report.html, config.gin) through this
seam so it never imports Beam itself: local paths use the OS; a path with a URL scheme goes to
the registered remote backend. `beam_pipelines` registers Beam's FileSystems (GCS, S3, HDFS,
and test file systems) when it is imported, i.e. whenever a pipeline wrote the files; without
it, TensorFlow's gfile (in the stack, GCS built in) serves gs:// paths.
"""
from __future__ import annotations

import os
from typing import Protocol


class RemoteBackend(Protocol):
    def exists(self, path: str) -> bool: ...
    def read_bytes(self, path: str) -> bytes: ...
    def write_bytes(self, path: str, data: bytes) -> None: ...


_backend: RemoteBackend | None = None


def register_remote_backend(backend: RemoteBackend | None) -> None:
    """Route every remote path through `backend` (None: back to the default)."""
    global _backend
    _backend = backend


def is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _local(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


class _GfileBackend:
    """TensorFlow's gfile: gs:// without Beam (imported only when a remote path is used)."""

    def exists(self, path: str) -> bool:
        import tensorflow as tf

        return bool(tf.io.gfile.exists(path))

    def read_bytes(self, path: str) -> bytes:
        import tensorflow as tf

        with tf.io.gfile.GFile(path, "rb") as f:
            return f.read()

    def write_bytes(self, path: str, data: bytes) -> None:
        import tensorflow as tf

        with tf.io.gfile.GFile(path, "wb") as f:
            f.write(data)


def _remote() -> RemoteBackend:
    return _backend if _backend is not None else _GfileBackend()


def join(base: str, *parts: str) -> str:
    if is_remote(base):
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return os.path.join(_local(base), *parts)


def exists(path: str) -> bool:
    return _remote().exists(path) if is_remote(path) else os.path.exists(_local(path))


def read_bytes(path: str) -> bytes:
    if is_remote(path):
        return _remote().read_bytes(path)
    with open(_local(path), "rb") as f:
        return f.read()


def write_bytes(path: str, data: bytes) -> None:
    """Write `data` to `path` (a local write goes through a temporary file: never half-written)."""
    if is_remote(path):
        _remote().write_bytes(path, data)
        return
    path = _local(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
