"""tfbnn.metrics.calibration: reliability bins and ECE against a hand example
and a loop over bins."""
import numpy as np
import pytest

from tests.metrics.cases import ECE_LABELS, ECE_PROBS, assert_raises_value_error
from tfbnn import metrics
from tfbnn.errors import ConfigError


def test_reliability_bins_hand_example():
    edges, conf, acc, counts = metrics.reliability_bins(ECE_PROBS, ECE_LABELS, num_bins=4)
    np.testing.assert_allclose(edges, [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(counts, [0, 1, 1, 2])
    assert counts.dtype == np.int64
    assert np.isnan(conf[0]) and np.isnan(acc[0])
    np.testing.assert_allclose(conf[1:], [0.4, 0.6, 0.85], rtol=1e-14)
    np.testing.assert_allclose(acc[1:], [0.0, 1.0, 0.5], rtol=1e-14)


def test_ece_hand_example():
    ece = metrics.expected_calibration_error(ECE_PROBS, ECE_LABELS, num_bins=4)
    assert ece == pytest.approx(0.375, abs=1e-14)


def test_bin_edge_convention():
    # Confidence 1.0 goes to the last bin; 0.5 sits on the left edge of bin 2.
    probs = np.array([[1.0, 0.0], [0.5, 0.5], [0.75, 0.25]])
    _, _, _, counts = metrics.reliability_bins(probs, [0, 0, 1], num_bins=4)
    np.testing.assert_array_equal(counts, [0, 0, 1, 2])


def test_a_confidence_on_a_tenth_is_in_the_bin_it_opens():
    # 10 one-hot samples give confidences k / 10: 0.3 opens bin 3 of
    # [b/10, (b+1)/10), by hand |0 - 0.2| / 2 + |1 - 0.3| / 2 = 0.45 (linspace's
    # edge 0.30000000000000004 put it beside the 0.2 in bin 2: 0.25).
    probs = np.array([[0.2] * 5, [0.3, 0.3, 0.2, 0.1, 0.1]])
    _, _, _, counts = metrics.reliability_bins(probs, [1, 0], num_bins=10)
    np.testing.assert_array_equal(counts, [0, 0, 1, 1, 0, 0, 0, 0, 0, 0])
    assert metrics.expected_calibration_error(probs, [1, 0], 10) == pytest.approx(0.45)
    # Every tenth, as the means of 10 one-hot samples in float64, float32 and float16.
    tenths = np.array([[k / 10.0, 1 - k / 10.0] for k in range(5, 11)])
    for dtype in (np.float64, np.float32, np.float16):
        _, _, _, counts = metrics.reliability_bins(tenths.astype(dtype), [0] * 6, num_bins=10)
        np.testing.assert_array_equal(counts, [0] * 5 + [1] * 4 + [2], err_msg=str(dtype))


def test_ece_matches_loop_over_bins_on_random_data():
    rng = np.random.RandomState(0)
    logits = 3.0 * rng.randn(500, 5)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.randint(0, 5, size=500)
    conf, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    edges = [b / 10 for b in range(11)]
    expected = 0.0
    for b in range(10):
        upper = conf <= edges[b + 1] if b == 9 else conf < edges[b + 1]
        in_bin = (conf >= edges[b]) & upper
        if in_bin.any():
            expected += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    assert metrics.expected_calibration_error(probs, labels, 10) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize('call,error,match', [
    (lambda: metrics.reliability_bins(ECE_PROBS, ECE_LABELS, num_bins=0), ConfigError,
     'num_bins must be a positive integer, got 0'),
    (lambda: metrics.expected_calibration_error(ECE_PROBS, ECE_LABELS, num_bins=2.5), ConfigError,
     'num_bins must be a positive integer, got 2.5'),
])
def test_bad_inputs_raise_value_errors_that_say_what_was_wrong(call, error, match):
    assert_raises_value_error(call, error, match)
