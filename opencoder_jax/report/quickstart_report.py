"""OUT/report.html for a quickstart run: one page from raw code to an evaluated model.

Reads what the quickstart stages wrote (every input optional: a missing one hides its
section and says so): OUT/stages/<stage>.json (timings, headline numbers), OUT/corpus/stats.json
(RefineCode funnel and rules: the sections of the corpus report), OUT/tokens/stats.json,
OUT/sft_data/stats.json (+ a sample chat), OUT/<pretrain|anneal|sft>/metrics.jsonl and
summary.json (training curves: loss and held-out loss, learning rate, tokens/s), OUT/eval/
<benchmark>/results.json and OUT/eval/heldout.json (the evaluation table), and the operative
configs (OUT/config.gin, OUT/<stage>/config.gin). Plots are embedded base64 PNG; no JavaScript.

    python -m opencoder_jax.report.quickstart_report OUT    # (re)write OUT/report.html
"""
from __future__ import annotations

import datetime
import json
import os
import sys
from typing import Any, Mapping, Sequence

from opencoder_jax.report import plots
from opencoder_jax.train.metrics import read_metrics
from opencoder_jax.report.html_report import (_CSS, _e, _filter_section, _funnel_section, _img,
                                              _language_section, _num, _rules_section, _summary, _table)

STAGES = ("refinecode", "tokenizer", "tokenize", "sft_data", "pretrain", "anneal", "sft", "eval", "report")
TRAIN_STAGES = ("pretrain", "anneal", "sft")
STAGE_COLORS = {"pretrain": "#2b7bba", "anneal": "#d95f02", "sft": "#1b9e77"}
EXTRA_CSS = """
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.note { color: #555; font-size: 13px; }
pre.cfg { max-height: 360px; }
"""


def stage_headline(stage: str, summary: dict) -> str:
    """The one-line summary of a finished quickstart stage (console and report)."""
    s = summary or {}
    if stage == "refinecode":
        return f"{s.get('kept')} of {s.get('input')} files kept"
    if stage == "tokenizer":
        return f"vocabulary {s.get('vocab_size')}"
    if stage == "tokenize":
        return (f"{s.get('tokens')} tokens in {s.get('kept')} documents; held out "
                f"{s.get('heldout_documents')} documents")
    if stage == "sft_data":
        return f"{s.get('chats')} chats from {s.get('functions_seen')} functions"
    if stage in TRAIN_STAGES:
        def f(x):
            return f"{x:.3f}" if isinstance(x, (int, float)) else "-"
        return f"loss {f(s.get('first_loss'))} -> {f(s.get('loss'))}, eval loss {f(s.get('eval_loss'))}"
    if stage == "eval":
        parts = [f"{b} pass@1 {v.get('pass@1')}" for b, v in (s.get("benchmarks") or {}).items()]
        parts += [f"held-out loss {k} {v}" for k, v in (s.get("heldout_loss") or {}).items()]
        return "; ".join(parts)
    if stage == "report":
        return str(s.get("report"))
    return ""



def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _read_text(path: str, limit: int = 200_000) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(limit)
    except OSError:
        return None


def _fmt(x: Any, digits: int = 4) -> str:
    if isinstance(x, bool) or x is None:
        return "-" if x is None else str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1e5 else f"{x:,.0f}"
    return str(x)


def _missing(what: str) -> str:
    return f'<p class="missing">{_e(what)}</p>'


def _cards(cards: Sequence[tuple[str, str]]) -> str:
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="v">{_e(v)}</div><div class="k">{_e(k)}</div></div>' for k, v in cards) + "</div>"


# ------------------------------------------------------------------ plots ------------------
def timing_plot(seconds: Mapping[str, float]) -> str:
    items = [(k, float(v)) for k, v in seconds.items() if isinstance(v, (int, float))]
    if not items:
        return ""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(items) + 0.8))
    names = [k for k, _ in items][::-1]
    vals = [v for _, v in items][::-1]
    ax.barh(names, vals, color=[STAGE_COLORS.get(n, plots.KEPT_COLOR) for n in names])
    for y, v in enumerate(vals):
        ax.text(v, y, f" {v:.0f}s", va="center", fontsize=8)
    ax.set_xlabel("seconds")
    ax.set_title("wall time per stage")
    ax.set_xlim(0, max(vals) * 1.15 + 1)
    return plots._to_base64(fig)


