"""Raw code sources for the RefineCode pipeline.

Every source yields two PCollections:
  files  raw file dicts {"repo", "path", "content": bytes|None, "stars", "commit_date",
         "source", "error"}; `content` holds at most `max_read_bytes` bytes (enough for the
         preprocess stage to see that a file is too large without reading it all)
  drops  make_drop-style dicts for records that never became a file (broken JSONL lines,
         corrupt Parquet row groups, ...), reason "read/<why>"; each also goes to the
         dead-letter output with the raw line so it can be inspected.

Input kinds (decided per path by `classify_input`):
  tree      a directory whose immediate sub-directories are repositories
  jsonl     *.jsonl / *.jsonl.gz / *.json.gz files (globs allowed)
  parquet   *.parquet files (globs allowed)
  documents a directory of `documents-*.array_record` shards written by this pipeline
"""
from __future__ import annotations

import gzip
import io
import json
import os
import stat
import subprocess
from typing import Iterator

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from beam_pipelines.array_record_io import match_files

MAX_DEAD_LETTER_CHARS = 2000
# Directories never holding source files of a repository.
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__"})

REPO_FIELDS = ("repo_name", "repo", "repository", "max_stars_repo_name")
PATH_FIELDS = ("path", "file_path", "max_stars_repo_path", "filename")
CONTENT_FIELDS = ("content", "text", "code")
STARS_FIELDS = ("stars", "star_events_count", "max_stars_count")
DATE_FIELDS = ("commit_date", "committer_date", "revision_date", "max_stars_repo_stars_event_max_datetime")


def read_drop(reason: str, source: str, repo: str = "", path: str = "", raw: str = "") -> dict:
    return {"reason": f"read/{reason}", "id": "", "repo": repo, "path": path,
            "language": "unknown", "bytes": len(raw.encode("utf-8", "replace")),
            "head": raw[:400], "source": source, "raw": raw[:MAX_DEAD_LETTER_CHARS]}


def classify_input(path: str) -> str:
    """Which source reads `path` (a file, a directory or a glob)."""
    lower = path.lower()
    if lower.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")):
        return "jsonl"
    if lower.endswith(".parquet"):
        return "parquet"
    if "://" not in path and os.path.isdir(path):
        if any(name.startswith("documents-") and name.endswith(".array_record") for name in os.listdir(path)):
            return "documents"
        return "tree"
    if "://" in path and match_files(path.rstrip("/") + "/documents-*.array_record"):
        return "documents"
    raise ValueError(
        f"cannot tell what {path!r} is: expected a directory of repositories, *.jsonl[.gz], "
        "*.parquet or a directory of documents-*.array_record shards")


def check_inputs_exist(paths: list[str]) -> None:
    """Fail before any work when an input path or glob matches nothing."""
    for path in paths:
        if "://" not in path and os.path.isdir(path):
            continue
        if not match_files(path):
            raise FileNotFoundError(f"input {path!r} does not exist or matches no files")


# ----------------------------------------------------------------------------- trees


