"""report.html of a web recall run: the funnel, then one plot per round, from stats.json.

Each round's figure has three panels: the distribution of P(code) over every scored page
(log scale, threshold marked), the classifier's held-out precision/recall, and the code
domains that were marked (recalled share of their pages).
"""
from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RECALL_COLOR = "#2b7bba"
OTHER_COLOR = "#b8c9dc"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def round_plot(round_stats: dict, threshold: float) -> str:
    """One round's figure as a base64 PNG."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.4))
    hist = round_stats.get("score_histogram") or []
    n = len(hist) or 1
    edges = [i / n for i in range(n)]
    colors = [RECALL_COLOR if (e + 1 / n) > threshold else OTHER_COLOR for e in edges]
    ax = axes[0]
    ax.bar(edges, [max(h, 0) for h in hist], width=1 / n, align="edge", color=colors)
    if any(hist):
        ax.set_yscale("log")
    ax.axvline(threshold, color="#d95f02", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_title(f"round {round_stats['round']}: P(code) of {round_stats.get('pages_scored', 0):,} pages")
    ax.set_xlabel("P(code)")

    ax = axes[1]
    held = round_stats.get("heldout", {})
    labelled = round_stats.get("labelled") or {}
    names, values = [], []
    for prefix, row in (("held-out", held), ("labelled", labelled)):
        for metric in ("precision", "recall"):
            if row.get(metric) is not None:
                names.append(f"{prefix}\n{metric}")
                values.append(row[metric])
    ax.bar(range(len(values)), values, color=RECALL_COLOR)
    ax.set_xticks(range(len(values)), names, fontsize=8)
    ax.set_ylim(0, 1.05)
    for i, v in enumerate(values):
        ax.text(i, v + 0.02, f"{v:.3f}", ha="center", fontsize=8)
    ax.set_title(f"classifier ({held.get('positives', 0)} + {held.get('negatives', 0)} held out)")

    ax = axes[2]
    domains = (round_stats.get("top_code_domains") or [])[:10]
    if domains:
        ax.barh(range(len(domains)), [d["share"] for d in domains], color=RECALL_COLOR)
        ax.set_yticks(range(len(domains)), [f"{d['domain'][:28]} ({d['recalled']}/{d['pages']})" for d in domains],
                      fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
    ax.set_title(f"{round_stats.get('code_domains', 0):,} code domains, {round_stats.get('pulled_new', 0):,} pages "
                 "pulled", fontsize=9)
    ax.set_xlabel("share of pages recalled")
    for a in axes:
        a.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png(fig)


def write_report(stats: dict) -> str:
    """The HTML page (plots inline) for a stats.json dict."""
    threshold = stats.get("config", {}).get("threshold", 0.5)
    esc = html.escape
    rows = [("pages in", stats["input"]), ("kept (recalled, written)", stats["kept"]),
            ("not recalled", stats["not_recalled"])]
    rows += [(f"dropped: {reason}", n) for reason, n in stats["dropped"].items()]
    table = "".join(f"<tr><td>{esc(str(k))}</td><td style='text-align:right'>{v:,}</td></tr>" for k, v in rows)
    round_rows = "".join(
        f"<tr><td>{r['round']}</td><td>{r['positives']:,}</td><td>{r['negatives']:,}</td>"
        f"<td>{_f(r['heldout']['precision'])}</td><td>{_f(r['heldout']['recall'])}</td>"
        f"<td>{r['pages_scored']:,}</td><td>{r['recalled']:,}</td><td>{r['code_domains']:,}</td>"
        f"<td>{r['pulled_new']:,}</td></tr>" for r in stats["rounds"])
    plots = "".join(f"<h3>Round {r['round']}</h3><img alt='round {r['round']}' "
                    f"src='data:image/png;base64,{round_plot(r, threshold)}'>" for r in stats["rounds"])
    ok = "holds" if stats.get("conservation_ok") else "BROKEN"
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Code-related web recall</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 10px;border-bottom:1px solid #ddd}}</style>
</head><body><h1>Code-related web recall</h1>
<p>{len(stats['rounds'])} rounds, threshold {threshold}, {stats['seeds']['pages']:,} seed pages,
decontaminated: {stats.get('decontaminated')}. Conservation (pages in = kept + not recalled + dropped) {ok}.</p>
<table>{table}</table>
<h2>Rounds</h2><table><tr><th>round</th><th>positives</th><th>negatives</th><th>held-out precision</th>
<th>held-out recall</th><th>pages scored</th><th>recalled</th><th>code domains</th><th>pulled into seed</th></tr>
{round_rows}</table>{plots}</body></html>"""


def _f(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"
