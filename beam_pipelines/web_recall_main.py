"""`opencoder data recall`: code-related web recall in rounds (OpenCoder Sec. 2.1.2).

  opencoder data recall --input WEB... --seeds FILE --tokenizer DIR --output DIR [--rounds 3]

Round r (the driver; each round is one Beam pipeline run over the web pages):
  1. positives = seed pages + pages pulled in by URL annotation so far; negatives = as many
     pages from a random sample of the web corpus (drawn once, before round 1); a held-out
     slice of both measures the classifier (and `--labelled FILE`, when given)
  2. train fastText on BPE pieces (opencoder_jax/recall/classifier.py)
  3. Beam: score every page, recall P(code) >= threshold, count recalled pages per domain,
     mark domains with > 10% recalled, pull pages matching the URL patterns in marked domains
  4. the pulled pages join the seeds of round r+1
The last round writes the recalled pages (decontaminated unless --no_decontaminate) as
`documents-*.array_record` with source "web": the `code_web` component of the pretraining
mixture after `opencoder data tokenize`.

OUTPUT/ holds documents-*, stats.json (pages in = kept + not recalled + dropped by reason;
every round's numbers), report.html (a plot per round), config.gin, and rounds/round_N/
(classifier.bin, code_domains-*.jsonl, pulled-*.jsonl, _stats/).
"""
from __future__ import annotations

import gzip
import io
import json
import math
import os
import shutil
import tempfile
import time

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from beam_pipelines.output_dir import prepare_output_dir
from beam_pipelines.stats import read_stats_pairs
from beam_pipelines.web_recall import (SCORE_BINS, STATS_PREFIX, build_pool_pipeline, build_round_pipeline,
                                       page_files)
from opencoder_jax import config as gin_config
from opencoder_jax.recall.classifier import CodeClassifier, evaluate, train_classifier
from opencoder_jax.recall.config import RecallConfig
from opencoder_jax.recall.seeds import choose_negatives, parse_pages_jsonl, split_holdout
from opencoder_jax.recall.segment import Segmenter

DEFAULT_GIN = ("recall/web_recall.gin",)
OUR_FILES = ("documents-", "stats.json", "config.gin", "report.html")
OUR_DIRS = ("_stats", "_pool", "rounds")


# ----------------------------------------------------------------------------- small I/O
def _lines(path: str):
    with FileSystems.open(path, compression_type="uncompressed") as raw:
        stream = gzip.GzipFile(fileobj=raw) if path.lower().endswith(".gz") else raw
        stream = stream if hasattr(stream, "readline") else io.BufferedReader(stream)
        yield from stream


def read_page_file(path: str, labelled: bool = False) -> tuple[list[dict], dict[str, int]]:
    if not FileSystems.exists(path):
        raise FileNotFoundError(f"{path!r} does not exist")
    return parse_pages_jsonl(_lines(path), source=path, labelled=labelled)


def _read_jsonl_glob(pattern: str) -> list[dict]:
    out = []
    for m in sorted(FileSystems.match([pattern])[0].metadata_list, key=lambda m: m.path):
        for line in _lines(m.path):
            if line.strip():
                out.append(json.loads(line))
    return out


def _copy_to(local_path: str, dest: str) -> None:
    with open(local_path, "rb") as src, FileSystems.create(dest) as dst:
        dst.write(src.read())


def _pipeline(runner: str, beam_args):
    return beam.Pipeline(options=PipelineOptions(list(beam_args or []), runner=runner, save_main_session=False))


def _parse_pairs(pairs: dict) -> dict:
    """Summed {"[...]": n} pairs -> {"input", "dropped": {...}, "score_hist": [...], ...}."""
    out = {"dropped": {}, "score_hist": [0] * SCORE_BINS}
    for key, value in pairs.items():
        parts = json.loads(key)
        if parts[0] == "dropped":
            out["dropped"][parts[1]] = int(value)
        elif parts[0] == "score_hist":
            out["score_hist"][int(parts[1])] = int(value)
        else:
            out[parts[0]] = int(value)
    out["dropped"] = dict(sorted(out["dropped"].items(), key=lambda kv: (-kv[1], kv[0])))
    return out


