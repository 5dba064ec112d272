"""tfbnn.plots: every figure is a readable PNG of the expected size, bad inputs fail early."""
import sys

import matplotlib.image
import numpy as np
import pytest

from tfbnn import metrics, plots
from tfbnn.errors import DataError

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'

# A figure that draws with NaNs, empty bins or log axes must not warn either
# (a RuntimeWarning there usually means a NaN reached the drawing code).
pytestmark = [pytest.mark.filterwarnings('error::UserWarning'),
              pytest.mark.filterwarnings('error::RuntimeWarning')]


def assert_png(path, height, width):
    """`path` is a PNG of height x width RGBA pixels with more than one colour."""
    with open(str(path), 'rb') as f:
        assert f.read(8) == PNG_SIGNATURE
    image = matplotlib.image.imread(str(path))
    assert image.shape == (height, width, 4)
    assert image[..., :3].std() > 0.01  # something was drawn on the white figure


def assert_no_pyplot_figures():
    pyplot = sys.modules.get('matplotlib.pyplot')
    assert pyplot is None or not pyplot.get_fignums()


def make_history(epochs=6, **extra):
    history = {
        'epoch': list(range(1, epochs + 1)),
        'nll_term': list(np.linspace(2.0, 0.5, epochs)),
        'kl': list(np.linspace(5e4, 2e3, epochs)),
        'kl_coefficient': list(np.linspace(0.0, 1e-4, epochs)),
        'scaled_kl': list(np.linspace(0.0, 0.2, epochs)),
        'loss': list(np.linspace(2.0, 0.7, epochs)),
    }
    history.update(extra)
    return history


def test_learning_curves_three_panels_with_nan_entries(tmp_path):
    nan = float('nan')
    history = make_history(train_error=[0.5, 0.4, nan, 0.2, 0.15, 0.1],
                           test_error=[nan, nan, 0.3, nan, nan, 0.2])
    history['kl'][0] = nan
    history['loss'][2] = None  # a missing value, as json null would load
    path = str(tmp_path / 'curves.png')
    assert plots.learning_curves(history, path) == path
    assert_png(path, 400, 1500)
    assert_no_pyplot_figures()


def test_learning_curves_two_panels_without_metrics_and_all_nan_series(tmp_path):
    history = make_history(3)
    history['scaled_kl'] = [float('nan')] * 3
    path = plots.learning_curves(history, str(tmp_path / 'sub' / 'dir' / 'curves.png'))
    assert_png(path, 400, 1000)


def test_learning_curves_regression_metric(tmp_path):
    history = make_history(4, train_rmse=[1.0, 0.8, 0.7, 0.65])
    assert_png(plots.learning_curves(history, str(tmp_path / 'c.png')), 400, 1500)


@pytest.mark.parametrize('change,match', [
    ({'loss': [1.0, 2.0]}, r"history\['loss'\] must have length 6, got 2"),
    ({'test_error': [0.1] * 7}, r"history\['test_error'\] must have length 6, got 7"),
    ({'kl': ['a'] * 6}, r"history\['kl'\] must be a 1-D sequence of numbers"),
])
def test_learning_curves_rejects_mismatched_lengths(tmp_path, change, match):
    history = make_history()
    history.update(change)
    with pytest.raises(ValueError, match=match):
        plots.learning_curves(history, str(tmp_path / 'c.png'))
    assert not (tmp_path / 'c.png').exists()


def test_learning_curves_rejects_missing_keys_and_empty_history(tmp_path):
    history = make_history()
    del history['kl_coefficient']
    with pytest.raises(DataError, match='history is missing key.s. kl_coefficient'):
        plots.learning_curves(history, str(tmp_path / 'c.png'))
    with pytest.raises(DataError, match='is empty, nothing to plot'):
        plots.learning_curves(make_history(0), str(tmp_path / 'c.png'))


def test_reliability_diagram_from_metrics_with_empty_bins(tmp_path):
    rng = np.random.RandomState(0)
    # Two classes: confidences are >= 0.5, so the lower half of the bins is empty.
    p = rng.uniform(0.5, 1.0, size=200)
    probs = np.stack([p, 1.0 - p], axis=1)
    labels = (rng.uniform(size=200) > p).astype(int)
    edges, conf, acc, counts = metrics.reliability_bins(probs, labels, num_bins=10)
    assert np.isnan(conf[:5]).all() and (counts[:5] == 0).all()
    ece = metrics.expected_calibration_error(probs, labels, num_bins=10)
    path = plots.reliability_diagram(edges, conf, acc, counts, str(tmp_path / 'rel.png'), ece=ece)
    assert_png(path, 600, 500)


def test_reliability_diagram_all_bins_empty_but_one(tmp_path):
    edges = np.linspace(0, 1, 4)
    path = plots.reliability_diagram(edges, [np.nan, np.nan, 0.9], [np.nan, np.nan, 1.0],
                                     [0, 0, 3], str(tmp_path / 'rel.png'))
    assert_png(path, 600, 500)


