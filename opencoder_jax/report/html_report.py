"""One self-contained report.html for a RefineCode run, so a researcher can audit the rules.

Reads <dir>/stats.json (written by the pipeline) and, when present, <dir>/drop_examples.jsonl
(one `beam_pipelines.stage.make_drop` dict per line, a few per reason), and writes
<dir>/report.html: the stage funnel, per-language sizes before/after, drops by rule and
language, filter rules and transforms fired, and examples of dropped documents per rule.
Plots are embedded as base64 PNG (no external files, no JavaScript). Every key of
stats.json is optional; a missing one hides its section and says so.
"""
from __future__ import annotations

import datetime
import html
import json
from collections import defaultdict
from typing import Any, Iterable, Mapping

from opencoder_jax import file_io
from opencoder_jax.report import plots

EXAMPLES_PER_REASON = 3
EXAMPLE_LINES = 12
OPEN_REASONS = 20  # with at most this many reasons, their examples are shown unfolded

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto;
       max-width: 1180px; color: #222; line-height: 1.4; }
h1 { margin-bottom: 0; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 36px; }
.sub { color: #666; margin-top: 4px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f3f5f8; } td.l, th.l { text-align: left; }
.ok { color: #1a7f37; font-weight: bold; } .bad { color: #c62828; font-weight: bold; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.card .v { font-size: 20px; font-weight: bold; } .card .k { color: #666; font-size: 12px; }
img { max-width: 100%; }
pre { background: #f7f7f7; border: 1px solid #e3e3e3; padding: 6px 8px; font-size: 12px;
      overflow-x: auto; max-height: 260px; margin: 4px 0 12px; }
details { margin: 6px 0; } summary { cursor: pointer; font-weight: bold; }
.meta { color: #555; font-size: 12px; }
.missing { color: #888; font-style: italic; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "-"


def _pct(part: Any, whole: Any) -> str:
    try:
        return f"{100.0 * float(part) / float(whole):.1f}%" if float(whole) else "-"
    except (TypeError, ValueError):
        return "-"


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{b64}">' if b64 else ""


def _missing(what: str) -> str:
    return f'<p class="missing">No {_e(what)} in stats.json.</p>'


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]], text_columns: Iterable[int] = (0,)) -> str:
    text_columns = set(text_columns)  # left-aligned; the others are numbers, right-aligned

    def cell(tag: str, i: int, value: Any) -> str:
        return f'<{tag} class="l">{_e(value)}</{tag}>' if i in text_columns else f"<{tag}>{_e(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def funnel_rows(stats: Mapping) -> list[dict]:
    """stats["funnel"], or one rebuilt from input and per-stage drops (documents only)."""
    funnel = stats.get("funnel")
    if isinstance(funnel, list) and funnel:
        return [dict(r) for r in funnel if isinstance(r, Mapping)]
    if "input" not in stats:
        return []
    rows = [{"stage": "input", "documents": int(stats["input"]), "bytes": None}]
    dropped = stats.get("dropped") or {}
    remaining = int(stats["input"])
    for stage in stats.get("stages") or []:
        remaining -= sum(int(n) for reason, n in dropped.items() if reason.split("/", 1)[0] == stage)
        rows.append({"stage": stage, "documents": remaining, "bytes": None})
    return rows


def _summary(stats: Mapping) -> str:
    cards = []
    if "input" in stats:
        cards.append(("input documents", _num(stats["input"])))
    if "kept" in stats:
        cards.append(("kept documents", _num(stats["kept"])))
        if "input" in stats:
            cards.append(("kept fraction", _pct(stats["kept"], stats["input"])))
    dropped = stats.get("dropped") or {}
    if dropped:
        cards.append(("dropped documents", _num(sum(int(v) for v in dropped.values()))))
    funnel = funnel_rows(stats)
    if funnel and funnel[0].get("bytes") is not None and funnel[-1].get("bytes") is not None:
        cards.append(("bytes in -> out", f"{plots.human_bytes(funnel[0]['bytes'])} -> "
                                         f"{plots.human_bytes(funnel[-1]['bytes'])}"))
    html_cards = "".join(f'<div class="card"><div class="v">{_e(v)}</div><div class="k">{_e(k)}</div></div>'
                         for k, v in cards)
    ok = stats.get("conservation_ok")
    if ok is None:
        law = '<p class="missing">conservation check not recorded</p>'
    elif ok:
        law = '<p class="ok">Conservation law holds: input = kept + dropped.</p>'
    else:
        law = '<p class="bad">Conservation law VIOLATED: input != kept + dropped (documents were lost).</p>'
    stages = stats.get("stages")
    stage_line = f'<p class="sub">stages: {_e(" -> ".join(stages))}</p>' if stages else ""
    return f'<div class="cards">{html_cards}</div>{law}{stage_line}'


def _funnel_section(stats: Mapping) -> str:
    rows = funnel_rows(stats)
    if not rows:
        return "<h2>Stage funnel</h2>" + _missing("funnel")
    first = rows[0]
    table_rows = []
    prev = first
    for r in rows:
        table_rows.append([
            r.get("stage", "?"), _num(r.get("documents")), _pct(r.get("documents"), first.get("documents")),
            plots.human_bytes(r.get("bytes")), _pct(r.get("bytes"), first.get("bytes")),
            _num((prev.get("documents") or 0) - (r.get("documents") or 0)) if r is not first else "",
        ])
        prev = r
    return ("<h2>Stage funnel</h2><p class='sub'>What remains after each stage.</p>"
            + _img(plots.funnel_plot(rows), "stage funnel")
            + _table(["stage", "documents", "% of input", "bytes", "% of input bytes", "removed by stage"], table_rows))


def _language_section(stats: Mapping) -> str:
    before = stats.get("per_language_before") or {}
    after = stats.get("per_language") or {}
    if not before and not after:
        return "<h2>Languages</h2>" + _missing("per-language sizes")
    languages = sorted(set(before) | set(after), key=lambda l: -float((before.get(l) or after.get(l) or {})
                                                                     .get("bytes") or 0))
    rows = []
    for lang in languages:
        b, a = before.get(lang) or {}, after.get(lang) or {}
        rows.append([lang, _num(b.get("documents")), _num(a.get("documents")), _pct(a.get("documents"), b.get("documents")),
                     plots.human_bytes(b.get("bytes")), plots.human_bytes(a.get("bytes")), _pct(a.get("bytes"), b.get("bytes"))])
    note = "" if before else _missing("per_language_before (sizes after preprocess)")
    return ("<h2>Languages</h2><p class='sub'>Before = after preprocess; after = final kept documents.</p>" + note
            + _img(plots.language_plot(before, after), "sizes per language")
            + _table(["language", "docs before", "docs after", "docs kept", "bytes before", "bytes after", "bytes kept"], rows))


def _rules_section(stats: Mapping) -> str:
    parts = ["<h2>Drops by rule</h2>"]
    dropped = stats.get("dropped") or {}
    by_language = stats.get("dropped_by_language") or {}
    if not dropped and not by_language:
        return "".join(parts) + _missing("drops")
    parts.append(_img(plots.drop_heatmap(by_language), "drops by rule and language"))
    if not by_language:
        parts.append(_missing("dropped_by_language"))
    total_in = stats.get("input")
    rows = []
    for reason, n in sorted(dropped.items(), key=lambda kv: -int(kv[1])):
        langs = by_language.get(reason) or {}
        top = ", ".join(f"{l} {_num(c)}" for l, c in sorted(langs.items(), key=lambda kv: -int(kv[1]))[:4])
        rows.append([reason, _num(n), _pct(n, total_in), top])
    parts.append("<p class='sub'>Every document counts once, under the stage/reason that dropped it.</p>")
    parts.append(_table(["stage/reason", "documents", "% of input", "top languages"], rows, text_columns=(0, 3)))
    return "".join(parts)


def _metric_group(metrics: Mapping[str, Any], prefix: str) -> dict[str, float]:
    return {k[len(prefix):]: float(v) for k, v in metrics.items()
            if k.startswith(prefix) and isinstance(v, (int, float))}


def _filter_section(stats: Mapping) -> str:
    fired = _metric_group(stats.get("metrics") or {}, "filter/fired/")
    if not fired:
        return ""
    rows = [[k, _num(v), _pct(v, stats.get("input"))] for k, v in sorted(fired.items(), key=lambda kv: -kv[1])]
    return ("<h2>Filter rules fired</h2><p class='sub'>A document dropped by several rules counts under each "
            "of them here (so these sum to more than the filter's drops).</p>"
            + _img(plots.count_bars(fired, "documents each filter rule fired on"), "filter rules fired")
            + _table(["rule", "documents", "% of input"], rows))


def _decontam_section(stats: Mapping) -> str:
    """Benchmark items found in the corpus (stage `decontaminate`; decontamination.json has more)."""
    hits = _metric_group(stats.get("metrics") or {}, "decontaminate/hit/")
    if not hits:
        ran = "decontaminate" in (stats.get("stages") or [])
        return "<h2>Decontamination</h2><p class='sub'>No HumanEval/MBPP item found.</p>" if ran else ""
    rows = [[*key.split("/", 1), _num(n)] for key, n in sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))]
    return ("<h2>Decontamination</h2><p class='sub'>Benchmark items found in the corpus, with the number "
            "of documents dropped for each (see decontamination.json).</p>"
            + _table(["benchmark", "task id", "documents"], rows, text_columns=(0, 1)))