def _smooth(values: list[float], window: int = 9) -> list[float]:
    """Centered moving average (the logged losses are single small batches: noisy)."""
    out = []
    for i in range(len(values)):
        lo, hi = max(0, i - window // 2), min(len(values), i + window // 2 + 1)
        out.append(sum(values[lo:hi]) / (hi - lo))
    return out


def training_plot(runs: Mapping[str, list[dict]]) -> str:
    """Loss (train + held-out), learning rate and tokens/s of every training stage on one
    global step axis (each stage continues where the previous one ended)."""
    series = {k: v for k, v in runs.items() if any("loss" in r for r in v)}
    if not series:
        return ""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    offset = 0
    for stage, rows in series.items():
        color = STAGE_COLORS.get(stage, "#555")
        train = [r for r in rows if "loss" in r and "step" in r]
        evals = [r for r in rows if "eval_loss" in r and "step" in r]
        xs = [offset + r["step"] for r in train]
        losses = [r["loss"] for r in train]
        axes[0].plot(xs, losses, color=color, lw=0.6, alpha=0.35)
        axes[0].plot(xs, _smooth(losses), color=color, label=f"{stage} train (smoothed)", lw=1.6)
        if evals:
            axes[0].plot([offset + r["step"] for r in evals], [r["eval_loss"] for r in evals], "o--", color=color,
                         ms=4, lw=1, label=f"{stage} held-out")
        lr = [(offset + r["step"], r["learning_rate"]) for r in train if "learning_rate" in r]
        if lr:
            axes[1].plot(*zip(*lr), color=color, label=stage)
        tps = [(offset + r["step"], r["tokens_per_second"]) for r in train if r.get("tokens_per_second")]
        if tps:
            axes[2].plot(*zip(*tps), color=color, label=stage)
        last = max([r["step"] for r in train] + [r["step"] for r in evals] + [0])
        if offset:
            for ax in axes:
                ax.axvline(offset, color="#bbb", lw=0.8, ls=":")
        offset += last
    axes[0].set_title("loss (nats/token)")
    axes[1].set_title("learning rate")
    axes[2].set_title("tokens / second")
    for ax in axes:
        ax.set_xlabel("step (stages back to back)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return plots._to_base64(fig)


# ------------------------------------------------------------------ sections ---------------
def _overview(out: str, done: Mapping[str, dict]) -> str:
    cards = []
    seconds = {s: d.get("seconds") for s, d in done.items() if s != "report"}
    total = sum(v for v in seconds.values() if isinstance(v, (int, float)))
    if seconds:
        cards.append(("stage time, total", f"{total / 60:.1f} min"))
    s = (done.get("refinecode") or {}).get("summary") or {}
    if s:
        cards.append(("files kept / input", f"{_num(s.get('kept'))} / {_num(s.get('input'))}"))
    s = (done.get("tokenize") or {}).get("summary") or {}
    if s:
        cards.append(("training tokens", plots.human_count(s.get("tokens"))))
    s = (done.get("pretrain") or {}).get("summary") or {}
    if s.get("params"):
        cards.append(("model parameters", plots.human_count(s["params"])))
    s = (done.get("eval") or {}).get("summary") or {}
    heldout = s.get("heldout_loss") or {}
    for stage in TRAIN_STAGES:
        t = (done.get(stage) or {}).get("summary") or {}
        if t.get("loss") is not None:
            h = heldout.get(stage, t.get("eval_loss"))
            cards.append((f"{stage}: train (held-out) loss", f"{_fmt(t.get('loss'), 3)} ({_fmt(h, 3)})"))
    for bench, r in (s.get("benchmarks") or {}).items():
        if r.get("pass@1") is not None:
            cards.append((f"{bench} pass@1", f"{100 * r['pass@1']:.1f}%"))
    pending = [st for st in STAGES if st not in done and st != "report"]
    note = (f"<p class='note'>Not done yet: {_e(', '.join(pending))}.</p>" if pending else "")
    return _cards(cards) + note


def _timing_section(out: str, done: Mapping[str, dict]) -> str:
    if not done:
        return "<h2>Stages and timings</h2>" + _missing("No stage has finished yet (OUT/stages/ is empty).")
    rows, seconds = [], {}

    for stage in STAGES:
        d = done.get(stage)
        if not d:
            rows.append([stage, "-", "not done", ""])
            continue
        seconds[stage] = d.get("seconds")
        rows.append([stage, _fmt(d.get("seconds"), 4), d.get("finished_at", ""), stage_headline(stage, d.get("summary") or {})])
    return ("<h2>Stages and timings</h2><p class='sub'>Each stage logs to <code>logs/&lt;stage&gt;.log</code> and "
            "records itself in <code>stages/&lt;stage&gt;.json</code>; a re-run skips finished stages.</p>"
            + _img(timing_plot(seconds), "time per stage")
            + _table(["stage", "seconds", "finished", "result"], rows, text_columns=(0, 2, 3)))


def _corpus_section(out: str) -> str:
    stats = _read_json(os.path.join(out, "corpus", "stats.json"))
    if not isinstance(stats, dict):
        return "<h2>Corpus (RefineCode)</h2>" + _missing("No corpus/stats.json.")
    link = ("<p class='sub'>The full corpus report with examples of dropped files: "
            "<a href='corpus/report.html'>corpus/report.html</a>.</p>")
    return ("<h2>Corpus (RefineCode)</h2>" + link + _summary(stats) + _funnel_section(stats)
            + _language_section(stats) + _rules_section(stats) + _filter_section(stats))


def _tokens_section(out: str, done: Mapping[str, dict]) -> str:
    tok = ((done.get("tokenizer") or {}).get("summary")) or {}
    stats = _read_json(os.path.join(out, "tokens", "stats.json")) or {}
    split = ((done.get("tokenize") or {}).get("summary")) or {}
    if not tok and not stats:
        return "<h2>Tokenizer and token shards</h2>" + _missing("No tokenizer or token shards yet.")
    rows = [["vocabulary size", _fmt(tok.get("vocab_size"))],
            ["tokenizer training documents", _fmt(tok.get("sampled"))],
            ["documents tokenized", _fmt(stats.get("kept"))], ["tokens (eos included)", _fmt(stats.get("tokens"))],
            ["training shards / documents", f"{_fmt(split.get('train_shards'))} / {_fmt(split.get('train_documents'))}"],
            ["held-out shards / documents", f"{_fmt(split.get('heldout_shards'))} / {_fmt(split.get('heldout_documents'))}"]]
    per_lang = stats.get("per_language") or stats.get("languages") or {}
    lang_rows = []
    if isinstance(per_lang, dict):
        for lang, v in sorted(per_lang.items(), key=lambda kv: -float((kv[1] or {}).get("tokens", 0) or 0))[:12]:
            if isinstance(v, dict):
                lang_rows.append([lang, _fmt(v.get("documents")), _fmt(v.get("tokens")),
                                  _fmt(round(v["bytes"] / v["tokens"], 2) if v.get("bytes") and v.get("tokens") else None)])
    lang_table = _table(["language", "documents", "tokens", "bytes/token"], lang_rows) if lang_rows else ""
    return ("<h2>Tokenizer and token shards</h2>" + _table(["", "value"], rows, text_columns=(0, 1))
            + lang_table)


def _sft_data_section(out: str) -> str:
    stats = _read_json(os.path.join(out, "sft_data", "stats.json"))
    if not isinstance(stats, dict):
        return "<h2>SFT data (extracted from the corpus)</h2>" + _missing("No sft_data/stats.json.")
    dropped = stats.get("dropped") or {}
    rows = [["Python documents read", _fmt(stats.get("python_documents"))],
            ["unparsable documents", _fmt(stats.get("documents_unparsable"))],
            ["functions seen", _fmt(stats.get("functions_seen"))], ["chats kept", _fmt(stats.get("kept"))]]
    rows += [[f"dropped: {k}", _fmt(v)] for k, v in sorted(dropped.items(), key=lambda kv: -kv[1]) if v]
    rows += [[f"template: {k}", _fmt(v)] for k, v in (stats.get("templates") or {}).items()]
    sample = ""
    text = _read_text(os.path.join(out, "sft_data", "sft_chats.jsonl"), 20_000) or ""
    for line in text.splitlines()[:1]:
        try:
            chat = json.loads(line)
            sample = "".join(f"<div class='meta'>{_e(m['role'])}</div><pre>{_e(m['content'])}</pre>"
                             for m in chat["messages"])
        except (ValueError, KeyError, TypeError):
            pass
    ok = stats.get("conservation_ok")
    law = ("<p class='ok'>functions seen = kept + dropped.</p>" if ok else
           "<p class='bad'>functions seen != kept + dropped.</p>" if ok is not None else "")
    return ("<h2>SFT data (extracted from the corpus)</h2><p class='sub'>Documented module-level Python "
            "functions -> instruction/answer chats (no teacher model); the kept functions are also the "
            "annealing mixture's &ldquo;synthetic code snippets&rdquo;.</p>"
            + _table(["", "count"], rows) + law
            + (f"<details><summary>a sample chat</summary>{sample}</details>" if sample else ""))


def _training_section(out: str) -> str:
    runs = {s: read_metrics(os.path.join(out, s, "metrics.jsonl")) for s in TRAIN_STAGES}
    runs = {s: r for s, r in runs.items() if r}
    if not runs:
        return "<h2>Training</h2>" + _missing("No training metrics yet.")
    rows = []
    for stage in TRAIN_STAGES:
        summary = _read_json(os.path.join(out, stage, "summary.json")) or {}
        metrics = runs.get(stage) or []
        train = [r for r in metrics if "loss" in r]
        if not train and not summary:
            continue
        last = train[-1] if train else {}
        rows.append([stage, _fmt(summary.get("step") or last.get("step")), _fmt(train[0]["loss"], 4) if train else "-",
                     _fmt(summary.get("loss", last.get("loss")), 4), _fmt(summary.get("eval_loss"), 4),
                     plots.human_count(summary.get("tokens_seen")), _fmt(last.get("learning_rate"), 3),
                     _fmt(last.get("tokens_per_second"), 4), _fmt(last.get("mfu"), 3),
                     _fmt(summary.get("compile_s"), 3), _fmt(summary.get("wall_s"), 4)])
    table = _table(["stage", "steps", "first loss", "last loss", "held-out loss", "tokens seen", "last LR",
                    "tokens/s", "MFU", "compile s", "wall s"], rows)
    return ("<h2>Training</h2><p class='sub'>pretrain (WSD: warmup then constant) &rarr; anneal (exponential "
            "decay on the corpus + snippets mixture) &rarr; SFT (loss on answers only). Held-out loss: the "
            "held-out token shard for pretrain/anneal, held-out chats for SFT.</p>"
            + _img(training_plot(runs), "training curves") + table)


def _eval_section(out: str) -> str:
    eval_dir = os.path.join(out, "eval")
    benches = sorted(d for d in (os.listdir(eval_dir) if os.path.isdir(eval_dir) else [])
                     if os.path.isfile(os.path.join(eval_dir, d, "results.json")))
    heldout = _read_json(os.path.join(eval_dir, "heldout.json")) or {}
    if not benches and not heldout:
        return "<h2>Evaluation</h2>" + _missing("No evaluation results yet.")
    rows, samples = [], []
    for b in benches:
        r = _read_json(os.path.join(eval_dir, b, "results.json")) or {}
        counts = r.get("status_counts") or {}
        rows.append([b, r.get("mode", "-"), _fmt(r.get("num_problems")), _fmt(r.get("n")),
                     f"{100 * r['pass@1']:.2f}%" if isinstance(r.get("pass@1"), (int, float)) else "-",
                     ", ".join(f"{k} {v}" for k, v in counts.items()), _fmt(r.get("generation_seconds"), 4),
                     _fmt(r.get("execution_seconds"), 4), str((r.get("sandbox") or {}).get("mode", "")) if
                     isinstance(r.get("sandbox"), dict) else str(r.get("sandbox") or "")])
        text = _read_text(os.path.join(eval_dir, b, "samples.jsonl"), 40_000) or ""
        for line in text.splitlines()[:2]:
            try:
                s = json.loads(line)
                samples.append(f"<div class='meta'>{_e(b)} {_e(s.get('task_id'))}: {_e(s.get('status'))}</div>"
                               f"<pre>{_e((s.get('raw') or '')[:1500])}</pre>")
            except ValueError:
                pass
    parts = ["<h2>Evaluation</h2><p class='sub'>Greedy decoding, programs run in the sandbox. A model this "
             "small is expected to score near zero: the numbers are reported as they are.</p>"]
    if rows:
        parts.append(_table(["benchmark", "mode", "problems", "samples", "pass@1", "programs", "generation s",
                             "execution s", "sandbox"], rows, text_columns=(0, 1, 5, 8)))
    if heldout:
        parts.append("<h3>Held-out loss</h3><p class='sub'>Every checkpoint on the same held-out token shard "
                     "(documents never trained on).</p>")
        parts.append(_table(["checkpoint", "loss (nats/token)", "tokens", "batches"],
                            [[k, _fmt(v.get("loss"), 4), _fmt(v.get("tokens")), _fmt(v.get("batches"))]
                             for k, v in heldout.items() if isinstance(v, dict)]))
    if samples:
        parts.append(f"<details><summary>sample completions</summary>{''.join(samples)}</details>")
    return "".join(parts)


def _config_section(out: str) -> str:
    items = [(f"{s} (configs/{s}.gin)", os.path.join(out, "configs", f"{s}.gin"))
             for s in ("refinecode", "tokenizer", "tokenize", "sft_data")]
    items += [(f"{s} ({s}/config.gin)", os.path.join(out, s, "config.gin")) for s in TRAIN_STAGES]
    parts = ["<h2>Operative configs</h2><p class='sub'>Every gin binding each stage actually used (a data "
             "stage's file also holds the stages that ran before it in the same process).</p>"]
    found = False
    for title, path in items:
        text = _read_text(path)
        if text:
            found = True
            parts.append(f"<details><summary>{_e(title)}</summary><pre class='cfg'>{_e(text)}</pre></details>")
    qs = _read_json(os.path.join(out, "stages", "pretrain.json"))
    if qs and qs.get("settings"):
        parts.append("<details><summary>quickstart training settings</summary><pre class='cfg'>"
                     f"{_e(json.dumps(qs['settings'], indent=2))}</pre></details>")
    if not found:
        parts.append(_missing("No config.gin files yet."))
    return "".join(parts)


def render_quickstart_report(out: str) -> str:
    done = {}
    for stage in STAGES:
        d = _read_json(os.path.join(out, "stages", f"{stage}.json"))
        if isinstance(d, dict) and d.get("status") == "done":
            done[stage] = d
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = "OpenCoder-JAX quickstart"
    sections = [
        f"<h1>{_e(title)}</h1><p class='sub'>raw code &rarr; RefineCode &rarr; tokenizer &rarr; pretrain &rarr; "
        f"anneal &rarr; SFT &rarr; HumanEval &middot; {_e(os.path.abspath(out))} &middot; generated {now}</p>",
        _overview(out, done), _timing_section(out, done), _training_section(out), _eval_section(out),
        _corpus_section(out), _tokens_section(out, done), _sft_data_section(out), _config_section(out),
    ]
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{_e(title)}</title><style>{_CSS}{EXTRA_CSS}</style></head><body>"
            + "".join(sections) + "</body></html>")


def write_quickstart_report(out: str) -> str:
    """Write OUT/report.html; returns its path."""
    page = render_quickstart_report(out)
    path = os.path.join(out, "report.html")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, path)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m opencoder_jax.report.quickstart_report OUT", file=sys.stderr)
        sys.exit(2)
    print(write_quickstart_report(sys.argv[1]))
