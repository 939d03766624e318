"""Shared fixtures: a small document corpus and a small tokenizer trained on it."""
import pytest

from tests.helpers.tokenizer_corpus import corpus_texts, train_small_tokenizer, write_document_shard


@pytest.fixture(scope="session")
def docs_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("docs")
    write_document_shard(str(d / "documents-00000-of-00001.array_record"), corpus_texts())
    return str(d)


@pytest.fixture(scope="session")
def small_tokenizer_dir(tmp_path_factory, docs_dir):
    return train_small_tokenizer(str(tmp_path_factory.mktemp("tok")), docs_dir)


@pytest.fixture(scope="session")
def small_vocab(small_tokenizer_dir):
    from opencoder_jax.tokenizer import load_vocabulary

    return load_vocabulary(small_tokenizer_dir)

