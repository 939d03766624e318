"""Shared fixtures: the labelled local corpus and a small BPE tokenizer trained with ours."""
import pytest

from tests.helpers.recall_corpus import labelled_corpus
from tests.helpers.tokenizer_corpus import corpus_texts, write_document_shard

RECALL_VOCAB = 1000


@pytest.fixture(scope="session")
def recall_corpus():
    positives, negatives = labelled_corpus(max_negatives=700)
    assert len(positives) >= 60 and len(negatives) >= 200, "too few local documents for the recall corpus"
    return positives, negatives


@pytest.fixture(scope="session")
def recall_tokenizer_dir(tmp_path_factory, recall_corpus):
    """`opencoder tokenizer train` on Python sources plus a slice of the corpus (1000 pieces)."""
    from opencoder_jax.tokenizer.train import TokenizerTrainConfig, train_tokenizer

    positives, negatives = recall_corpus
    docs = tmp_path_factory.mktemp("recall_docs")
    texts = corpus_texts() + [p["text"] for p in positives[::5]] + [n["text"] for n in negatives[::8]]
    write_document_shard(str(docs / "documents-00000-of-00001.array_record"), texts)
    out = str(tmp_path_factory.mktemp("recall_tok"))
    train_tokenizer([str(docs)], out, TokenizerTrainConfig(vocab_size=RECALL_VOCAB, num_special_slots=8,
                                                           sample_documents=1000, character_coverage=1.0,
                                                           num_threads=1), quiet=True)
    return out


@pytest.fixture(scope="session")
def segmenter(recall_tokenizer_dir):
    from opencoder_jax.recall.segment import Segmenter

    return Segmenter.from_dir(recall_tokenizer_dir)


# Small-corpus fastText settings: DeepSeekMath's 3 epochs at lr 0.1 are sized for 500K pages
# and under-fit a few hundred (measured: every page scored ~0.5); a small bucket keeps the
# model file small.
SMALL_FASTTEXT = {"dim": 64, "epochs": 30, "lr": 0.2, "bucket": 20000, "max_chars": 3000}
