"""tfbnn.metrics: the package exports every module's public names, by name."""
import importlib

import pytest

from tfbnn import metrics

MODULES = ('monte_carlo', 'uncertainty', 'calibration', 'classification', 'ood', 'regression')


def test_the_package_exports_exactly_the_modules_public_names():
    exported = []
    for name in MODULES:
        module = importlib.import_module('tfbnn.metrics.' + name)
        for public in module.__all__:
            assert getattr(metrics, public) is getattr(module, public), public
        exported.extend(module.__all__)
    assert sorted(metrics.__all__) == sorted(exported)
    assert len(set(exported)) == len(exported)


# The public names of tfbnn/metrics.py before it became a package.
SINGLE_MODULE_NAMES = ('log_mean_exp', 'predictive_nll', 'entropy', 'mutual_information',
                       'reliability_bins', 'expected_calibration_error', 'brier_score',
                       'error_rate', 'auroc', 'gaussian_log_likelihood', 'rmse',
                       'regression_metrics', 'classification_metrics')


@pytest.mark.parametrize('name', SINGLE_MODULE_NAMES)
def test_the_names_of_the_single_module_are_still_exported(name):
    assert name in metrics.__all__ and callable(getattr(metrics, name))