# ----------------------------------------------------------------------------- the rounds
def _train_round(round_dir: str, positives: list[dict], pool: list[dict], segmenter: Segmenter,
                 config: RecallConfig, labelled: list[dict] | None) -> tuple[str, dict]:
    """Train the round's classifier; returns (model path under round_dir, its numbers)."""
    n_neg = max(1, math.ceil(config.negative_ratio * len(positives)))
    negatives = choose_negatives(pool, (p["id"] for p in positives), n_neg)
    pos_train, pos_held = split_holdout(positives, config.holdout_fraction, config.seed)
    neg_train, neg_held = split_holdout(negatives, config.holdout_fraction, config.seed)
    model_path = round_dir + "/classifier.bin"
    local_dir = model_path.rsplit("/", 1)[0] if "://" not in model_path else tempfile.mkdtemp()
    local_model = os.path.join(local_dir, "classifier.bin")
    report = train_classifier([p["text"] for p in pos_train], [p["text"] for p in neg_train], segmenter, config,
                              local_model)
    classifier = CodeClassifier.load(local_model, segmenter, config.max_chars)
    held_probs = classifier.probabilities(p["text"] for p in pos_held + neg_held)
    numbers = {
        "positives": len(positives), "negatives": len(negatives),
        "negatives_short": max(0, n_neg - len(negatives)),
        "train": report.to_json(),
        "heldout": evaluate(held_probs, [True] * len(pos_held) + [False] * len(neg_held), config.threshold),
    }
    numbers["train"]["model_path"] = model_path
    if labelled:
        probs = classifier.probabilities(p["text"] for p in labelled)
        numbers["labelled"] = evaluate(probs, [p["label"] for p in labelled], config.threshold)
    if "://" in model_path:  # a remote output: the model trained in a local temporary directory
        _copy_to(local_model, model_path)
        shutil.rmtree(local_dir, ignore_errors=True)
    return model_path, numbers


def run_web_recall(inputs: list[str], seed_files: list[str], output_dir: str, segmenter: Segmenter,
                   config: RecallConfig | None = None, labelled_file: str | None = None,
                   runner: str = "FnApiRunner", beam_args: list[str] | None = None, overwrite: bool = False,
                   decontam_config=None, report: bool = True, quiet: bool = False) -> dict:
    """Run every round with gin parsed; returns stats.json's content.

    `decontam_config`: a DecontamConfig, or None to skip decontamination (when
    `config.decontaminate` is true and None is given, the gin-bound DecontamConfig is used).
    """
    config = config or RecallConfig()
    if decontam_config is None and config.decontaminate:
        from opencoder_jax.refinecode.decontam import DecontamConfig

        decontam_config = DecontamConfig()
    if not config.decontaminate:
        decontam_config = None
    tasks = page_files(inputs)
    seeds, seed_drops = [], {}
    for path in seed_files:
        pages, drops = read_page_file(path)
        seeds += pages
        for reason, n in drops.items():
            seed_drops[reason] = seed_drops.get(reason, 0) + n
    seeds = list({p["id"]: p for p in seeds}.values())
    if not seeds:
        raise ValueError(f"no usable seed pages in {seed_files} (dropped: {seed_drops})")
    labelled = read_page_file(labelled_file, labelled=True)[0] if labelled_file else None
    prepare_output_dir(output_dir, overwrite, OUR_FILES, OUR_DIRS, what="web recall results")
    base = output_dir.rstrip("/")
    start = time.time()

    pool_size = math.ceil(config.negative_ratio * len(seeds) * config.negative_pool_factor)
    p = _pipeline(runner, beam_args)
    build_pool_pipeline(p, tasks, base + "/_pool", pool_size, config.seed)
    p.run().wait_until_finish()
    pool = _read_jsonl_glob(base + "/_pool/pool-*.jsonl")
    pool_stats = _parse_pairs(read_stats_pairs(base + "/_pool", STATS_PREFIX))
    if not quiet:
        print(f"recall: {pool_stats.get('input', 0):,} records, {pool_stats.get('pages', 0):,} pages, "
              f"{len(seeds):,} seed pages, random pool of {len(pool):,}")

    positives = {p["id"]: p for p in seeds}
    rounds = []
    final = {}
    for r in range(1, config.rounds + 1):
        t0 = time.time()
        round_dir = f"{base}/rounds/round_{r}"
        model_path, numbers = _train_round(round_dir, list(positives.values()), pool, segmenter, config, labelled)
        last = r == config.rounds
        p = _pipeline(runner, beam_args)
        build_round_pipeline(p, tasks, round_dir, model_path, segmenter, config, r,
                             documents_dir=base if last else None, decontam_config=decontam_config if last else None)
        p.run().wait_until_finish()
        counts = _parse_pairs(read_stats_pairs(round_dir, STATS_PREFIX))
        code_domains = sorted(_read_jsonl_glob(round_dir + "/code_domains-*.jsonl"),
                              key=lambda d: (-d["recalled"], d["domain"]))
        pulled = _read_jsonl_glob(round_dir + "/pulled-*.jsonl")
        new = [pg for pg in pulled if pg["id"] not in positives]
        for pg in new:
            positives[pg["id"]] = pg
        numbers.update({
            "round": r, "pages_scored": counts.get("scored", 0), "recalled": counts.get("recalled", 0),
            "not_recalled": counts.get("not_recalled", 0), "recalled_bytes": counts.get("recalled_bytes", 0),
            "domains": counts.get("domains", 0), "code_domains": counts.get("code_domains", 0),
            "top_code_domains": code_domains[:20], "pulled": counts.get("pulled", 0), "pulled_new": len(new),
            "score_histogram": counts["score_hist"], "elapsed_s": round(time.time() - t0, 2),
        })
        rounds.append(numbers)
        final = counts
        if not quiet:
            held = numbers["heldout"]
            print(f"  round {r}: {numbers['positives']:,} positives / {numbers['negatives']:,} negatives, held-out "
                  f"P={_fmt(held['precision'])} R={_fmt(held['recall'])}; recalled {numbers['recalled']:,} of "
                  f"{numbers['pages_scored']:,}; {numbers['code_domains']:,} code domains; "
                  f"{len(new):,} pages pulled into the seed ({numbers['elapsed_s']:.1f}s)")

    dropped = final["dropped"]
    kept = final.get("kept", 0)
    stats = {
        "input": final.get("input", 0), "kept": kept, "recalled": final.get("recalled", 0),
        "not_recalled": final.get("not_recalled", 0), "dropped_total": sum(dropped.values()), "dropped": dropped,
        "rounds": rounds, "seeds": {"pages": len(seeds), "files": list(seed_files), "dropped": seed_drops},
        "pool": {"pages": len(pool), "requested": pool_size},
        "labelled": labelled_file, "decontaminated": decontam_config is not None,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(config).items()},
        "tokenizer": segmenter.name, "runner": runner, "elapsed_s": round(time.time() - start, 2),
        "inputs": [path for _, path in tasks],
        "outputs": {"documents": base + "/documents-*.array_record", "rounds": base + "/rounds/"},
    }
    stats["conservation_ok"] = stats["input"] == kept + stats["not_recalled"] + stats["dropped_total"] \
        and pool_stats.get("input", 0) == stats["input"]
    with FileSystems.create(base + "/stats.json") as f:
        f.write(json.dumps(stats, indent=2, ensure_ascii=False).encode("utf-8"))
    if not stats["conservation_ok"]:
        raise AssertionError(f"conservation law broken: {stats['input']} pages != kept {kept} + not recalled "
                             f"{stats['not_recalled']} + dropped {stats['dropped_total']}")
    if report:
        from opencoder_jax.recall.report import write_report

        html = write_report(stats)
        with FileSystems.create(base + "/report.html") as f:
            f.write(html.encode("utf-8"))
        stats["report"] = base + "/report.html"
    if not quiet:
        print(f"recall finished in {stats['elapsed_s']:.1f}s: {stats['input']:,} pages in, {kept:,} kept, "
              f"{stats['not_recalled']:,} not recalled, {stats['dropped_total']:,} dropped {dict(dropped)}\n"
              f"  outputs: {base}/documents-*.array_record, stats.json" + (", report.html" if report else ""))
    return stats


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


