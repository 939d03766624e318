"""Keeper rule: most stars, then latest commit date, then smallest id; None ranks lowest."""
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from opencoder_jax.refinecode.keeper import (
    choose_keeper,
    keeper_rank,
    keeper_token,
    latest_commit_date,
    most_stars,
    parse_commit_date,
    parse_stars,
    unit_id_of_token,
)


def test_stars_first():
    assert choose_keeper([(3, "2024-01-01", "a"), (10, "2001-01-01", "b")]) == "b"


def test_date_breaks_star_ties():
    assert choose_keeper([(5, "2020-05-01T00:00:00Z", "a"), (5, "2021-01-01", "b"), (5, "2019-01-01", "c")]) == "b"


def test_id_breaks_full_ties():
    assert choose_keeper([(5, "2020-01-01", "b"), (5, "2020-01-01", "a"), (5, "2020-01-01", "c")]) == "a"


def test_missing_values_rank_lowest():
    assert choose_keeper([(None, "2024-01-01", "a"), (0, None, "b")]) == "b"  # 0 stars beat unknown stars
    assert choose_keeper([(1, None, "a"), (1, "1990-01-01", "b")]) == "b"  # any date beats none
    assert choose_keeper([(1, "not a date", "a"), (1, "1990-01-01", "b")]) == "b"
    assert choose_keeper([(None, None, "b"), (None, None, "a")]) == "a"
    assert parse_stars(-4) == 0 and parse_stars("12") == 12 and parse_stars(True) is None and parse_stars("x") is None


def test_dates_compare_as_instants():
    # 01:00 at +02:00 is 23:00 UTC on the previous day, so the Z one is later
    assert choose_keeper([(1, "2021-01-01T01:00:00+02:00", "a"), (1, "2021-01-01T00:00:00Z", "b")]) == "b"
    assert parse_commit_date("2021-01-01") == parse_commit_date("2021-01-01T00:00:00+00:00")
    assert parse_commit_date("") is None and parse_commit_date(None) is None and parse_commit_date(20210101) is None


def test_repository_aggregates():
    assert most_stars([None, 3, "7", None]) == 7 and most_stars([None]) is None
    assert latest_commit_date(["2020-01-01", None, "2022-03-01T10:00:00Z", "bad"]) == "2022-03-01T10:00:00Z"


stars = st.one_of(st.none(), st.integers(min_value=-5, max_value=10**6))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
dates = st.one_of(st.none(), st.just("garbage"), st.datetimes(min_value=dt.datetime(1970, 1, 1)).map(
    lambda d: d.isoformat()), st.builds(lambda d, tz: d.replace(tzinfo=tz).isoformat(),
                                        st.datetimes(min_value=dt.datetime(1970, 1, 1)), offsets))
ids = st.text(min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(stars, dates, ids), min_size=2, max_size=6))
def test_token_order_equals_rank_order(candidates):
    by_rank = sorted(candidates, key=lambda c: keeper_rank(*c))
    by_token = sorted(candidates, key=lambda c: keeper_token(*c))
    assert [keeper_rank(*c) for c in by_rank] == [keeper_rank(*c) for c in by_token]
    for c in candidates:
        assert unit_id_of_token(keeper_token(*c)) == c[2]
