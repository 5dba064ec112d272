"""tfbnn.metrics against hand computation, scipy and brute-force numpy."""
import itertools
import math

import numpy as np
import pytest
import scipy.stats

from tfbnn import metrics
from tfbnn.errors import ConfigError, DataError

LOG2 = math.log(2.0)
PHI0 = 1.0 / math.sqrt(2.0 * math.pi)         # N(0; 0, 1)
PHI1 = math.exp(-0.5) / math.sqrt(2.0 * math.pi)  # N(1; 0, 1)


# log_mean_exp and predictive_nll

def test_log_mean_exp_hand_values():
    # mean(exp([0, log 3])) = (1 + 3) / 2 = 2.
    assert metrics.log_mean_exp(np.array([0.0, math.log(3.0)])) == pytest.approx(LOG2, abs=1e-15)
    a = np.array([[0.0, math.log(3.0)], [math.log(5.0), math.log(7.0)]])
    np.testing.assert_allclose(metrics.log_mean_exp(a, axis=1), [LOG2, LOG2 + math.log(3.0)],
                               rtol=1e-14)
    np.testing.assert_allclose(metrics.log_mean_exp(a, axis=0),
                               [math.log(3.0), math.log(5.0)], rtol=1e-14)


def test_log_mean_exp_is_stable_for_very_negative_and_infinite_values():
    # A naive log(mean(exp(a))) gives log(0) = -inf for all of these.
    assert metrics.log_mean_exp(np.array([-1000.0, -1000.0])) == pytest.approx(-1000.0, abs=1e-12)
    # (1 + 3) / 2 = 2 again, shifted by -1000.
    value = metrics.log_mean_exp(np.array([-1000.0, -1000.0 + math.log(3.0)]))
    assert value == pytest.approx(-1000.0 + LOG2, abs=1e-12)
    # One zero probability among two: log(0.5 e^-1000).
    assert metrics.log_mean_exp(np.array([-np.inf, -1000.0])) == pytest.approx(-1000.0 - LOG2)
    assert metrics.log_mean_exp(np.array([-np.inf, -np.inf])) == -np.inf
    # And no overflow at the top either.
    assert metrics.log_mean_exp(np.array([1000.0, 1000.0])) == pytest.approx(1000.0)


def test_log_mean_exp_rejects_empty_axis():
    with pytest.raises(DataError, match='at least one entry along axis 0'):
        metrics.log_mean_exp(np.zeros((0, 3)))


def test_predictive_nll_averages_probabilities_not_log_probabilities():
    # Samples give p(y_0) in {0.2, 0.4} and p(y_1) in {0.9, 0.5}: means 0.3, 0.7.
    lp = np.log(np.array([[0.2, 0.9], [0.4, 0.5]]))
    expected = -(math.log(0.3) + math.log(0.7)) / 2.0
    assert metrics.predictive_nll(lp) == pytest.approx(expected, rel=1e-14)
    assert metrics.predictive_nll(lp) < -np.mean(lp)  # Jensen: strictly better here


def test_predictive_nll_rejects_wrong_rank():
    with pytest.raises(DataError,
                       match=r'predictive_nll: .* must have 2 dimension\(s\), got shape \(3,\)'):
        metrics.predictive_nll([0.1, 0.2, 0.3])


# entropy and mutual information

@pytest.mark.parametrize('num_classes', [2, 3, 10])
def test_entropy_of_uniform_is_log_c(num_classes):
    probs = np.full((2, num_classes), 1.0 / num_classes)
    np.testing.assert_allclose(metrics.entropy(probs), [math.log(num_classes)] * 2, rtol=1e-14)


def test_entropy_treats_zero_log_zero_as_zero():
    probs = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.25, 0.25, 0.5]])
    # -(2 * 0.25 log 0.25 + 0.5 log 0.5) = log 4 / 2 + log 2 / 2 = 1.5 log 2.
    np.testing.assert_allclose(metrics.entropy(probs), [0.0, LOG2, 1.5 * LOG2], rtol=1e-14, atol=0)


def test_mutual_information_is_zero_when_samples_agree():
    p = np.array([[0.2, 0.3, 0.5], [0.7, 0.2, 0.1]])
    mi = metrics.mutual_information(np.stack([p, p, p]))
    assert mi.shape == (2,)
    assert np.all(mi >= 0.0)  # rounding negatives are clipped
    np.testing.assert_allclose(mi, 0.0, atol=1e-15)


def test_mutual_information_hand_values():
    # Example 0: opposite one-hot samples, H(mean) = log 2, each H = 0.
    # Example 1: samples [0.5, 0.5] and [1, 0]: mean [0.75, 0.25],
    #   MI = -(0.75 log 0.75 + 0.25 log 0.25) - (log 2 + 0) / 2.
    sample_probs = np.array([[[1.0, 0.0], [0.5, 0.5]],
                             [[0.0, 1.0], [1.0, 0.0]]])
    expected_1 = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)) - LOG2 / 2.0
    np.testing.assert_allclose(metrics.mutual_information(sample_probs), [LOG2, expected_1],
                               rtol=1e-14)


