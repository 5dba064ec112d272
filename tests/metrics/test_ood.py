"""tfbnn.metrics.ood: AUROC against hand cases and a brute-force pairwise count."""
import itertools

import numpy as np
import pytest

from tfbnn import metrics
from tfbnn.errors import DataError


@pytest.mark.parametrize('neg,pos,expected', [
    ([1.0, 2.0], [3.0, 4.0], 1.0),
    ([3.0, 4.0], [1.0, 2.0], 0.0),
    ([2.0, 2.0, 2.0], [2.0, 2.0], 0.5),
    # Pairs (pos, neg): (2,1) 1, (2,2) 1/2, (3,1) 1, (3,2) 1 -> 3.5 / 4.
    ([1.0, 2.0], [2.0, 3.0], 0.875),
    ([-np.inf, 0.0], [np.inf], 1.0),
])
def test_auroc_hand_cases(neg, pos, expected):
    assert metrics.auroc(neg, pos) == pytest.approx(expected, abs=1e-15)


def test_auroc_matches_brute_force_pairwise_count_with_ties():
    rng = np.random.RandomState(1)
    neg = np.round(rng.randn(97), 1)        # rounding makes many ties
    pos = np.round(rng.randn(61) + 0.7, 1)
    pairs = list(itertools.product(pos, neg))
    brute = (sum(p > n for p, n in pairs) + 0.5 * sum(p == n for p, n in pairs)) / len(pairs)
    assert metrics.auroc(neg, pos) == pytest.approx(brute, abs=1e-14)


def test_auroc_rejects_empty_and_nan():
    with pytest.raises(DataError, match='auroc: scores_positive must not be empty'):
        metrics.auroc([1.0], [])
    with pytest.raises(DataError, match='auroc: scores_negative must not contain NaN'):
        metrics.auroc([np.nan], [1.0])
