"""(Named tokenization.py, not tokenize.py: a script named tokenize.py shadows the standard
library module of that name for the whole process.)

Tokenization throughput per core: the job's batched tensorflow_text path vs SentencePiece
called per document in a Python loop (what a user would write), side by side in one run on
the same documents (Python sources of this installation) and the same tokenizer.

Rows (all in this process, TensorFlow limited to one thread, so figures are per core):
  sentencepiece_loop     [sp.encode(text) for text in docs]
  sentencepiece_batch    sp.encode(docs, num_threads=1) (SentencePiece's own list API)
  tf_text_batched        Vocabulary.encode_batch in batches of --batch_size (the Beam DoFn's call)
  job_dofn               EncodeBatches.process: tf_text + eos + uint32 LE record bytes
Every row is checked to produce the same ids as the first.

  .venv/bin/python benchmarks/tokenization.py [--mb 8] [--vocab_size 8192] [--append_results]
"""
from __future__ import annotations

import argparse
import glob
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SOURCE_PACKAGES = ("absl", "gin", "optax", "flax", "grain", "seqio", "pygments", "jinja2", "tornado", "datasketch")


def corpus(max_bytes: int) -> list[str]:
    import site

    root = site.getsitepackages()[0]
    texts, total = [], 0
    for package in SOURCE_PACKAGES:
        for path in sorted(glob.glob(os.path.join(root, package, "**", "*.py"), recursive=True)):
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            if not text:
                continue
            texts.append(text)
            total += len(text.encode("utf-8"))
            if total >= max_bytes:
                return texts
    return texts


def best_of(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=8.0, help="MB of source text to tokenize")
    parser.add_argument("--vocab_size", type=int, default=8192)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--append_results", action="store_true")
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import numpy as np
    import sentencepiece as spm

    from beam_pipelines.tokenize import EncodeBatches
    from opencoder_jax.tokenizer.train import TokenizerTrainConfig, train_model
    from opencoder_jax.tokenizer.vocabulary import Vocabulary

    docs = corpus(int(args.mb * 1e6))
    n_bytes = sum(len(t.encode("utf-8")) for t in docs)
    t0 = time.perf_counter()
    model = train_model(docs[: max(50, len(docs) // 4)], TokenizerTrainConfig(
        vocab_size=args.vocab_size, num_special_slots=101, num_threads=1))
    train_s = time.perf_counter() - t0
    vocab = Vocabulary(model)
    sp = spm.SentencePieceProcessor(model_proto=model)
    docs = [t.replace("\u2581", " ") for t in docs]  # keep every row on the same (fast) path

    def loop():
        return [sp.encode(t) for t in docs]

    def sp_batch():
        return sp.encode(docs, num_threads=1)

    def tf_batched():
        return [vocab.encode_batch(docs[i:i + args.batch_size]) for i in range(0, len(docs), args.batch_size)]

    fn = EncodeBatches(vocab, append_eos=True)
    fn.setup()
    items = [(t, "Python", len(t.encode("utf-8"))) for t in docs]

    def dofn():
        records = []
        for i in range(0, len(items), args.batch_size):
            records.extend(r for r in fn.process(items[i:i + args.batch_size]) if isinstance(r, bytes))
        return records

    # Outputs are compared as lists of ids, converted outside the timed region.
    as_lists = {
        "tf": lambda out: [f[s[k]:s[k + 1]].tolist() for f, s in out for k in range(len(s) - 1)],
        "records": lambda out: [np.frombuffer(r, "<u4")[:-1].tolist() for r in out],
    }

    vocab.encode_batch(docs[:8])  # build the TF op before timing
    rows = [("sentencepiece_loop (per document, Python loop)", loop, list),
            ("sentencepiece_batch (sp.encode(list), 1 thread)", sp_batch, list),
            (f"tf_text_batched (Vocabulary.encode_batch, batch {args.batch_size})", tf_batched, as_lists["tf"]),
            ("job_dofn (EncodeBatches: tf_text + eos + uint32 records)", dofn, as_lists["records"])]
    results = []
    reference = None
    for name, fn_, to_lists in rows:
        seconds, out = best_of(fn_, args.repeats)
        out = to_lists(out)
        if reference is None:
            reference = out
        elif out != reference:
            raise AssertionError(f"{name} produced different ids from the reference loop")
        results.append((name, seconds))
    n_tokens = sum(len(r) for r in reference)
    base = results[0][1]
    lines = [f"corpus: {len(docs):,} Python source files, {n_bytes / 1e6:.1f} MB, {n_tokens:,} tokens "
             f"({n_bytes / n_tokens:.2f} bytes/token); tokenizer: byte-fallback BPE, {args.vocab_size} ids, "
             f"trained in-run on a quarter of the files ({train_s:.1f}s); TensorFlow on 1 thread; "
             f"best of {args.repeats}; identical ids checked across rows",
             "",
             "| path | seconds | tokens/s per core | MB/s per core | speed vs loop |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, seconds in results:
        lines.append(f"| {name} | {seconds:.2f} | {n_tokens / seconds:,.0f} | {n_bytes / 1e6 / seconds:.2f} "
                     f"| {base / seconds:.2f}x |")
    report = "\n".join(lines)
    print(report)
    if args.append_results:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
        with open(path) as f:
            existing = f.read()
        header = "" if "## Tokenization (issue 5)" in existing else "\n## Tokenization (issue 5)\n"
        cmd = " ".join(["benchmarks/tokenization.py", *sys.argv[1:]])
        with open(path, "a") as f:
            f.write(f"{header}\n### tokenize, {time.strftime('%Y-%m-%d')}, {platform.machine()} "
                    f"{os.cpu_count()}-core CPU (shared), Python {platform.python_version()}\n\n"
                    f"`.venv/bin/python {cmd}`\n\n{report}\n")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
