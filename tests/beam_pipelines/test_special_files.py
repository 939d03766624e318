"""Non-regular files in an input tree (FIFOs, sockets, symlinks to them) are counted drops,
never opened: opening a FIFO blocks until a writer appears, i.e. forever."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from beam_pipelines import raw_sources

REPO = Path(__file__).resolve().parents[2]


def _tree_with_special_files(root: Path) -> None:
    (root / "alpha").mkdir(parents=True)
    (root / "alpha" / "a.py").write_text("def f():\n    return 1\n")
    os.mkfifo(root / "alpha" / "pipe.py")
    os.symlink(root / "alpha" / "pipe.py", root / "alpha" / "link_to_pipe.py")
    os.mkfifo(root / "loose_pipe.c")  # loose entries of the root form repository "."
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "alpha" / "s.sock"))
    sock.close()


def _listing(root: Path):
    tasks, drops = [], []
    for _, payload in raw_sources.tree_tasks(str(root)):
        for out in raw_sources._list_repo_files(payload):
            if hasattr(out, "tag"):
                drops.append((out.value["reason"], out.value["path"]))
            else:
                tasks.append(out[1][2])
    return sorted(tasks), sorted(drops)


def test_listing_drops_fifos_sockets_and_links_without_opening(tmp_path):
    _tree_with_special_files(tmp_path)
    tasks, drops = _listing(tmp_path)
    assert tasks == ["a.py"]  # the only regular file is the only one ever opened
    assert drops == [("read/not_a_regular_file", "loose_pipe.c"),
                     ("read/not_a_regular_file", "pipe.py"),
                     ("read/not_a_regular_file", "s.sock"),
                     ("read/symlink", "link_to_pipe.py")]


def test_refinecode_on_a_tree_with_a_fifo_finishes_and_counts_it(tmp_path):
    _tree_with_special_files(tmp_path / "in")
    # A subprocess, so that a regression (a blocked open) fails the test instead of hanging it.
    proc = subprocess.run(
        [sys.executable, "-m", "opencoder_jax.cli", "data", "refinecode", "--input", str(tmp_path / "in"),
         "--output", str(tmp_path / "out"), "--stages", "preprocess", "--no_report", "--num_shards", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["dropped"]["read/not_a_regular_file"] == 3
    assert stats["dropped"]["read/symlink"] == 1
    assert stats["input"] == 5 and stats["conservation_ok"]