@pytest.mark.parametrize('args,match', [
    ((np.linspace(0, 1, 4), [0.1, 0.5], [0.1, 0.5, 0.9], [1, 1, 1]),
     'confidence must have length 3, got 2'),
    ((np.linspace(0, 1, 4), [0.1, 0.5, 0.9], [0.1, 0.5, 0.9], [1, 1]),
     'counts must have length 3, got 2'),
    (([0.0, 0.5, 0.5, 1.0], [0.1, 0.5, 0.9], [0.1, 0.5, 0.9], [1, 1, 1]),
     'bin_edges must be at least 2 increasing values'),
    ((np.linspace(0, 1, 4), [0.1, 0.5, 0.9], [0.1, 0.5, 0.9], [1, -1, 1]),
     'counts must be non-negative'),
])
def test_reliability_diagram_rejects_bad_inputs(tmp_path, args, match):
    with pytest.raises(DataError, match=match):
        plots.reliability_diagram(*args, path=str(tmp_path / 'rel.png'))


def test_snr_histograms_one_panel_per_layer(tmp_path):
    rng = np.random.RandomState(0)
    snr = {
        'dense_1': np.abs(rng.randn(1000)) / 0.1,
        'dense_2': np.abs(rng.randn(300)) * 10.0 ** rng.uniform(-3, 1, 300),
        'with_zeros': np.concatenate([np.zeros(5), [np.inf], rng.uniform(0.5, 2.0, 50)]),
        'constant': np.full(10, 3.0),
    }
    # Four layers: a 2 x 3 grid of 4.5 x 3.5 inch panels, the last two hidden.
    assert_png(plots.snr_histograms(snr, str(tmp_path / 'snr.png')), 700, 1350)
    # A layer with nothing drawable gets a note, not an error.
    assert_png(plots.snr_histograms({'dead': np.zeros(4)}, str(tmp_path / 'dead.png')), 350, 450)


def test_snr_histograms_rejects_bad_inputs(tmp_path):
    with pytest.raises(DataError, match='snr_by_layer must be a non-empty dict'):
        plots.snr_histograms({}, str(tmp_path / 'snr.png'))
    with pytest.raises(DataError, match=r"snr_by_layer\['conv'\] must be 1-D, got shape \(2, 2\)"):
        plots.snr_histograms({'conv': np.ones((2, 2))}, str(tmp_path / 'snr.png'))


def toy_regression(rng):
    x_train = np.concatenate([rng.uniform(-4, -2, 20), rng.uniform(2, 4, 20)])
    y_train = np.sin(x_train) + 0.1 * rng.randn(40)
    x_grid = rng.permutation(np.linspace(-6, 6, 200))  # unsorted on purpose
    std = 0.1 + 0.2 * np.minimum(np.abs(x_grid - 3), np.abs(x_grid + 3))
    return x_train, y_train, x_grid, np.sin(x_grid), std


def test_regression_band_with_and_without_test_points(tmp_path):
    x_train, y_train, x_grid, mean, std = toy_regression(np.random.RandomState(0))
    assert_png(plots.regression_band(x_train, y_train, x_grid, mean, std,
                                     str(tmp_path / 'band.png')), 450, 700)
    path = plots.regression_band(x_train, y_train, x_grid, mean, std, str(tmp_path / 'band2.png'),
                                 x_test=[0.0, 1.0], y_test=[0.0, 0.8])
    assert_png(path, 450, 700)


@pytest.mark.parametrize('change,match', [
    ({'y_train': np.zeros(39)}, 'y_train must have length 40, got 39'),
    ({'mean': np.zeros(10)}, 'mean must have length 200, got 10'),
    ({'std': -np.ones(200)}, 'std must be non-negative, got min -1'),
    ({'std': np.full(200, np.nan)}, 'std must be finite, got 200 non-finite value'),
    ({'x_test': [0.0]}, 'give both x_test and y_test or neither'),
    ({'x_test': [0.0], 'y_test': [1.0, 2.0]}, 'y_test must have length 1, got 2'),
])
def test_regression_band_rejects_bad_inputs(tmp_path, change, match):
    names = ('x_train', 'y_train', 'x_grid', 'mean', 'std')
    kwargs = dict(zip(names, toy_regression(np.random.RandomState(0))))
    kwargs.update(change)
    with pytest.raises(DataError, match=match):
        plots.regression_band(path=str(tmp_path / 'band.png'), **kwargs)


def test_ood_histograms(tmp_path):
    rng = np.random.RandomState(0)
    inside = rng.gamma(1.0, 0.1, size=500)
    outside = rng.gamma(4.0, 0.2, size=120)
    path = plots.ood_histograms(inside, outside, str(tmp_path / 'ood.png'), 'predictive entropy')
    assert_png(path, 400, 600)
    # All scores equal: a degenerate but legal range.
    assert_png(plots.ood_histograms([1.0, 1.0], [1.0], str(tmp_path / 'same.png'), 'score'),
               400, 600)


def test_ood_histograms_rejects_bad_inputs(tmp_path):
    with pytest.raises(DataError, match='scores_out must not be empty'):
        plots.ood_histograms([1.0], [], str(tmp_path / 'ood.png'), 'entropy')
    with pytest.raises(DataError, match=r'scores_in must be 1-D, got shape \(2, 2\)'):
        plots.ood_histograms(np.ones((2, 2)), [1.0], str(tmp_path / 'ood.png'), 'entropy')
    with pytest.raises(DataError, match='scores_in must be finite'):
        plots.ood_histograms([np.nan], [1.0], str(tmp_path / 'ood.png'), 'entropy')