# ----------------------------------------------------------------------------- CLI
def add_arguments(parser) -> None:
    parser.add_argument("--input", nargs="+", required=True,
                        help="web pages: *.jsonl[.gz] / *.parquet files, globs or directories (fields url, text)")
    parser.add_argument("--seeds", nargs="+", required=True,
                        help="code-related seed pages: JSONL(.gz) lines with text (url optional)")
    parser.add_argument("--tokenizer", default=None,
                        help="BPE tokenizer directory that segments text for fastText (opencoder tokenizer train)")
    parser.add_argument("--output", required=True, help="output directory (local or gs://...)")
    parser.add_argument("--rounds", type=int, default=None, help="recall rounds (default: gin, 3)")
    parser.add_argument("--threshold", type=float, default=None, help="recall P(code) >= this (default: gin, 0.5)")
    parser.add_argument("--labelled", default=None,
                        help="JSONL with text and label (code/other): classifier precision/recall every round")
    parser.add_argument("--no_decontaminate", action="store_true", help="keep recalled pages holding benchmark items")
    parser.add_argument("--runner", default="FnApiRunner", help="Beam runner (FnApiRunner locally)")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --output")
    parser.add_argument("--no_report", action="store_true", help="skip report.html")
    gin_config.add_gin_flags(parser)


def run(args, beam_args: list[str] | None = None) -> int:
    params = list(args.gin_param)
    if args.rounds is not None:
        params.append(f"RecallConfig.rounds = {int(args.rounds)}")
    if args.threshold is not None:
        params.append(f"RecallConfig.threshold = {float(args.threshold)}")
    if args.no_decontaminate:
        params.append("RecallConfig.decontaminate = False")
    import opencoder_jax.refinecode.decontam  # noqa: F401 - registers DecontamConfig with gin

    gin_config.parse_gin(args.gin_file, params, defaults=DEFAULT_GIN)
    if not args.tokenizer:
        raise ValueError("--tokenizer DIR is required: the BPE tokenizer that segments pages for fastText "
                         "(train one with `opencoder tokenizer train`)")
    run_web_recall(args.input, args.seeds, args.output, Segmenter.from_dir(args.tokenizer), RecallConfig(),
                   labelled_file=args.labelled, runner=args.runner, beam_args=beam_args, overwrite=args.overwrite,
                   report=not args.no_report)
    gin_config.write_operative_config(args.output)
    return 0
