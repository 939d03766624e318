"""The corpus -> SFT chats extractor: what it keeps, why it drops, determinism, outputs."""
import json
import os

from opencoder_jax.synth import sft_extract as sx

SOURCE = '''
"""Module docstring."""
import math


def area(radius: float) -> float:
    """Return the area of a circle with the given radius."""
    return math.pi * radius ** 2


def undocumented(x):
    return x + 1


def _private(x):
    """A private helper that should never be used as an example."""
    return x


def short(x):
    """Too short."""
    return x


def stub(x):
    """This function has a docstring but no body at all, only a pass."""
    pass


class Shape:
    def perimeter(self):
        """Return the perimeter of the shape, computed from its sides."""
        return sum(self.sides)


def outer(values):
    """Sum the squares of the values, with a nested helper function."""
    def square(v):
        """Square one value (a nested function, so it is never extracted)."""
        return v * v
    return sum(square(v) for v in values)


if True:
    def guarded(a, b=2, *args, **kw):
        """Add a and b, inside an if block at module level (still kept)."""
        return a + b
'''


def _doc(i, text=SOURCE, language="python"):
    return {"id": f"{i:04d}", "repo": "r", "path": f"m{i}.py", "language": language, "text": text}


def test_extract_reasons_and_conservation():
    docs = [_doc(0), _doc(1), _doc(2, "def broken(:\n"), _doc(3, "int main() {}", "c")]
    chats, fns, stats = sx.extract(docs, sx.SFTExtractConfig())
    assert sorted(f.name for f in fns) == ["area", "guarded", "outer"]
    assert stats["conservation_ok"]
    d = stats["dropped"]
    assert d["duplicate"] == 3  # the second copy of the module
    assert d["method"] == 2 and d["nested"] == 2 and d["private"] == 2 and d["no_docstring"] == 2
    assert d["docstring_too_short"] == 2 and d["trivial_body"] == 2
    assert stats["documents_unparsable"] == 1 and stats["python_documents"] == 3
    for chat in chats:
        user, answer = chat["messages"]
        assert user["role"] == "user" and answer["role"] == "assistant"
        assert answer["content"].startswith("```python\ndef ") and answer["content"].endswith("```")
        if chat["meta"]["template"] == "humaneval":
            assert user["content"].startswith(sx.INSTRUCTION_PREFIX)
        else:
            assert user["content"].startswith("Write a Python function `")
    sig = next(f for f in fns if f.name == "guarded").signature
    assert sig == "guarded(a, b=2, *args, **kw)"
    assert next(f for f in fns if f.name == "area").signature == "area(radius: float) -> float"


def test_extract_is_deterministic_and_capped():
    docs = [_doc(i, SOURCE.replace("def area", f"def area{i}").replace("def outer", f"def outer{i}")
                 .replace("def guarded", f"def guarded{i}")) for i in range(10)]
    config = sx.SFTExtractConfig(max_examples=7)
    a, _, sa = sx.extract(docs, config)
    b, _, sb = sx.extract(list(reversed(docs)), config)
    assert a == b and len(a) == 7
    assert sa["dropped"]["over_cap"] == 30 - 7 and sa["conservation_ok"]


def test_write_outputs(tmp_path):
    chats, fns, stats = sx.extract([_doc(0)], sx.SFTExtractConfig())
    out = sx.write_outputs(str(tmp_path), chats, fns, stats)
    lines = open(os.path.join(tmp_path, "sft_chats.jsonl")).read().splitlines()
    assert [json.loads(x) for x in lines] == chats
    from beam_pipelines.array_record_io import read_array_record_file

    docs = [json.loads(r) for r in read_array_record_file(
        os.path.join(tmp_path, "snippets", "documents-00000-of-00001.array_record"))]
    assert [d["text"] for d in docs] == [f.code for f in fns]
    assert all(d["language"] == "python" and d["id"] for d in docs)
    assert json.load(open(os.path.join(tmp_path, "stats.json")))["kept"] == len(chats) == out["kept"]
