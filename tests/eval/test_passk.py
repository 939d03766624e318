"""pass@k against values worked out by hand."""
import math

import pytest

from opencoder_jax.eval.passk import estimate_pass_at_k, pass_at_k, pass_at_ks


@pytest.mark.parametrize("n,c,k,expected", [
    (1, 1, 1, 1.0),
    (1, 0, 1, 0.0),
    (10, 3, 1, 0.3),  # c / n
    (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5) = 11/12
    (5, 0, 2, 0.0),
    (5, 4, 2, 1.0),  # n - c < k: every 2-subset has a correct sample
    (4, 2, 2, 1 - 1 / 6),  # 1 - C(2,2)/C(4,2)
    (20, 1, 10, 0.5),  # 1 - C(19,10)/C(20,10) = 1 - 10/20
])
def test_pass_at_k_by_hand(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_large_n_matches_binomials():
    n, c, k = 200, 10, 100
    assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k), rel=1e-12)


def test_mean_over_problems_and_k_filter():
    out = pass_at_ks([(10, 3), (10, 0)])
    assert out == pytest.approx({"pass@1": 0.15, "pass@10": 0.5})  # (1 + 0) / 2; no pass@100
    assert pass_at_ks([(1, 1), (1, 0), (1, 1), (1, 1)]) == {"pass@1": 0.75}
    assert pass_at_ks([(200, 0)] * 3, ks=(1, 10, 100)) == {"pass@1": 0.0, "pass@10": 0.0, "pass@100": 0.0}
    assert list(estimate_pass_at_k(10, [3, 0], 1)) == pytest.approx([0.3, 0.0])


def test_invalid():
    with pytest.raises(ValueError):
        pass_at_k(5, 6, 1)
    with pytest.raises(ValueError):
        pass_at_k(5, 1, 6)
