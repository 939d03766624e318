"""Domains, URL patterns, page validation, seed splits: hand-checked cases."""
import pytest

from opencoder_jax.recall.domains import UrlPatterns, discover_domains, domain_of, is_code_domain
from opencoder_jax.recall.pages import parse_page, to_document
from opencoder_jax.recall.seeds import choose_negatives, parse_label, parse_pages_jsonl, split_holdout


def test_domain_of():
    assert domain_of("https://WWW.Example.com:8080/a?b#c") == "example.com"
    assert domain_of("http://docs.python.org/3/") == "docs.python.org"
    assert domain_of("stackoverflow.com/questions/1") == "stackoverflow.com"
    assert domain_of("") == "" and domain_of("not a url") == ""


def test_url_patterns_match_host_suffix_and_path_prefix():
    patterns = UrlPatterns(["stackoverflow.com/questions", "https://www.mathoverflow.net/"])
    assert patterns.matches("https://stackoverflow.com/questions/123/how-to")
    assert patterns.matches("https://ru.stackoverflow.com/questions/9")  # a sub-domain
    assert not patterns.matches("https://stackoverflow.com/users/2")
    assert not patterns.matches("https://notstackoverflow.com/questions/1")
    assert patterns.matches("http://mathoverflow.net/anything")
    assert not UrlPatterns([])
    with pytest.raises(ValueError):
        UrlPatterns(["/questions"])


def test_domain_discovery_needs_more_than_the_share():
    assert not is_code_domain(10, 1, 0.1)  # exactly 10% is not "over 10%"
    assert is_code_domain(10, 2, 0.1)
    assert not is_code_domain(3, 3, 0.1, min_pages=5)
    marked = discover_domains({"a.org": (10, 1), "b.org": (19, 2), "c.org": (4, 4), "": (5, 5)}, 0.1)
    assert list(marked) == ["c.org", "b.org"]
    assert marked["b.org"]["share"] == pytest.approx(2 / 19)


def test_parse_page_reasons():
    ok = parse_page({"url": "https://a.example/x", "text": "hello"})
    assert ok["domain"] == "a.example" and len(ok["id"]) == 32
    assert parse_page({"text": "hello"}) == "page/no_url"
    assert parse_page({"url": "no scheme here", "text": "hello"}) == "page/bad_url"
    assert parse_page({"url": "https://a.example/", "text": "  \n"}) == "page/no_text"
    assert parse_page({"url": "https://a.example/", "text": 3}) == "page/no_text"
    assert parse_page({"url": "https://a.example/", "text": b"\xff\xfe"}) == "page/invalid_utf8"
    assert parse_page({"url": "https://a.example/", "text": "bad \ud800"}) == "page/invalid_utf8"
    assert parse_page({"text": "seed text"}, require_url=False)["url"] == ""
    doc = to_document(ok, 0.93, 3, "web.jsonl")
    assert doc["source"] == "web" and doc["repo"] == "a.example" and doc["path"] == "https://a.example/x"
    assert doc["meta"]["recall_score"] == 0.93 and doc["meta"]["recall_round"] == 3


def test_seed_lines_and_splits():
    lines = [b'{"text": "a code page", "url": "https://x.example/1"}', b"not json", b'{"url": "https://y/"}',
             b'{"text": "a code page", "url": "https://x.example/1"}', b"", b'{"text": "second"}']
    pages, drops = parse_pages_jsonl(lines)
    assert [p["text"] for p in pages] == ["a code page", "second"]
    assert drops == {"read/broken_jsonl": 1, "page/no_text": 1, "seed/duplicate": 1}
    labelled, _ = parse_pages_jsonl([b'{"text": "x", "label": "code"}', b'{"text": "y", "label": 0}'], labelled=True)
    assert [p["label"] for p in labelled] == [True, False]
    with pytest.raises(ValueError):
        parse_label("maybe")
    many = [{"id": f"{i:032x}"} for i in range(1000)]
    train, held = split_holdout(many, 0.1, seed=0)
    assert 60 < len(held) < 140 and len(train) + len(held) == 1000
    assert split_holdout(many[::-1], 0.1, seed=0)[1] == held[::-1]  # a page's side depends only on its id
    assert choose_negatives(many, [many[0]["id"], many[2]["id"]], 3) == [many[1], many[3], many[4]]
