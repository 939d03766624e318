"""The quickstart: every stage end to end on a tiny setting, resumability, failures, the report.

`test_quickstart_tiny` runs all nine stages on a tiny slice of the embedded corpus with a few
training steps and two HumanEval problems; `test_quickstart_default` (slow) is `make quickstart`.
"""
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

from opencoder_jax import cli, quickstart

TINY = [
    "--workers", "1",
    "--gin_param", "EmbeddedCorpusConfig.include_stdlib = False",
    "--gin_param", "EmbeddedCorpusConfig.packages = ['gin', 'datasketch']",
    "--gin_param", "TokenizerTrainConfig.vocab_size = 600",
    "--gin_param", "SFTExtractConfig.max_examples = 64",
    "--gin_param", "QuickstartConfig.pretrain_steps = 4",
    "--gin_param", "QuickstartConfig.anneal_steps = 2",
    "--gin_param", "QuickstartConfig.sft_steps = 2",
    "--gin_param", "QuickstartConfig.eval_limit = 2",
    "--gin_param", "QuickstartConfig.eval_max_new_tokens = 8",
    "--gin_param", "QuickstartConfig.heldout_batches = 2",
    "--gin_param", "TrainConfig.eval_batches = 1",
    # a smaller model than tiny.gin: compiles faster (these bindings reach every training stage)
    "--gin_param", "ModelConfig.num_layers = 1",
    "--gin_param", "ModelConfig.embed_dim = 64",
    "--gin_param", "ModelConfig.mlp_dim = 128",
    "--gin_param", "ModelConfig.head_dim = 16",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html_path: str, png_path: str, tmp_dir: str, size: str = "1280,2400") -> None:
    """Headless Chromium screenshot of a local HTML file (no network, no GPU, no profile)."""
    binary = _chromium()
    if binary is None:
        if os.environ.get("OPENCODER_REQUIRE_CHROMIUM"):
            pytest.fail("chromium not installed (apt-get install chromium) and OPENCODER_REQUIRE_CHROMIUM is set")
        pytest.skip("chromium not installed (Debian: apt-get install chromium; `make chromium`)")
    profile = os.path.join(tmp_dir, "chromium-profile")
    argv = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", f"--window-size={size}", f"--screenshot={png_path}",
            "file://" + os.path.abspath(html_path)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert os.path.exists(png_path), f"no screenshot (rc {proc.returncode}): {proc.stderr[-2000:]}"


def assert_not_blank(png_path: str) -> None:
    import numpy as np
    from PIL import Image

    img = np.asarray(Image.open(png_path).convert("RGB")).astype(np.int32)
    non_white = (img.min(axis=-1) < 235).mean()
    colors = len(np.unique(img.reshape(-1, 3)[::7], axis=0))
    assert non_white > 0.02, f"screenshot is (nearly) blank: {non_white:.4f} non-white"
    assert colors > 50, f"screenshot has only {colors} colors (no plots rendered?)"


def test_downstream_and_stage_lists():
    assert quickstart.downstream({"pretrain"}) == {"pretrain", "anneal", "sft", "eval"}
    assert quickstart.downstream({"tokenizer"}) == set(quickstart.STAGES) - {"refinecode", "report"}
    assert quickstart.downstream({"eval"}) == {"eval"}
    assert quickstart.parse_stage_list(["eval,pretrain"], "--force") == ["pretrain", "eval"]
    assert quickstart.parse_stage_list(["all"], "--force") == list(quickstart.STAGES)
    with pytest.raises(ValueError, match="unknown quickstart stage"):
        quickstart.parse_stage_list(["loader"], "--stages")
    assert quickstart.train_gin_params(["ModelConfig.num_layers = 1", "TokenizerTrainConfig.vocab_size=9",
                                        "TrainConfig.steps=3"]) == ["ModelConfig.num_layers = 1", "TrainConfig.steps=3"]


