"""tfbnn.metrics.classification: error rate, Brier score and the metric sets,
against hand values and the single metrics."""
import numpy as np
import pytest

from tests.metrics.cases import ECE_LABELS, ECE_PROBS, LOG2, assert_raises_value_error
from tfbnn import metrics
from tfbnn.errors import ConfigError, DataError


def test_brier_score_hand_example():
    # (0.3^2 + 0.2^2 + 0.1^2) = 0.14 and (0.5^2 + 0.5^2 + 1^2) = 1.5; mean 0.82.
    probs = np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
    assert metrics.brier_score(probs, [0, 2]) == pytest.approx(0.82, abs=1e-14)


def test_error_rate_hand_example_and_ties_go_to_the_first_class():
    assert metrics.error_rate(ECE_PROBS, ECE_LABELS) == 0.5
    assert metrics.error_rate([[0.5, 0.5], [0.5, 0.5]], [0, 1]) == 0.5


def test_classification_metrics_hand_example():
    # Sample 0: [1, 0] and [.5, .5]; sample 1: [0, 1] and [.5, .5]; labels [0, 1].
    # Predictive mean [.5, .5] for both: argmax 0, so example 1 is an error;
    # nll log 2; conf .5 = acc .5 in one bin, ECE 0; Brier .25 + .25;
    # entropy log 2 each; MI log 2 and 0.
    sample_probs = np.array([[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]]])
    out = metrics.classification_metrics(sample_probs, [0, 1])
    expected = {'test_error': 0.5, 'test_nll': LOG2, 'ece': 0.0, 'brier': 0.5,
                'mean_entropy': LOG2, 'mean_mutual_information': LOG2 / 2.0}
    assert set(out) == set(expected)
    for key, value in expected.items():
        assert out[key] == pytest.approx(value, abs=1e-14), key


def test_classification_metrics_agree_with_the_single_metrics():
    rng = np.random.RandomState(3)
    logits = rng.randn(4, 30, 3)
    sample_probs = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    labels = rng.randint(0, 3, size=30)
    out = metrics.classification_metrics(sample_probs, labels)
    lp = np.log(sample_probs[:, np.arange(30), labels])
    mean_p = sample_probs.mean(axis=0)
    assert out['test_nll'] == pytest.approx(metrics.predictive_nll(lp), rel=1e-12)
    assert out['ece'] == pytest.approx(metrics.expected_calibration_error(mean_p, labels))
    assert out['mean_entropy'] == pytest.approx(np.mean(metrics.entropy(mean_p)))


def _random_sample_probs(seed, k=4, n=30, c=3):
    rng = np.random.RandomState(seed)
    logits = rng.randn(k, n, c)
    return np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True), rng.randint(0, c, size=n)


def test_predictive_classification_metrics_from_summaries_equal_classification_metrics():
    # What tfbnn.predictive computes in the graph, here in numpy: log p_n by
    # log-mean-exp over the samples, H[p_n] and the mutual information.
    sample_probs, labels = _random_sample_probs(4)
    mean_p = sample_probs.mean(axis=0)
    mi = metrics.mutual_information(sample_probs)
    want = metrics.classification_metrics(sample_probs, labels)
    assert metrics.predictive_classification_metrics(mean_p, labels, mi) == want
    got = metrics.predictive_classification_metrics(
        mean_p, labels, mi, log_mean_probs=metrics.log_mean_exp(np.log(sample_probs), axis=0),
        entropy=metrics.entropy(mean_p))
    assert set(got) == set(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-12), key


