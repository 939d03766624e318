"""An in-memory Beam FileSystem under the scheme `memtest://`, standing in for gs:// in tests.

It goes through exactly the code paths a remote file system takes (no local paths, no
directories, create/open/rename/delete by URL), in one process, with no network.
Files live in a module-level dict; FnApiRunner runs DoFns in this process, so they see it.
"""
import io
import threading
import time

from apache_beam.io.filesystem import BeamIOError, CompressedFile, CompressionTypes, FileMetadata, FileSystem

FILES: dict[str, bytes] = {}
_LOCK = threading.Lock()


class _Writer(io.BytesIO):
    def __init__(self, path):
        super().__init__()
        self._path = path

    def close(self):
        if not self.closed:
            with _LOCK:
                FILES[self._path] = self.getvalue()
        super().close()


class MemoryFileSystem(FileSystem):
    @classmethod
    def scheme(cls):
        return "memtest"

    def join(self, basepath, *paths):
        return "/".join([basepath.rstrip("/"), *[p.strip("/") for p in paths]])

    def split(self, path):
        head, _, tail = path.rpartition("/")
        return head, tail

    def mkdirs(self, path):
        pass

    def has_dirs(self):
        return False

    def _list(self, dir_or_prefix):
        with _LOCK:
            items = [(p, len(b)) for p, b in FILES.items() if p.startswith(dir_or_prefix)]
        for path, size in sorted(items):
            yield FileMetadata(path, size, time.time())

    def create(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        raw = _Writer(path)
        ctype = CompressionTypes.detect_compression_type(path) if compression_type == CompressionTypes.AUTO \
            else compression_type
        return raw if ctype == CompressionTypes.UNCOMPRESSED else CompressedFile(raw, ctype)

    def open(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        with _LOCK:
            if path not in FILES:
                raise BeamIOError(f"not found: {path}")
            raw = io.BytesIO(FILES[path])
        ctype = CompressionTypes.detect_compression_type(path) if compression_type == CompressionTypes.AUTO \
            else compression_type
        return raw if ctype == CompressionTypes.UNCOMPRESSED else CompressedFile(raw, ctype)

    def copy(self, source_file_names, destination_file_names):
        with _LOCK:
            for s, d in zip(source_file_names, destination_file_names):
                FILES[d] = FILES[s]

    def rename(self, source_file_names, destination_file_names):
        with _LOCK:
            for s, d in zip(source_file_names, destination_file_names):
                FILES[d] = FILES.pop(s)

    def exists(self, path):
        with _LOCK:
            return path in FILES or any(p.startswith(path.rstrip("/") + "/") for p in FILES)

    def size(self, path):
        return len(FILES[path])

    def last_updated(self, path):
        return time.time()

    def checksum(self, path):
        return str(len(FILES[path]))

    def metadata(self, path):
        return FileMetadata(path, len(FILES[path]), time.time())

    def delete(self, paths):
        with _LOCK:
            for path in paths:
                for p in [p for p in FILES if p == path or p.startswith(path.rstrip("/") + "/")]:
                    del FILES[p]