def _transform_section(stats: Mapping) -> str:
    metrics = stats.get("metrics") or {}
    fired = _metric_group(metrics, "transform/fired/")
    if not fired and not any(k.startswith("transform/") for k in metrics):
        return "<h2>Transforms</h2>" + _missing("transform metrics")
    replacements = _metric_group(metrics, "transform/replacements/")
    removed = _metric_group(metrics, "transform/bytes_removed/")
    errors = _metric_group(metrics, "transform/error/")
    rows = [[name, _num(fired.get(name)), _num(replacements.get(name)) if name in replacements else "",
             plots.human_bytes(removed.get(name)) if name in removed else "", _num(errors.get(name)) if name in errors else ""]
            for name in sorted(set(fired) | set(errors), key=lambda n: -fired.get(n, 0))]
    changed = metrics.get("transform/changed_docs")
    total_removed = metrics.get("transform/bytes_removed")
    line = (f"<p class='sub'>{_num(changed)} documents changed; {plots.human_bytes(total_removed)} removed "
            "(net of placeholders). Transforms rewrite, never drop.</p>") if changed is not None else ""
    return ("<h2>Transforms fired</h2>" + line
            + _img(plots.count_bars(fired, "documents changed by each transform", color=plots.KEPT_COLOR), "transforms")
            + _table(["transform", "documents", "placeholders", "bytes removed", "errors"], rows))