# calibration

# Four examples, three classes, num_bins = 4 (edges 0, .25, .5, .75, 1):
#   probs                 label  conf  argmax  correct  bin
#   [0.9, 0.05, 0.05]     0      0.9   0       yes      3
#   [0.8, 0.1, 0.1]       1      0.8   0       no       3
#   [0.3, 0.6, 0.1]       1      0.6   1       yes      2
#   [0.4, 0.35, 0.25]     2      0.4   0       no       1
# bin 0: empty; bin 1: conf .4, acc 0; bin 2: conf .6, acc 1;
# bin 3: conf .85, acc .5.
# ECE = 1/4 |0 - .4| + 1/4 |1 - .6| + 2/4 |.5 - .85| = .1 + .1 + .175 = .375.
ECE_PROBS = np.array([[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.4, 0.35, 0.25]])
ECE_LABELS = np.array([0, 1, 1, 2])


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


def test_ece_matches_loop_over_bins_on_random_data():
    rng = np.random.RandomState(0)
    logits = 3.0 * rng.randn(500, 5)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.randint(0, 5, size=500)
    conf, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    edges = np.linspace(0, 1, 11)
    expected = 0.0
    for b in range(10):
        upper = conf <= edges[b + 1] if b == 9 else conf < edges[b + 1]
        in_bin = (conf >= edges[b]) & upper
        if in_bin.any():
            expected += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    assert metrics.expected_calibration_error(probs, labels, 10) == pytest.approx(expected, rel=1e-12)


# brier score and error rate

def test_brier_score_hand_example():
    # (0.3^2 + 0.2^2 + 0.1^2) = 0.14 and (0.5^2 + 0.5^2 + 1^2) = 1.5; mean 0.82.
    probs = np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
    assert metrics.brier_score(probs, [0, 2]) == pytest.approx(0.82, abs=1e-14)


def test_error_rate_hand_example_and_ties_go_to_the_first_class():
    assert metrics.error_rate(ECE_PROBS, ECE_LABELS) == 0.5
    assert metrics.error_rate([[0.5, 0.5], [0.5, 0.5]], [0, 1]) == 0.5


# AUROC

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


# regression

def test_gaussian_log_likelihood_single_sample_is_normal_logpdf():
    y = np.array([0.3, -1.2, 2.0])
    means = np.array([[0.0, -1.0, 0.5]])
    np.testing.assert_allclose(metrics.gaussian_log_likelihood(y, means, 0.7),
                               scipy.stats.norm(means[0], 0.7).logpdf(y), rtol=1e-13)
    std = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(metrics.gaussian_log_likelihood(y, means, std),
                               scipy.stats.norm(means[0], std).logpdf(y), rtol=1e-13)


def test_gaussian_log_likelihood_two_component_mixture():
    # y = 0, means 0 and 1, unit noise: log((N(0; 0, 1) + N(0; 1, 1)) / 2).
    ll = metrics.gaussian_log_likelihood([0.0], [[0.0], [1.0]], 1.0)
    np.testing.assert_allclose(ll, [math.log(0.5 * (PHI0 + PHI1))], rtol=1e-14)
    # Per-sample noise [K, N]: 0.5 N(0.2; 0, 0.5^2) + 0.5 N(0.2; 1, 2^2).
    ll = metrics.gaussian_log_likelihood([0.2], [[0.0], [1.0]], [[0.5], [2.0]])
    expected = math.log(0.5 * scipy.stats.norm(0, 0.5).pdf(0.2) + 0.5 * scipy.stats.norm(1, 2).pdf(0.2))
    np.testing.assert_allclose(ll, [expected], rtol=1e-14)


def test_gaussian_log_likelihood_is_finite_where_densities_underflow():
    # Both densities are 0 in float64; the log is -5000 - log(sqrt(2 pi)) + log(1/2 + ~0).
    ll = metrics.gaussian_log_likelihood([0.0], [[100.0], [200.0]], 1.0)
    np.testing.assert_allclose(ll, [-5000.0 - 0.5 * math.log(2 * math.pi) - LOG2], rtol=1e-14)


def test_rmse_hand_value():
    # Errors 1, -1, 3: sqrt((1 + 1 + 9) / 3).
    assert metrics.rmse([1.0, 2.0, 3.0], [0.0, 3.0, 0.0]) == pytest.approx(math.sqrt(11.0 / 3.0))


