"""Scoring speed of web recall: the Beam graph against a plain fastText `predict` loop.

Both sides score the same pages with the same model and segmenter (BPE pieces -> fastText):
  loop  read JSONL, segment, `model.predict(line, k=2)` in one Python loop (what a user would
        write without Beam)
  beam  the round graph's read -> score -> recall/count part (beam_pipelines/web_recall.py:
        ReadPages + ScorePages + the stats) on FnApiRunner with 1 worker, in-process
Reports pages/s per core (one core each: the loop is single-threaded; FnApiRunner runs the
bundle in-process) and the ratio beam / loop, side by side in one run.

  .venv/bin/python benchmarks/recall.py [--pages 3000] [--vocab 4000]

Pages are real local documents (package READMEs and licence paragraphs, as in tests/recall),
repeated with distinct URLs up to --pages.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build(tmp: str, n_pages: int, vocab: int):
    from opencoder_jax.recall.classifier import train_classifier
    from opencoder_jax.recall.config import RecallConfig
    from opencoder_jax.recall.segment import Segmenter
    from opencoder_jax.tokenizer.train import TokenizerTrainConfig, train_tokenizer
    from tests.helpers.recall_corpus import labelled_corpus, write_jsonl
    from tests.helpers.tokenizer_corpus import write_document_shard

    positives, negatives = labelled_corpus(max_negatives=10 ** 6)
    texts = [p["text"] for p in positives + negatives]
    write_document_shard(os.path.join(tmp, "docs", "documents-00000-of-00001.array_record"), texts)
    train_tokenizer([os.path.join(tmp, "docs")], os.path.join(tmp, "tok"),
                    TokenizerTrainConfig(vocab_size=vocab, num_special_slots=8, sample_documents=5000,
                                         character_coverage=1.0, num_threads=1), quiet=True)
    segmenter = Segmenter.from_dir(os.path.join(tmp, "tok"))
    config = RecallConfig(bucket=200_000, epochs=10, lr=0.2)  # dim 256, word n-grams 3 as published
    train_classifier([p["text"] for p in positives], [n["text"] for n in negatives[:len(positives)]], segmenter,
                     config, os.path.join(tmp, "model.bin"))
    base = positives + negatives
    pages = [{"url": f"https://site{i % 97}.example/p/{i}", "text": base[i % len(base)]["text"]}
             for i in range(n_pages)]
    write_jsonl(os.path.join(tmp, "web", "pages.jsonl"), pages)
    return segmenter, config, os.path.join(tmp, "model.bin"), os.path.join(tmp, "web", "pages.jsonl")


def plain_loop(model_path: str, segmenter, config, path: str) -> tuple[float, int, int]:
    import fasttext

    model = fasttext.load_model(model_path)
    start = time.perf_counter()
    n = recalled = 0
    with open(path, "rb") as f:
        for line in f:
            page = json.loads(line)
            labels, probs = model.predict(segmenter.segment(page["text"], config.max_chars), k=2, threshold=0.0)
            p = dict(zip(labels, probs)).get("__label__code", 0.0)
            n += 1
            recalled += p >= config.threshold
    return time.perf_counter() - start, n, int(recalled)


def beam_graph(model_path: str, segmenter, config, path: str, out: str) -> tuple[float, int, int]:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from beam_pipelines.stats import read_stats_pairs
    from beam_pipelines.web_recall import STATS_PREFIX, ReadPages, ScorePages, page_files, write_stats

    start = time.perf_counter()
    p = beam.Pipeline(options=PipelineOptions([], runner="FnApiRunner", save_main_session=False))
    read = p | "ReadPages" >> ReadPages(page_files([path]))
    scoring = read["pages"] | "Score" >> beam.ParDo(
        ScorePages(model_path, segmenter, config.max_chars, config.threshold)).with_outputs("stats", main="scored")
    write_stats([read["stats"], scoring.stats], out)
    p.run().wait_until_finish()
    elapsed = time.perf_counter() - start
    pairs = read_stats_pairs(out, STATS_PREFIX)
    return elapsed, int(pairs.get('["scored"]', 0)), int(pairs.get('["recalled"]', 0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=3000)
    parser.add_argument("--vocab", type=int, default=4000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        segmenter, config, model_path, path = build(tmp, args.pages, args.vocab)
        size_mb = os.path.getsize(path) / 1e6
        plain_loop(model_path, segmenter, config, path)  # warm caches
        loop_s, n_loop, rec_loop = plain_loop(model_path, segmenter, config, path)
        beam_s, n_beam, rec_beam = beam_graph(model_path, segmenter, config, path, os.path.join(tmp, "out"))
    assert n_loop == n_beam == args.pages and rec_loop == rec_beam, (n_loop, n_beam, rec_loop, rec_beam)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    print(f"{args.pages} pages ({size_mb:.1f} MB), vocab {args.vocab}, fastText dim {config.dim}, "
          f"{rec_loop} recalled")
    print(f"plain fastText predict loop : {n_loop / loop_s:8.1f} pages/s per core ({loop_s:.2f}s)")
    print(f"Beam FnApiRunner, 1 worker  : {n_beam / beam_s:8.1f} pages/s per core ({beam_s:.2f}s, "
          "pipeline start-up included)")
    print(f"ratio beam / loop           : {loop_s / beam_s:.2f}")


if __name__ == "__main__":
    main()
