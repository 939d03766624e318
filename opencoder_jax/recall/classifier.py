"""The code-related page classifier: fastText (`fasttext-numpy2-wheel`) over BPE pieces.

  train_classifier(positives, negatives, segmenter, config, model_path) -> TrainReport
  CodeClassifier.load(model_path, segmenter).probability(text) -> P(code-related)
  evaluate(probabilities, labels, threshold) -> precision / recall / f1 and the counts

fastText reads one example per line and `predict` refuses a newline, so every text goes
through `Segmenter.segment` (one line of pieces). fastText can abort with "Encountered NaN":
always on degenerate data (a few repeated lines), and on real data depending on the state of
the process it runs in (measured with fasttext-numpy2-wheel 0.9.2, thread=1: the same file and
arguments failed three times in a row inside a long-lived process that had imported
TensorFlow and trained a tokenizer, and trained cleanly in fresh processes). So training runs
in a fresh child process (`sys.executable`; about 0.2 s of start-up);
a NaN there is retried up to `RecallConfig.nan_retries` times, each time at half the learning
rate, and the TrainReport says how often and at which lr it finally trained;
past that it becomes `ClassifierTrainingError` with the sizes that explain it (a ValueError:
the CLI prints it as a clear error).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
from typing import Iterable, Sequence

from opencoder_jax.recall.config import RecallConfig
from opencoder_jax.recall.segment import Segmenter

CODE_LABEL = "__label__code"
OTHER_LABEL = "__label__other"


class ClassifierTrainingError(ValueError):
    """fastText could not train on the given examples (e.g. it encountered NaN)."""


@dataclasses.dataclass(frozen=True)
class TrainReport:
    model_path: str
    positives: int
    negatives: int
    words: int  # fastText's vocabulary size after min_count
    tokens: int  # pieces written to the training file
    skipped_empty: int  # examples whose text segmented to nothing
    nan_failures: int = 0  # "Encountered NaN" aborts before the run that succeeded
    lr: float = 0.0  # the learning rate of the run that succeeded (halved after each NaN)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


_TRAIN_SCRIPT = """
import json, sys
import fasttext
try:
    fasttext.train_supervised(sys.argv[1], **json.loads(sys.argv[2])).save_model(sys.argv[3])
except RuntimeError as e:
    print("fasttext-error:", e, file=sys.stderr)
    sys.exit(3)
"""


def _train_in_fresh_process(train_path: str, args: dict, model_path: str) -> None:
    """fastText training in a child process (see the module doc); RuntimeError on failure."""
    result = subprocess.run([sys.executable, "-c", _TRAIN_SCRIPT, train_path, json.dumps(args), model_path],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip()
                           else f"fastText training exited with {result.returncode}")


def _import_fasttext():
    import fasttext

    return fasttext


def write_training_file(path: str, positives: Iterable[str], negatives: Iterable[str],
                        segmenter: Segmenter, max_chars: int) -> tuple[int, int, int, int]:
    """fastText's supervised format; returns (positives, negatives, tokens, skipped_empty)."""
    counts = {CODE_LABEL: 0, OTHER_LABEL: 0}
    tokens = skipped = 0
    with open(path, "w", encoding="utf-8") as f:
        for label, texts in ((CODE_LABEL, positives), (OTHER_LABEL, negatives)):
            for text in texts:
                line = segmenter.segment(text, max_chars)
                if not line:
                    skipped += 1
                    continue
                f.write(f"{label} {line}\n")
                counts[label] += 1
                tokens += line.count(" ") + 1
    return counts[CODE_LABEL], counts[OTHER_LABEL], tokens, skipped


def train_classifier(positives: Sequence[str], negatives: Sequence[str], segmenter: Segmenter,
                     config: RecallConfig, model_path: str) -> TrainReport:
    """Train on labelled texts and save the model (a local path) -> TrainReport."""
    fasttext = _import_fasttext()
    os.makedirs(os.path.dirname(os.path.abspath(model_path)), exist_ok=True)
    fd, train_path = tempfile.mkstemp(suffix=".txt", prefix="fasttext-train-")
    os.close(fd)
    try:
        n_pos, n_neg, tokens, skipped = write_training_file(train_path, positives, negatives, segmenter,
                                                            config.max_chars)
        if n_pos == 0 or n_neg == 0:
            raise ClassifierTrainingError(
                f"cannot train the code classifier: {n_pos} positive and {n_neg} negative examples "
                "with text (both classes are needed)")
        nan_failures, args = 0, config.fasttext_args()
        while True:
            try:
                _train_in_fresh_process(train_path, args, model_path)
                break
            except RuntimeError as e:
                if "NaN" not in str(e):
                    raise
                nan_failures += 1
                args["lr"] = args["lr"] / 2  # what makes the sporadic NaN go away (measured)
                if nan_failures > config.nan_retries:
                    raise ClassifierTrainingError(
                        f"fastText encountered NaN {nan_failures} times while training on {n_pos} positives / "
                        f"{n_neg} negatives ({tokens} pieces): too little or degenerate data for lr={config.lr}, "
                        f"dim={config.dim}, epochs={config.epochs}; add seed pages or lower RecallConfig.lr") from e
        model = fasttext.load_model(model_path)
        return TrainReport(model_path=model_path, positives=n_pos, negatives=n_neg, words=len(model.words),
                           tokens=tokens, skipped_empty=skipped, nan_failures=nan_failures, lr=args["lr"])
    finally:
        os.remove(train_path)


class CodeClassifier:
    """A trained model plus the segmenter it was trained with."""

    def __init__(self, model, segmenter: Segmenter, max_chars: int = 100_000):
        self._model = model
        self._segmenter = segmenter
        self._max_chars = max_chars

    @classmethod
    def load(cls, model_path: str, segmenter: Segmenter, max_chars: int = 100_000) -> "CodeClassifier":
        fasttext = _import_fasttext()
        return cls(fasttext.load_model(model_path), segmenter, max_chars)

    def probability_of_line(self, line: str) -> float:
        """P(code) of an already segmented line (no newline); NaN if fastText met a NaN."""
        if not line:
            return 0.0
        try:
            labels, probs = self._model.predict(line, k=2, threshold=0.0)
        except RuntimeError as e:  # fastText's "Encountered NaN" (a broken model): the caller counts it
            if "NaN" in str(e):
                return math.nan
            raise
        for label, prob in zip(labels, probs):
            if label == CODE_LABEL:
                return float(min(max(prob, 0.0), 1.0))
        return 0.0

    def probability(self, text: str) -> float:
        return self.probability_of_line(self._segmenter.segment(text, self._max_chars))

    def probabilities(self, texts: Iterable[str]) -> list[float]:
        return [self.probability(t) for t in texts]


def evaluate(probabilities: Sequence[float], labels: Sequence[bool], threshold: float) -> dict:
    """Precision/recall/F1 of `p >= threshold` against boolean labels (None when undefined)."""
    if len(probabilities) != len(labels):
        raise ValueError(f"{len(probabilities)} probabilities for {len(labels)} labels")
    tp = fp = fn = tn = 0
    for p, y in zip(probabilities, labels):
        predicted = p >= threshold
        if predicted and y:
            tp += 1
        elif predicted:
            fp += 1
        elif y:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else None
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "positives": tp + fn, "negatives": fp + tn, "threshold": threshold}