def test_regression_metrics_unit_conversion_by_hand():
    # Normalised: y = [0, 1], samples [[0, 2], [1, 1]], noise 1.
    #   predictive mean [0.5, 1.5], errors 0.5 each -> rmse 0.5; x target_std 2 -> 1.
    #   both examples: log((N(0; 0, 1) + N(0; 1, 1)) / 2); minus log 2 for the units.
    #   var_k(means) = 0.25 for both; total var 1.25; std x 2 = sqrt(5).
    # target_mean shifts everything and changes none of them.
    out = metrics.regression_metrics([0.0, 1.0], [[0.0, 2.0], [1.0, 1.0]], 1.0,
                                     target_mean=5.0, target_std=2.0)
    assert set(out) == {'rmse', 'test_ll', 'predictive_std_mean'}
    assert out['rmse'] == pytest.approx(1.0, abs=1e-14)
    assert out['test_ll'] == pytest.approx(math.log(0.5 * (PHI0 + PHI1)) - LOG2, abs=1e-14)
    assert out['predictive_std_mean'] == pytest.approx(math.sqrt(5.0), abs=1e-14)


def test_regression_metrics_agree_with_metrics_computed_in_original_units():
    rng = np.random.RandomState(2)
    y, means, noise = rng.randn(20), rng.randn(7, 20), rng.uniform(0.3, 1.0, size=(7, 20))
    mean, std = 10.0, 3.5
    out = metrics.regression_metrics(y, means, noise, mean, std)
    ll_orig = metrics.gaussian_log_likelihood(mean + std * y, mean + std * means, std * noise)
    assert out['test_ll'] == pytest.approx(np.mean(ll_orig), rel=1e-12)
    assert out['rmse'] == pytest.approx(
        metrics.rmse(mean + std * y, mean + std * means.mean(axis=0)), rel=1e-12)


# classification summary

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


# error paths

@pytest.mark.parametrize('call,error,match', [
    (lambda: metrics.error_rate(ECE_PROBS, [0, 1, 1, 3]), DataError,
     r'error_rate: labels must be in \[0, 3\), got values in \[0, 3\]'),
    (lambda: metrics.brier_score(ECE_PROBS, [0, 1, 1, -1]), DataError,
     r'labels must be in \[0, 3\)'),
    (lambda: metrics.brier_score(ECE_PROBS, [0.0, 1.5, 1.0, 2.0]), DataError,
     'labels must be integers, got dtype float64'),
    (lambda: metrics.error_rate(ECE_PROBS, [0, 1, 1]), DataError,
     r'labels must have shape \(4,\) to match the probabilities, got shape \(3,\)'),
    (lambda: metrics.entropy([[1.2, -0.2]]), DataError,
     'entropy: probs must be finite and non-negative, got min -0.2'),
    (lambda: metrics.entropy([[0.5, 0.6]]), DataError,
     'probs must sum to 1 over the last axis'),
    (lambda: metrics.mutual_information([[0.5, 0.5]]), DataError,
     r'sample_probs must have 3 dimension\(s\), got shape \(1, 2\)'),
    (lambda: metrics.reliability_bins(ECE_PROBS, ECE_LABELS, num_bins=0), ConfigError,
     'num_bins must be a positive integer, got 0'),
    (lambda: metrics.expected_calibration_error(ECE_PROBS, ECE_LABELS, num_bins=2.5), ConfigError,
     'num_bins must be a positive integer, got 2.5'),
    (lambda: metrics.gaussian_log_likelihood([0.0, 1.0], [[0.0, 1.0, 2.0]], 1.0), DataError,
     r'sample_means must have shape \[K, 2\] to match y, got shape \(1, 3\)'),
    (lambda: metrics.gaussian_log_likelihood([0.0], [[0.0]], 0.0), DataError,
     'noise_std must be positive and finite, got min 0'),
    (lambda: metrics.gaussian_log_likelihood([0.0, 1.0], [[0.0, 1.0]], [1.0, 1.0, 1.0]), DataError,
     r'noise_std must be a scalar or have shape \[N\], \[K, 1\] or \[K, N\] = \(1, 2\), '
     r'got shape \(3,\)'),
    (lambda: metrics.regression_metrics([0.0], [[0.0]], 1.0, target_std=0.0), ConfigError,
     'target_std must be positive, got 0.0'),
    (lambda: metrics.regression_metrics([0.0], [[0.0]], 1.0, target_mean=float('nan')), ConfigError,
     'target_mean must be a finite number'),
    (lambda: metrics.rmse([1.0, 2.0], [1.0]), DataError,
     r'rmse: y and pred must be non-empty with the same shape, got \(2,\) and \(1,\)'),
    (lambda: metrics.classification_metrics(np.full((2, 3, 2), 0.5), [0, 1]), DataError,
     r'classification_metrics: labels must have shape \(3,\)'),
])
def test_bad_inputs_raise_value_errors_that_say_what_was_wrong(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert isinstance(info.value, ValueError)
