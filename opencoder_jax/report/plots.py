"""Plots of a RefineCode run, rendered with matplotlib's Agg backend to base64 PNG.

Each function takes plain Python data (from stats.json) and returns a base64 PNG string
for an <img src="data:image/png;base64,..."> tag, or "" when there is nothing to draw.
"""
from __future__ import annotations

import base64
import io
import math
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from opencoder_jax import units  # noqa: E402

KEPT_COLOR = "#2b7bba"
BEFORE_COLOR = "#b8c9dc"
DROP_COLOR = "#d95f02"


def human_bytes(n: float | None) -> str:
    """Binary units named as such (KiB, MiB): the same unit as every console summary."""
    return units.human_bytes(n)


def human_count(n: float | None) -> str:
    if n is None:
        return "-"
    n = float(n)
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f}{unit}"
    return f"{n:.0f}"


def _to_base64(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _format_axis(ax, fmt) -> None:
    """At most 4 x ticks, labelled with `fmt` (byte or count units), so labels never collide."""
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: fmt(v)))


def funnel_plot(funnel: Sequence[Mapping]) -> str:
    """Documents and bytes remaining after each stage, as two horizontal bar panels."""
    rows = [r for r in funnel if r.get("documents") is not None]
    if not rows:
        return ""
    stages = [str(r.get("stage", "?")) for r in rows]
    has_bytes = any(r.get("bytes") is not None for r in rows)
    panels = [("documents", human_count)] + ([("bytes", human_bytes)] if has_bytes else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 0.45 * len(rows) + 1.2), squeeze=False)
    for ax, (key, fmt) in zip(axes[0], panels):
        values = [float(r.get(key) or 0) for r in rows]
        top = max(values) or 1.0
        y = range(len(rows))
        ax.barh(y, values, color=KEPT_COLOR)
        ax.set_yticks(list(y), stages)
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.35)
        ax.set_title(f"{key} after each stage")
        _format_axis(ax, fmt)
        for i, v in enumerate(values):
            ax.text(v + top * 0.01, i, f"{fmt(v)} ({100 * v / (values[0] or 1):.1f}%)", va="center", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _to_base64(fig)


def language_plot(before: Mapping[str, Mapping], after: Mapping[str, Mapping], top_n: int = 15) -> str:
    """Bytes per language before (after preprocess) and after the pipeline, largest first."""
    languages = sorted(set(before) | set(after),
                       key=lambda l: -float((before.get(l) or after.get(l) or {}).get("bytes") or 0))[:top_n]
    if not languages:
        return ""
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.38 * len(languages) + 1.4))
    for ax, key, fmt in ((axes[0], "bytes", human_bytes), (axes[1], "documents", human_count)):
        b = [float((before.get(l) or {}).get(key) or 0) for l in languages]
        a = [float((after.get(l) or {}).get(key) or 0) for l in languages]
        y = range(len(languages))
        ax.barh([i - 0.2 for i in y], b, height=0.4, color=BEFORE_COLOR, label="before (after preprocess)")
        ax.barh([i + 0.2 for i in y], a, height=0.4, color=KEPT_COLOR, label="after (final)")
        ax.set_yticks(list(y), languages)
        ax.invert_yaxis()
        top = max(b + a) or 1.0
        ax.set_xlim(0, top * 1.3)
        for i, (bv, av) in enumerate(zip(b, a)):
            if bv:
                ax.text(max(av, bv) + top * 0.01, i, f"{100 * av / bv:.0f}% kept", va="center", fontsize=7)
        _format_axis(ax, fmt)
        ax.set_title(f"{key} per language")
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return _to_base64(fig)


def drop_heatmap(dropped_by_language: Mapping[str, Mapping[str, int]], top_rules: int = 20,
                 top_languages: int = 12) -> str:
    """Dropped documents per (rule, language) for the rules that drop the most."""
    totals = {rule: sum(by_lang.values()) for rule, by_lang in dropped_by_language.items() if by_lang}
    rules = sorted(totals, key=lambda r: -totals[r])[:top_rules]
    if not rules:
        return ""
    lang_totals: dict[str, int] = {}
    for rule in rules:
        for lang, n in dropped_by_language[rule].items():
            lang_totals[lang] = lang_totals.get(lang, 0) + int(n)
    languages = sorted(lang_totals, key=lambda l: -lang_totals[l])[:top_languages]
    grid = [[int(dropped_by_language[r].get(l, 0)) for l in languages] for r in rules]
    peak = max(max(row) for row in grid)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(languages) + 2.8, 0.36 * len(rules) + 1.6))
    masked = [[v if v > 0 else math.nan for v in row] for row in grid]
    image = ax.imshow(masked, aspect="auto", cmap="Oranges", norm=LogNorm(vmin=1, vmax=max(peak, 2)))
    ax.set_xticks(range(len(languages)), languages, rotation=40, ha="right")
    ax.set_yticks(range(len(rules)), rules)
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if v:
                dark = math.log(v + 1) > 0.6 * math.log(peak + 1)
                ax.text(j, i, human_count(v), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    ax.set_title("documents dropped, by rule and language")
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    fig.tight_layout()
    return _to_base64(fig)


def count_bars(counts: Mapping[str, float], title: str, top_n: int = 25, color: str = DROP_COLOR) -> str:
    """Horizontal bars of the largest counts (e.g. filter rules fired, transforms fired)."""
    items = sorted(((k, float(v)) for k, v in counts.items() if v), key=lambda kv: -kv[1])[:top_n]
    if not items:
        return ""
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(items) + 1.2))
    y = range(len(items))
    values = [v for _, v in items]
    ax.barh(list(y), values, color=color)
    ax.set_yticks(list(y), [k for k, _ in items])
    ax.invert_yaxis()
    ax.set_xlim(0, max(values) * 1.2)
    for i, v in enumerate(values):
        ax.text(v + max(values) * 0.01, i, human_count(v), va="center", fontsize=8)
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _to_base64(fig)
