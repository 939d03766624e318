"""`opencoder report` draws RefineCode runs only: the stats.json of token shards (or anything
without a RefineCode funnel) is refused instead of drawn as a run whose conservation law holds."""
import argparse
import json

import pytest

from opencoder_jax.report import cli as report_cli
from opencoder_jax.report.html_report import write_report

# The shape `opencoder data tokenize` writes (beam_pipelines/tokenize.py assemble_stats + run facts).
TOKENIZE_STATS = {"documents": 120, "kept": 118, "tokens": 53_211, "bytes": 190_000, "dropped_total": 2,
                  "dropped": {"tokenize/empty": 2}, "dropped_by_language": {}, "conservation_ok": True,
                  "tokens_per_language": {"python": 53_211}, "per_language": {},
                  "vocabulary": {"dir": "tok", "size": 640}, "runner": "FnApiRunner", "elapsed_s": 3.0}


@pytest.mark.parametrize("stats, hint", [(TOKENIZE_STATS, "token shards"), ({"anything": 1}, "")])
def test_report_refuses_a_directory_that_is_not_a_refinecode_run(tmp_path, capsys, stats, hint):
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    with pytest.raises(ValueError, match="is not a RefineCode output") as info:
        write_report(str(tmp_path))
    assert hint in str(info.value)
    parser = argparse.ArgumentParser()
    report_cli.add_arguments(parser)
    assert report_cli.run(parser.parse_args([str(tmp_path)])) == 1
    assert "not a RefineCode output" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()