def test_failed_stage_names_stage_and_log(tmp_path, capsys):
    out = tmp_path / "qs"
    # refinecode marked done, but its corpus is missing: the tokenizer stage must fail cleanly
    (out / "stages").mkdir(parents=True)
    (out / "stages" / "refinecode.json").write_text(json.dumps({"stage": "refinecode", "status": "done"}))
    rc = cli.main(["quickstart", "--output", str(out), "--stages", "tokenizer"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "stage 'tokenizer' failed" in err
    log = out / "logs" / "tokenizer.log"
    assert str(log) in err and log.exists()
    assert "FAILED" in log.read_text()
    assert not (out / "stages" / "tokenizer.json").exists()
    # a stage whose inputs are not done is refused up front
    rc = cli.main(["quickstart", "--output", str(out), "--stages", "pretrain"])
    assert rc == 1
    assert "needs ['tokenize'] done first" in capsys.readouterr().err


def test_quickstart_tiny(tmp_path, capsys):
    out = str(tmp_path / "qs")
    rc = cli.main(["quickstart", "--output", out, *TINY])
    assert rc == 0, capsys.readouterr().err
    summary = json.load(open(os.path.join(out, "quickstart.json")))
    assert summary["ran"] == list(quickstart.STAGES)
    assert summary["refinecode"]["conservation_ok"] and summary["refinecode"]["kept"] > 20
    assert summary["tokenize"]["kept"] == summary["refinecode"]["kept"]
    assert summary["tokenize"]["heldout_documents"] > 0 and summary["tokenize"]["train_documents"] > 0
    assert os.path.exists(os.path.join(out, "tokenizer", "tokenizer.model"))
    assert glob.glob(os.path.join(out, "data", "heldout", "tokens-*.array_record"))
    assert summary["sft_data"]["chats"] > 0
    chat = json.loads(open(os.path.join(out, "sft_data", "sft_chats.jsonl")).readline())
    assert [m["role"] for m in chat["messages"]] == ["user", "assistant"]
    for stage, steps in (("pretrain", 4), ("anneal", 2), ("sft", 2)):
        assert summary[stage]["step"] == steps, summary[stage]
        assert glob.glob(os.path.join(out, stage, "checkpoints", "*"))
        assert os.path.exists(os.path.join(out, "logs", f"{stage}.log"))
    results = json.load(open(os.path.join(out, "eval", "humaneval", "results.json")))
    assert results["num_problems"] == 2 and 0.0 <= results["pass@1"] <= 1.0
    heldout = summary["eval"]["heldout_loss"]
    assert set(heldout) == {"pretrain", "anneal", "sft"} and all(v > 0 for v in heldout.values())
    page = open(os.path.join(out, "report.html")).read()
    for needle in ("Stages and timings", "Training", "Evaluation", "humaneval", "Stage funnel",
                   "SFT data", "Operative configs", "data:image/png;base64"):
        assert needle in page, needle
    for stage in quickstart.STAGES:
        assert os.path.exists(os.path.join(out, "stages", f"{stage}.json")), stage
    capsys.readouterr()

    # a re-run skips every finished stage (only the report is redrawn)
    rc = cli.main(["quickstart", "--output", out, *TINY])
    assert rc == 0
    again = json.load(open(os.path.join(out, "quickstart.json")))
    assert again["ran"] == ["report"]
    assert again["skipped"] == [s for s in quickstart.STAGES if s != "report"]
    rerun_out = capsys.readouterr().out
    assert "skipped (--force" in rerun_out and "other settings" not in rerun_out

    # --force eval redoes eval (and nothing upstream)
    before = json.load(open(os.path.join(out, "stages", "pretrain.json")))["finished_at"]
    rc = cli.main(["quickstart", "--output", out, "--force", "eval", *TINY])
    assert rc == 0
    forced = json.load(open(os.path.join(out, "quickstart.json")))
    assert forced["ran"] == ["eval", "report"]
    assert json.load(open(os.path.join(out, "stages", "pretrain.json")))["finished_at"] == before

    # the report renders in a real browser, with its plots
    png = str(tmp_path / "report.png")
    screenshot(os.path.join(out, "report.html"), png, str(tmp_path))
    assert_not_blank(png)


def test_report_without_results(tmp_path):
    """The report renders (saying what is missing) before any stage has finished."""
    from opencoder_jax.report.quickstart_report import write_quickstart_report

    page = open(write_quickstart_report(str(tmp_path))).read()
    assert "No stage has finished yet" in page and "No training metrics yet" in page


@pytest.mark.slow
def test_quickstart_default(tmp_path):
    """`make quickstart` itself (the default settings: about 20 minutes on 2 cores)."""
    out = str(tmp_path / "qs")
    proc = subprocess.run([sys.executable, "-m", "opencoder_jax.cli", "quickstart", "--output", out],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.load(open(os.path.join(out, "quickstart.json")))
    assert summary["eval"]["benchmarks"]["humaneval"]["num_problems"] == 164
    assert summary["pretrain"]["loss"] < summary["pretrain"]["first_loss"]
    png = os.path.join(str(tmp_path), "report.png")
    screenshot(os.path.join(out, "report.html"), png, str(tmp_path))
    assert_not_blank(png)
