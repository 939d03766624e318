"""report.html from a synthetic stats.json: sections present, numbers right, text escaped."""
from __future__ import annotations

import argparse
import base64
import json
import re

import pytest

from opencoder_jax.report import cli as report_cli
from opencoder_jax.report.html_report import funnel_rows, render_report, write_report

FUNNEL = [
    {"stage": "input", "documents": 10000, "bytes": 50_000_000},
    {"stage": "preprocess", "documents": 9000, "bytes": 45_000_000},
    {"stage": "exact_dedup", "documents": 6000, "bytes": 30_000_000},
    {"stage": "fuzzy_dedup", "documents": 5000, "bytes": 25_000_000},
    {"stage": "transform", "documents": 5000, "bytes": 24_000_000},
    {"stage": "filter", "documents": 3500, "bytes": 17_000_000},
    {"stage": "sample", "documents": 3000, "bytes": 14_000_000},
]
DROPPED = {
    "preprocess/too_large": 400, "preprocess/binary": 600, "exact_dedup/duplicate": 3000,
    "fuzzy_dedup/near_duplicate": 1000, "filter/qsc_code_num_lines": 900,
    "filter/qsc_codepython_cate_ast": 600, "sample/downsampled": 500,
}


def synthetic_stats() -> dict:
    return {
        "input": 10000, "kept": 3000, "dropped": DROPPED,
        "stages": ["preprocess", "exact_dedup", "fuzzy_dedup", "transform", "filter", "sample"],
        "funnel": FUNNEL,
        "per_language": {"python": {"documents": 1500, "bytes": 7_000_000},
                         "java": {"documents": 900, "bytes": 4_000_000},
                         "html": {"documents": 100, "bytes": 1_000_000}},
        "per_language_before": {"python": {"documents": 4000, "bytes": 20_000_000},
                                "java": {"documents": 3000, "bytes": 15_000_000},
                                "html": {"documents": 2000, "bytes": 10_000_000}},
        "dropped_by_language": {
            "exact_dedup/duplicate": {"python": 1000, "java": 1500, "html": 500},
            "filter/qsc_code_num_lines": {"python": 300, "java": 400, "html": 200},
            "filter/qsc_codepython_cate_ast": {"python": 600},
            "sample/downsampled": {"java": 400, "html": 100},
        },
        "metrics": {"filter/fired/qsc_code_num_lines": 950, "filter/fired/qsc_codepython_cate_ast": 620,
                    "transform/fired/copyright": 812, "transform/fired/pii_email": 77,
                    "transform/replacements/pii_email": 130, "transform/changed_docs": 850,
                    "transform/bytes_removed": 1_000_000, "transform/bytes_removed/copyright": 990_000},
        "conservation_ok": True,
    }


EXAMPLES = [
    {"reason": "filter/qsc_codepython_cate_ast", "id": "a1", "repo": "octo/x", "path": "bad.py",
     "language": "python", "bytes": 40, "head": "def f(:\n    return '<script>alert(1)</script>' & 1\n"},
    {"reason": "filter/qsc_code_num_lines", "id": "b2", "repo": "octo/y", "path": "Big.java",
     "language": "java", "bytes": 999, "head": "\n".join(f"line {i}" for i in range(40))},
]


def _write_run(tmp_path, stats, examples=EXAMPLES):
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    if examples is not None:
        (tmp_path / "drop_examples.jsonl").write_text("\n".join(json.dumps(e) for e in examples) + "\nnot json\n")
    return str(tmp_path)


def _pngs(page: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def test_report_has_every_section_with_plots(tmp_path):
    path = write_report(_write_run(tmp_path, synthetic_stats()))
    assert path == str(tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    for heading in ("Stage funnel", "Languages", "Drops by rule", "Filter rules fired", "Transforms fired",
                    "Dropped documents, by rule"):
        assert f"<h2>{heading}</h2>" in page
    # funnel plot, language plot, heatmap, filter bars, transform bars: all real PNGs
    images = _pngs(page)
    assert len(images) == 5
    assert all(img.startswith(b"\x89PNG\r\n\x1a\n") and len(img) > 2000 for img in images)
    assert "http://" not in page.replace("http://www.w3.org", "") and "<script" not in page  # self-contained


def test_report_numbers(tmp_path):
    page = render_report(synthetic_stats(), EXAMPLES)
    # funnel table: every stage with its documents and share of input (hand computed)
    for stage, docs, pct in (("exact_dedup", "6,000", "60.0%"), ("filter", "3,500", "35.0%"), ("sample", "3,000", "30.0%")):
        assert re.search(rf">{stage}</td><td[^>]*>{docs}</td><td[^>]*>{pct}</td>", page), stage
    # languages before/after: java 3,000 -> 900 docs = 30.0%
    assert re.search(r">java</td><td[^>]*>3,000</td><td[^>]*>900</td><td[^>]*>30.0%</td>", page)
    # rules sorted by drops, with top languages
    rules = re.findall(r'<td class="l">((?:preprocess|exact_dedup|fuzzy_dedup|filter|sample)/[\w:]+)</td>', page)
    assert rules[:3] == ["exact_dedup/duplicate", "fuzzy_dedup/near_duplicate", "filter/qsc_code_num_lines"]
    assert "java 1,500, python 1,000, html 500" in page
    assert ">copyright</td><td>812</td>" in page
    assert "Conservation law holds" in page


def test_examples_are_escaped_and_truncated(tmp_path):
    page = render_report(synthetic_stats(), EXAMPLES)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#x27; &amp; 1" in page
    assert "octo/x/bad.py" in page and "line 11" in page and "line 12" not in page
    assert "filter/qsc_codepython_cate_ast (1 example)" in page


def test_missing_keys_and_files_render(tmp_path):
    page = render_report({"input": 10, "kept": 7, "dropped": {"filter/x": 3}, "stages": ["filter"]}, None)
    assert "No per-language sizes in stats.json" in page and "No drop_examples.jsonl" in page
    # funnel rebuilt from input and drops
    assert funnel_rows({"input": 10, "dropped": {"filter/x": 3, "sample/y": 1}, "stages": ["filter", "sample"]}) == [
        {"stage": "input", "documents": 10, "bytes": None}, {"stage": "filter", "documents": 7, "bytes": None},
        {"stage": "sample", "documents": 6, "bytes": None}]
    assert "<h1>" in render_report({}, [])
    bad = dict(synthetic_stats(), conservation_ok=False)
    assert "VIOLATED" in render_report(bad, [])


def test_cli(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    report_cli.add_arguments(parser)
    assert report_cli.run(parser.parse_args([str(tmp_path)])) == 1  # no stats.json yet
    assert "stats.json" in capsys.readouterr().err
    _write_run(tmp_path, synthetic_stats(), examples=None)
    assert report_cli.run(parser.parse_args([str(tmp_path)])) == 0
    assert (tmp_path / "report.html").exists()


@pytest.mark.parametrize("bad", ["[1, 2]"])
def test_non_object_stats_is_a_clear_error(tmp_path, bad):
    (tmp_path / "stats.json").write_text(bad)
    with pytest.raises(ValueError, match="JSON object"):
        write_report(str(tmp_path))
