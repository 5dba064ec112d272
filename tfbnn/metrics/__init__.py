"""Evaluation metrics for Bayesian predictions, in numpy.

Every function takes per-example arrays (already computed by running the
graph) and returns numpy values, so the same code scores any model and tests
can check it against hand computation. Shapes: K Monte Carlo weight samples,
N examples, C classes.

  classification: [K, N, C] sample probabilities and [N] integer labels;
  regression: [N] targets and [K, N] sample means, with a noise stddev.

Bad inputs (wrong shapes, labels out of range, negative probabilities) raise
`tfbnn.errors.DataError`, a `ValueError`; bad settings such as `num_bins`
raise `ConfigError`, also a `ValueError`.

Modules, one idea each:
  monte_carlo: log_mean_exp, predictive_nll (the average over weight samples);
  uncertainty: entropy, mutual_information;
  calibration: reliability_bins, expected_calibration_error;
  classification: error_rate, brier_score, classification_metrics,
    predictive_classification_metrics;
  ood: auroc;
  regression: gaussian_log_likelihood, rmse, regression_metrics.
"""
from tfbnn.metrics.calibration import expected_calibration_error, reliability_bins
from tfbnn.metrics.classification import (brier_score, classification_metrics, error_rate,
                                          predictive_classification_metrics)
from tfbnn.metrics.monte_carlo import log_mean_exp, predictive_nll
from tfbnn.metrics.ood import auroc
from tfbnn.metrics.regression import gaussian_log_likelihood, regression_metrics, rmse
from tfbnn.metrics.uncertainty import entropy, mutual_information

__all__ = ['log_mean_exp', 'predictive_nll', 'entropy', 'mutual_information',
           'reliability_bins', 'expected_calibration_error', 'brier_score', 'error_rate',
           'auroc', 'gaussian_log_likelihood', 'rmse', 'regression_metrics',
           'classification_metrics', 'predictive_classification_metrics']