def _examples_section(examples: list[Mapping], per_reason: int) -> str:
    if not examples:
        return "<h2>Dropped documents, by rule</h2>" + '<p class="missing">No drop_examples.jsonl.</p>'
    by_reason: dict[str, list[Mapping]] = defaultdict(list)
    for ex in examples:
        by_reason[str(ex.get("reason", "?"))].append(ex)
    parts = ["<h2>Dropped documents, by rule</h2><p class='sub'>The first lines of a few dropped documents "
             "per reason, to audit the rules.</p>"]
    shown_fields = {"reason", "id", "repo", "path", "language", "bytes", "head"}
    for reason in sorted(by_reason):
        items = by_reason[reason]
        body = []
        for ex in items[:per_reason]:
            extra = "; ".join(f"{k}: {v}" for k, v in ex.items() if k not in shown_fields and v not in (None, "", []))
            where = "/".join(p for p in (str(ex.get("repo") or ""), str(ex.get("path") or "")) if p) or str(ex.get("id", ""))
            head = "\n".join(str(ex.get("head") or "").splitlines()[:EXAMPLE_LINES])
            body.append(f'<div class="meta">{_e(where)} &middot; {_e(ex.get("language", "?"))} &middot; '
                        f'{_e(plots.human_bytes(ex.get("bytes")))}{" &middot; " + _e(extra) if extra else ""}</div>'
                        f"<pre>{_e(head) if head else '(no text)'}</pre>")
        parts.append(f"<details{' open' if len(by_reason) <= OPEN_REASONS else ''}><summary>{_e(reason)} ({len(items)} example{'s' if len(items) != 1 else ''})"
                     f"</summary>{''.join(body)}</details>")
    return "".join(parts)


def render_report(stats: Mapping, examples: list[Mapping] | None = None, title: str = "RefineCode run",
                  per_reason: int = EXAMPLES_PER_REASON) -> str:
    """The report as one HTML string."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        f"<h1>{_e(title)}</h1><p class='sub'>RefineCode pipeline report &middot; generated {now}</p>",
        _summary(stats), _funnel_section(stats), _language_section(stats), _rules_section(stats),
        _filter_section(stats), _decontam_section(stats), _transform_section(stats),
        _examples_section(examples or [], per_reason),
    ]
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            + "".join(sections) + "</body></html>")


def read_drop_examples(path: str) -> list[dict]:
    """drop_examples.jsonl lines; unreadable lines are skipped (the report must still render)."""
    if not file_io.exists(path):
        return []
    examples = []
    for line in file_io.read_bytes(path).decode("utf-8", "replace").splitlines():
        if line.strip():
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                examples.append(value)
    return examples


def check_refinecode_stats(stats: Mapping, output_dir: str) -> None:
    """Refuse a stats.json of another job: its counts would draw a misleading funnel (and a
    "conservation law holds" verdict) for a run that never happened."""
    if isinstance(stats.get("input"), (int, float)) and isinstance(stats.get("stages"), list):
        return
    guess = ""
    if "tokens" in stats or "vocabulary" in stats:
        guess = " (it looks like token shards written by `opencoder data tokenize`)"
    raise ValueError(f"{output_dir} is not a RefineCode output: its stats.json has no 'input' count and "
                     f"'stages' list{guess}; `opencoder report` draws RefineCode runs only")


def write_report(output_dir: str) -> str:
    """Write <output_dir>/report.html from stats.json (+ drop_examples.jsonl); returns its path."""
    stats_path = file_io.join(output_dir, "stats.json")
    if not file_io.exists(stats_path):
        raise FileNotFoundError(f"{stats_path} not found: run `opencoder data refinecode` first")
    stats = json.loads(file_io.read_bytes(stats_path).decode("utf-8"))
    if not isinstance(stats, dict):
        raise ValueError(f"{stats_path} does not hold a JSON object")
    check_refinecode_stats(stats, output_dir)
    examples = read_drop_examples(file_io.join(output_dir, "drop_examples.jsonl"))
    page = render_report(stats, examples, title=f"RefineCode run: {output_dir.rstrip('/').rsplit('/', 1)[-1]}")
    out_path = file_io.join(output_dir, "report.html")
    file_io.write_bytes(out_path, page.encode("utf-8"))
    return out_path
