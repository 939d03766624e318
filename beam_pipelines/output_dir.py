"""Preparing a job's output directory on any Beam file system, before any work starts."""
from __future__ import annotations

import os
import uuid

from apache_beam.io.filesystems import FileSystems


def prepare_output_dir(output_dir: str, overwrite: bool, file_prefixes: tuple[str, ...],
                       subdirs: tuple[str, ...] = (), what: str = "results of a run") -> None:
    """Refuse (or with `overwrite`, delete) an earlier run's outputs, then prove the directory
    is writable with a probe file. Only names this job writes are touched: files whose base
    name starts with one of `file_prefixes`, and everything under `subdirs`."""
    base = output_dir.rstrip("/")
    existing = [m.path for m in FileSystems.match([base + "/*"])[0].metadata_list] \
        if FileSystems.exists(output_dir) else []
    in_subdir = lambda p: any(f"/{d}/" in p for d in subdirs)  # noqa: E731
    ours = [p for p in existing if p.rsplit("/", 1)[-1].startswith(file_prefixes) and not in_subdir(p)]
    # a glob does not descend into folders: look for ours by name (a killed run may leave only them)
    our_dirs = [f"{base}/{d}" for d in subdirs if FileSystems.exists(f"{base}/{d}")]
    if (ours or our_dirs) and not overwrite:
        raise FileExistsError(f"{output_dir} already holds {what} ({len(ours)} files, "
                              f"{len(our_dirs)} folders); pass --overwrite or choose another --output")
    if our_dirs:
        FileSystems.delete(our_dirs)
    if ours:
        FileSystems.delete([p for p in ours if FileSystems.exists(p)])
    probe = f"{base}/.write-probe-{uuid.uuid4().hex}"
    try:
        if "://" not in output_dir:
            os.makedirs(output_dir, exist_ok=True)
        with FileSystems.create(probe) as f:
            f.write(b"ok")
        FileSystems.delete([probe])
    except Exception as e:  # noqa: BLE001 - any failure here means unwritable
        raise PermissionError(f"output {output_dir!r} is not writable: {type(e).__name__}: {e}") from e