def git_commit_dates(repo_dir: str) -> dict[str, str]:
    """Latest commit date (ISO-8601) of every path in a git checkout; {} if not a checkout."""
    if not os.path.isdir(os.path.join(repo_dir, ".git")):
        return {}
    try:
        out = subprocess.run(
            ["git", "-C", repo_dir, "log", "--format=@%cI", "--name-only", "--no-renames"],
            capture_output=True, text=True, timeout=600, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    dates: dict[str, str] = {}
    current = None
    for line in out.splitlines():
        if line.startswith("@"):
            current = line[1:]
        elif line and current and line not in dates:
            dates[line] = current  # log is newest first: the first date seen is the latest
    return dates


def list_repositories(root: str, exclude: frozenset[str] = frozenset(),
                      include: frozenset[str] | None = None) -> list[tuple[str, str]]:
    """(repo_name, repo_dir) for each immediate sub-directory; loose files form repo '.'.

    A root that is itself a git checkout (has .git) is one repository, named after it.
    `include` (when given) keeps only those sub-directories and no loose files."""
    if include is None and os.path.isdir(os.path.join(root, ".git")):
        return [(os.path.basename(os.path.abspath(root)), root)]
    repos = []
    for name in sorted(os.listdir(root)):
        full = os.path.join(root, name)
        if (os.path.isdir(full) and not os.path.islink(full) and name not in SKIP_DIRS
                and name not in exclude and (include is None or name in include)):
            repos.append((name, full))
    if include is None and any(_is_loose_entry(os.path.join(root, n)) for n in os.listdir(root)):
        repos.append((".", root))
    return repos


def tree_tasks(root: str, repo_prefix: str = "", exclude: frozenset[str] = frozenset(),
               max_repos: int | None = None, include: frozenset[str] | None = None) -> list[tuple]:
    """One ("repo", (name, dir, loose_name, source)) task per repository of a tree."""
    repos = [(repo_prefix + name if name != "." else name, path)
             for name, path in list_repositories(root, exclude, include)]
    if max_repos is not None:
        repos = repos[:max_repos]
    loose = repo_prefix + (os.path.basename(os.path.abspath(root)) or "root")
    return [("repo", (name, path, loose, root)) for name, path in repos]


def _list_repo_files(task):
    """A repository -> ("file", (repo, abs_path, rel_path, commit_date, source)) tasks."""
    repo, repo_dir, loose, source = task
    dates = git_commit_dates(repo_dir)
    if repo == ".":  # loose files directly in the root: one repository, not recursive
        for name in sorted(os.listdir(repo_dir)):
            full = os.path.join(repo_dir, name)
            if _is_loose_entry(full):
                yield from _file_task(loose, full, name, dates, source)
        return
    for dirpath, dirnames, filenames in os.walk(repo_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            yield from _file_task(repo, full, os.path.relpath(full, repo_dir), dates, source)


def _is_loose_entry(full: str) -> bool:
    """Anything in a tree root except a real directory: files, symlinks, FIFOs, sockets, devices."""
    try:
        return not stat.S_ISDIR(os.lstat(full).st_mode)
    except OSError:
        return False


def _file_task(repo, full, rel, dates, source):
    # Non-UTF-8 file names (surrogate-escaped by os.walk) are kept, made valid UTF-8.
    rel_text = os.fsencode(rel).decode("utf-8", "replace")
    # lstat, never open: opening a FIFO blocks until a writer appears (forever, in a repo).
    try:
        mode = os.lstat(full).st_mode
    except OSError:
        mode = stat.S_IFREG  # vanished or unreadable: the read reports the error
    if stat.S_ISLNK(mode):  # symlinks (to files, FIFOs, anywhere) are never followed
        yield beam.pvalue.TaggedOutput("drops", read_drop("symlink", source, repo, rel_text))
    elif not stat.S_ISREG(mode):  # FIFO, socket, block/character device
        yield beam.pvalue.TaggedOutput("drops", read_drop("not_a_regular_file", source, repo, rel_text))
    else:
        yield ("file", (repo, full, rel_text, dates.get(rel), source))


def _read_file(task, max_read_bytes: int) -> dict:
    repo, full, rel, date, source = task
    raw = {"repo": repo, "path": rel, "content": None, "stars": None,
           "commit_date": date, "source": source, "error": None}
    try:
        # The listing saw a regular file; O_NONBLOCK keeps a file swapped for a FIFO since
        # then from blocking the read, and fstat refuses it.
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(f"{full} is no longer a regular file")
            raw["content"] = f.read(max_read_bytes)
    except OSError as e:
        raw["error"] = f"{type(e).__name__}: {e}"
    return raw


class _ExpandTasks(beam.DoFn):
    """Cheap listing: repositories become file tasks; record files pass through."""

    def process(self, task):
        kind, payload = task
        if kind == "repo":
            yield from _list_repo_files(payload)
        else:
            yield task


class _ReadTasks(beam.DoFn):
    """The heavy part, after the reshuffle: read files, parse JSONL / Parquet."""

    def __init__(self, max_read_bytes: int):
        self._max = max_read_bytes

    def process(self, task):
        kind, payload = task
        if kind == "file":
            yield _read_file(payload, self._max)
        elif kind == "jsonl":
            yield from _parse_jsonl_file(payload)
        elif kind == "parquet":
            yield from _parse_parquet_file(payload)
        else:
            raise ValueError(f"unknown read task {kind!r}")


class ReadSources(beam.PTransform):
    """Read tasks of every kind through ONE listing -> reshuffle -> read chain.

    One chain (no Flatten of file contents from several reads) lets a local runner stream
    the contents through the fused stages instead of materialising them all in memory.
    """

    def __init__(self, tasks: list[tuple], max_read_bytes: int):
        super().__init__()
        self._tasks = list(tasks)
        self._max = max_read_bytes

    def expand(self, pbegin):
        listed = (pbegin
                  | "Tasks" >> beam.Create(self._tasks)
                  | "Expand" >> beam.ParDo(_ExpandTasks()).with_outputs("drops", main="tasks"))
        read = (listed.tasks
                | "Reshuffle" >> beam.Reshuffle()
                | "Read" >> beam.ParDo(_ReadTasks(self._max)).with_outputs("drops", main="files"))
        drops = (listed.drops, read.drops) | "FlattenDrops" >> beam.Flatten()
        return {"files": read.files, "drops": drops}


class ReadRepositoryTree(beam.PTransform):
    """A directory whose immediate sub-directories are repositories (or one git checkout)."""

    def __init__(self, root: str, max_read_bytes: int, repo_prefix: str = "",
                 exclude: frozenset[str] = frozenset(), max_repos: int | None = None,
                 include: frozenset[str] | None = None):
        super().__init__()
        self._tasks = tree_tasks(root, repo_prefix, exclude, max_repos, include)
        self._max = max_read_bytes

    def expand(self, pbegin):
        return pbegin | ReadSources(self._tasks, self._max)


# ----------------------------------------------------------------------------- records


def _first(record: dict, names: tuple[str, ...]):
    for name in names:
        if name in record and record[name] is not None:
            return record[name]
    return None


def _to_stars(value) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _to_date(value) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def record_to_raw(record: dict, source: str) -> dict | tuple[str, str, str]:
    """A metadata+content row -> raw file dict, or (reason, repo, path) when unusable."""
    repo = _first(record, REPO_FIELDS)
    path = _first(record, PATH_FIELDS)
    content = _first(record, CONTENT_FIELDS)
    repo = "" if repo is None else str(repo)
    path = "" if path is None else str(path)
    if content is None:
        return ("missing_content", repo, path)
    if not path:
        return ("missing_path", repo, path)
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogatepass")  # lone surrogates fail decode later
    elif not isinstance(content, (bytes, bytearray)):
        return ("bad_content_type", repo, path)
    return {"repo": repo, "path": path, "content": bytes(content),
            "stars": _to_stars(_first(record, STARS_FIELDS)),
            "commit_date": _to_date(_first(record, DATE_FIELDS)),
            "source": source, "error": None}


def _iter_lines(path: str) -> Iterator[bytes]:
    with FileSystems.open(path, compression_type="uncompressed") as raw:
        stream = gzip.GzipFile(fileobj=raw) if path.lower().endswith(".gz") else raw
        buffered = io.BufferedReader(stream) if not hasattr(stream, "readline") else stream
        for line in buffered:
            yield line


def _parse_jsonl_file(path):
    line_no = 0
    try:
        for line_no, line in enumerate(_iter_lines(path), start=1):
            if line.strip():
                yield from _parse_jsonl_line(path, line_no, line)
    except (OSError, EOFError, gzip.BadGzipFile, ValueError) as e:
        # A truncated/corrupt compressed stream: everything after line_no is lost;
        # counted once per file with the reason, and dead-lettered.
        yield beam.pvalue.TaggedOutput(
            "drops", read_drop("corrupt_file", path, raw=f"after line {line_no}: {type(e).__name__}: {e}"))


def _parse_jsonl_line(path, line_no, line):
    text = line.decode("utf-8", "replace")
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        yield beam.pvalue.TaggedOutput("drops", read_drop("broken_jsonl", f"{path}:{line_no}", raw=text))
        return
    raw = record_to_raw(record, path)
    if isinstance(raw, tuple):
        reason, repo, rel = raw
        yield beam.pvalue.TaggedOutput("drops", read_drop(reason, f"{path}:{line_no}", repo, rel, text))
    else:
        yield raw


class _ReadMatchedFiles(beam.PTransform):
    """Every file matching `pattern`, read as `KIND` records."""
    KIND = ""

    def __init__(self, pattern: str):
        super().__init__()
        self._pattern = pattern

    def expand(self, pbegin):
        return pbegin | ReadSources([(self.KIND, p) for p in match_files(self._pattern)], 0)


class ReadJsonl(_ReadMatchedFiles):
    KIND = "jsonl"


def _parse_parquet_file(path):
    import pyarrow.parquet as pq

    try:
        handle = FileSystems.open(path, compression_type="uncompressed")
        pf = pq.ParquetFile(handle)
    except Exception as e:  # noqa: BLE001 - any unreadable file is a counted drop
        yield beam.pvalue.TaggedOutput("drops", read_drop("corrupt_parquet_file", path, raw=f"{type(e).__name__}: {e}"))
        return
    with handle:
        for group in range(pf.num_row_groups):
            try:
                rows = pf.read_row_group(group).to_pylist()
            except Exception as e:  # noqa: BLE001
                n = pf.metadata.row_group(group).num_rows
                for row in range(n):  # one drop per lost row keeps the input count exact
                    yield beam.pvalue.TaggedOutput("drops", read_drop(
                        "corrupt_parquet_rows", f"{path}:rg{group}:{row}", raw=f"{type(e).__name__}: {e}"))
                continue
            for i, record in enumerate(rows):
                raw = record_to_raw(record, path)
                if isinstance(raw, tuple):
                    reason, repo, rel = raw
                    yield beam.pvalue.TaggedOutput("drops", read_drop(reason, f"{path}:rg{group}:{i}", repo, rel))
                else:
                    yield raw


class ReadParquet(_ReadMatchedFiles):
    KIND = "parquet"
