"""Every threshold pinned to OpenCoder's released values.

data/released_filter_thresholds.json is a frozen copy of the released rule strings
(opc_data_filtering pipeline/code_filter_config.py). The test reads each string's comparison
clauses with `ast` (no eval) and checks our data table has exactly those clauses, and checks
behaviour on probe values around every threshold.
"""
import ast
import json
from pathlib import Path

import pytest

from opencoder_jax.refinecode.released_thresholds import CODE_THRESHOLDS, TEXT_THRESHOLDS
from opencoder_jax.refinecode.filter_config import FilterConfig, table_name
from opencoder_jax.refinecode.filter_rule import deterministic_draw, parse_rule, rule

RELEASED = json.loads((Path(__file__).parent / "data" / "released_filter_thresholds.json").read_text())
OPS = {ast.Lt: "<", ast.Gt: ">", ast.Eq: "==", ast.LtE: "<=", ast.GtE: ">="}


def released_clauses(text):
    """(clauses, probability) of a released 'lambda x: ...' string."""
    body = ast.parse(text.strip(), mode="eval").body.body
    probability = 1.0
    if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And):
        body, draw = body.values
        assert ast.unparse(draw) == "random.random() > 0.2"
        probability = 0.8
    compares = body.values if isinstance(body, ast.BoolOp) else [body]
    return [(OPS[type(c.ops[0])], ast.literal_eval(c.comparators[0])) for c in compares], probability


def all_released():
    for tier, ours in (("text", TEXT_THRESHOLDS), ("code", CODE_THRESHOLDS)):
        for table, rules in RELEASED[tier].items():
            yield table, rules, ours[table]


def test_same_tables_and_signals_in_released_order():
    assert list(TEXT_THRESHOLDS) == ["zh", "en"]
    assert list(CODE_THRESHOLDS) == ["others", "data", "shell", "sql", "python", "cpp", "c", "csharp", "go", "html", "java", "javascript"]
    for table, released, ours in all_released():
        assert list(ours) == list(released), table


@pytest.mark.parametrize("table", [*RELEASED["text"], *RELEASED["code"]])
def test_every_rule_equals_the_released_rule(table):
    released = RELEASED["text"].get(table) or RELEASED["code"][table]
    ours = TEXT_THRESHOLDS.get(table) or CODE_THRESHOLDS[table]
    for name, text in released.items():
        if text is None:
            assert ours[name] is None, (table, name)
            continue
        clauses, probability = released_clauses(text)
        assert ours[name] is not None, (table, name)
        assert list(ours[name].clauses) == clauses, (table, name)
        assert ours[name].probability == probability, (table, name)
        for _op, threshold in clauses:  # probe just below, at and above every threshold
            if isinstance(threshold, bool):
                probes = [True, False, 1.0, 0.0]
            else:
                probes = [threshold - 1e-6, threshold, threshold + 1e-6]
            for x in probes:
                want = any({"<": x < t, ">": x > t, "==": x == t, "<=": x <= t, ">=": x >= t}[o] for o, t in clauses)
                assert ours[name].condition(x) == want, (table, name, x)


def test_spot_values():
    assert CODE_THRESHOLDS["python"]["qsc_code_num_lines"].clauses == (("<", 10), (">", 100000))
    assert CODE_THRESHOLDS["data"]["qsc_code_num_chars"].clauses == (("<", 50), (">", 5000))
    assert CODE_THRESHOLDS["sql"]["qsc_code_frac_chars_digital"].clauses == ((">", 0.3),)
    assert CODE_THRESHOLDS["html"]["qsc_codehtml_num_chars_text"].clauses == (("<", 100),)
    assert CODE_THRESHOLDS["go"]["qsc_codego_cate_testfile"].probability == 0.8
    assert TEXT_THRESHOLDS["zh"]["qsc_doc_mean_word_length"].clauses == (("<", 1.3), (">", 10))
    assert TEXT_THRESHOLDS["en"]["qsc_doc_frac_lines_end_with_readmore"].clauses == ((">", 0.1),)


def test_table_selection():
    assert table_name("text", "zh", "markdown") == "zh"
    assert table_name("text", "fr", "markdown") == "en"
    assert table_name("code", "en", "python") == "python"
    assert table_name("code", "en", "rust") == "others"
    assert table_name("data", "en", "json") == "data"
    assert table_name("data", "en", "sql") == "sql"
    assert table_name("unknown", "en", "unknown") is None and table_name("excluded", "en", "csv") is None


def test_gin_style_overrides():
    config = FilterConfig(overrides={"python": {"qsc_code_num_chars": None, "qsc_code_num_lines": [["<", 3]]},
                                     "*": {"qsc_code_num_words": ["<", 5]}})
    tables = config.tables()
    assert tables["python"]["qsc_code_num_chars"] is None
    assert tables["python"]["qsc_code_num_lines"].clauses == (("<", 3),)
    assert tables["java"]["qsc_code_num_words"].clauses == (("<", 5),)
    assert "qsc_code_num_words" not in tables["en"]  # '*' only changes tables that have the rule
    assert CODE_THRESHOLDS["python"]["qsc_code_num_chars"] is not None  # defaults untouched
    with pytest.raises(ValueError):
        FilterConfig(overrides={"klingon": {}})
    with pytest.raises(ValueError):
        FilterConfig(overrides={"python": {"qsc_code_num_lines": [["~", 3]]}})


def test_probabilistic_rule_uses_a_reproducible_draw():
    r = parse_rule({"clauses": [[">", 0.5]], "probability": 0.8})
    draws = [deterministic_draw(0, f"doc{i}", "rule") for i in range(2000)]
    assert draws == [deterministic_draw(0, f"doc{i}", "rule") for i in range(2000)]
    fired = sum(r.fires(0.9, u) for u in draws) / len(draws)
    assert 0.76 < fired < 0.84
    assert not any(r.fires(0.1, u) for u in draws)
    assert rule((">", 1)).fires(2, 0.0)
