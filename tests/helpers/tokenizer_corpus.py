"""Helpers for tokenizer tests: a small fixed corpus, document shards, a small tokenizer."""
import glob
import os

SMALL_VOCAB = 640
SMALL_SLOTS = 8

# A fixed corpus: Python sources of packages pinned in setup.py, plus a few hand-made texts
# with tabs, CRLF, non-Latin scripts and emoji so those characters get pieces.
EXTRA_TEXTS = [
    "int main(void) {\r\n\tprintf(\"héllo, wörld\\n\");\r\n\treturn 0;\r\n}\r\n",
    "// 日本語のコメント\nconst x = \"😀🎉\";\nlet y = x + 'ü';\n",
    "fn main() {\n    let v: Vec<u32> = (0..10).collect();\n    println!(\"{:?}\", v);\n}\n",
    "SELECT id, name FROM users WHERE age > 42 ORDER BY name;\n",
]


def corpus_texts(limit: int = 12) -> list[str]:
    import gin

    root = os.path.dirname(gin.__file__)
    files = sorted(glob.glob(os.path.join(root, "*.py")))[:limit]
    texts = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            texts.append(f.read())
    return texts + EXTRA_TEXTS


def write_document_shard(path: str, texts, extra_records=(), language="Python") -> list[dict]:
    """One documents-*.array_record shard holding `texts` as documents (+ raw extra records)."""
    from array_record.python import array_record_module

    from opencoder_jax.document import make_document, to_bytes

    os.makedirs(os.path.dirname(path), exist_ok=True)
    docs = []
    writer = array_record_module.ArrayRecordWriter(path, "group_size:1")
    for i, text in enumerate(texts):
        lang = language[i % len(language)] if isinstance(language, (list, tuple)) else language
        doc = make_document(repo="test/repo", path=f"file_{i}.txt", text=text,
                            content=text.encode("utf-8", "surrogatepass"), language=lang, lang_type="programming")
        docs.append(doc)
        writer.write(to_bytes(doc))
    for record in extra_records:
        writer.write(record)
    writer.close()
    return docs


def train_small_tokenizer(out_dir: str, docs_dir: str, **overrides) -> str:
    from opencoder_jax.tokenizer.train import TokenizerTrainConfig, train_tokenizer

    config = TokenizerTrainConfig(vocab_size=SMALL_VOCAB, num_special_slots=SMALL_SLOTS, sample_documents=1000,
                                  character_coverage=1.0, num_threads=1, **overrides)
    train_tokenizer([docs_dir], out_dir, config, quiet=True)
    return out_dir
