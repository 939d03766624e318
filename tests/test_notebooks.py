"""Every notebook under notebooks/ executes top to bottom with tiny settings (they are the
ablation records; their parameter cell holds the real sizes, overridden here as papermill would)."""
import glob
import json
import os

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "notebooks", "*.ipynb")))

TINY_MODEL = ["ModelConfig.num_layers = 1", "ModelConfig.embed_dim = 64", "ModelConfig.mlp_dim = 128",
              "ModelConfig.head_dim = 16", "TrainConfig.eval_batches = 1", "TrainConfig.eval_every = 0"]
TINY = {
    "dedup_ablation.ipynb": dict(PACKAGES=["packaging", "wheel", "gin"], HELDOUT_PACKAGE="gin", VOCAB_SIZE=800,
                                 TRAIN_STEPS=3, MODEL_PARAMS=TINY_MODEL, HELDOUT_BATCHES=1),
    "filter_ablation.ipynb": dict(PACKAGES=["gin", "datasketch"], EXAMPLES_PER_TIER=1, EXAMPLE_LINES=3),
    "annealing_ablation.ipynb": dict(PACKAGES=["gin", "datasketch"], VOCAB_SIZE=600, PRETRAIN_STEPS=3,
                                     ANNEAL_STEPS=2, HELDOUT_SNIPPETS=0.3, MODEL_PARAMS=TINY_MODEL,
                                     HELDOUT_BATCHES=1),
}


def with_tiny_parameters(nb, params: dict):
    """Insert a cell of overrides right after the cell tagged `parameters`."""
    index = next((i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if params:
        assert index is not None, "a notebook with tiny settings needs a cell tagged 'parameters'"
        source = "\n".join(f"{k} = {v!r}" for k, v in params.items())
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("ABLATION_RUNS", str(tmp_path))
    nb = nbformat.read(path, as_version=4)
    name = os.path.basename(path)
    first = "".join(nb.cells[0].source if nb.cells[0].cell_type == "code" else nb.cells[1].source)
    assert "find_spec(\"opencoder_jax\")" in first, "the first code cell installs the package when absent (Colab)"
    with_tiny_parameters(nb, TINY.get(name, {}))
    nb.cells.append(nbformat.v4.new_code_cell("import json\nprint('RESULT_JSON=' + json.dumps(RESULT, default=str))"))
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    text = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []) if o.output_type == "stream")
    result = json.loads(text.split("RESULT_JSON=", 1)[1])
    assert result, f"{name} produced an empty RESULT"