def test_predictive_classification_metrics_take_the_given_log_probs_and_entropy():
    # p_n(y_n) underflows to 0 in mean_probs; the log-sum-exp value -800 is
    # what the NLL must use: (800 + log 2) / 2. The given entropies are
    # averaged as they are.
    mean_p = np.array([[1.0, 0.0], [0.5, 0.5]])
    log_p = np.array([[0.0, -800.0], [-LOG2, -LOG2]])
    out = metrics.predictive_classification_metrics(mean_p, [1, 0], [0.1, 0.3],
                                                    log_mean_probs=log_p, entropy=[0.2, 0.6])
    assert out['test_nll'] == pytest.approx((800.0 + LOG2) / 2.0, rel=1e-14)
    assert out['mean_entropy'] == pytest.approx(0.4, rel=1e-14)
    assert out['mean_mutual_information'] == pytest.approx(0.2, rel=1e-14)
    without = metrics.predictive_classification_metrics(mean_p, [1, 0], [0.1, 0.3])
    assert without['test_nll'] == np.inf


def test_a_mutual_information_a_hair_below_zero_is_rounding():
    found = metrics.predictive_classification_metrics(ECE_PROBS, ECE_LABELS, [0, -1e-7, 0, 0])
    assert found['mean_mutual_information'] == pytest.approx(-2.5e-8)


@pytest.mark.parametrize('call,error,match', [
    (lambda: metrics.error_rate(ECE_PROBS, [0, 1, 1, 3]), DataError,
     r'error_rate: labels must be in \[0, 3\), got values in \[0, 3\]'),
    (lambda: metrics.brier_score(ECE_PROBS, [0, 1, 1, -1]), DataError,
     r'labels must be in \[0, 3\)'),
    (lambda: metrics.brier_score(ECE_PROBS, [0.0, 1.5, 1.0, 2.0]), DataError,
     'labels must be integers, got dtype float64'),
    (lambda: metrics.error_rate(ECE_PROBS, [0, 1, 1]), DataError,
     r'labels must have shape \(4,\) to match the probabilities, got shape \(3,\)'),
    (lambda: metrics.classification_metrics(np.full((2, 3, 2), 0.5), [0, 1]), DataError,
     r'classification_metrics: labels must have shape \(3,\)'),
    (lambda: metrics.predictive_classification_metrics(ECE_PROBS, ECE_LABELS, [0.1, 0.2]),
     DataError, r'predictive_classification_metrics: mutual_information must have shape \(4,\) '
                r'to match the probabilities, got shape \(2,\)'),
    (lambda: metrics.predictive_classification_metrics(ECE_PROBS, ECE_LABELS, np.zeros(4),
                                                       entropy=np.zeros((4, 1))),
     DataError, r'entropy must have 1 dimension\(s\), got shape \(4, 1\)'),
    (lambda: metrics.predictive_classification_metrics(ECE_PROBS, ECE_LABELS, np.zeros(4),
                                                       log_mean_probs=np.zeros((4, 2))),
     DataError, r'log_mean_probs must have the shape of mean_probs \(4, 3\), got shape \(4, 2\)'),
    (lambda: metrics.predictive_classification_metrics(
        ECE_PROBS, ECE_LABELS, np.zeros(4), log_mean_probs=np.full((4, 3), 3.0)),
     DataError, r'log_mean_probs must be log-probabilities \(<= 0\), got max 3'),
    (lambda: metrics.predictive_classification_metrics(
        ECE_PROBS, ECE_LABELS, np.zeros(4), log_mean_probs=np.full((4, 3), np.inf)),
     DataError, r'log_mean_probs must be log-probabilities \(<= 0\), got max inf'),
    (lambda: metrics.predictive_classification_metrics(ECE_PROBS, ECE_LABELS, [0, 0, -5, 0]),
     DataError, r'mutual_information must be finite and >= 0, got min -5, max 0'),
    (lambda: metrics.predictive_classification_metrics(ECE_PROBS, ECE_LABELS, np.zeros(4),
                                                       entropy=[0, np.inf, 0, 0]),
     DataError, r'entropy must be finite and >= 0, got min 0, max inf'),
    (lambda: metrics.classification_metrics(np.full((2, 4, 3), 1 / 3.0), ECE_LABELS,
                                            num_bins=-1),
     ConfigError, r'^classification_metrics: num_bins must be a positive integer, got -1'),
])
def test_bad_inputs_raise_value_errors_that_say_what_was_wrong(call, error, match):
    assert_raises_value_error(call, error, match)
