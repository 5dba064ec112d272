"""Diagnostic figures written straight to PNG files.

Each function draws one figure on its own `matplotlib.figure.Figure` with an
Agg canvas, writes it to `path` (creating the parent directory) and returns
`path`. No pyplot: nothing touches matplotlib's global figure registry or the
interactive backend, so the functions are safe in scripts, tests and threads,
whatever MPLBACKEND says, and leak no open figures.

Inputs are checked first; lengths that do not match raise
`tfbnn.errors.DataError`, a `ValueError`. NaN entries (a metric not computed
at every epoch, an empty calibration bin) are skipped, not drawn as zero.
"""
import os
import reprlib

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tfbnn.errors import DataError
from tfbnn.internal.jsonio import write_atomically
from tfbnn.metrics import auroc

__all__ = ['learning_curves', 'reliability_diagram', 'snr_histograms', 'regression_band',
           'ood_histograms', 'save_figure']

_DPI = 100
_HISTORY_KEYS = ('epoch', 'nll_term', 'kl', 'kl_coefficient', 'scaled_kl', 'loss')
_METRIC_KEYS = ('train_error', 'test_error', 'val_error', 'train_rmse', 'test_rmse')


def _vector(owner, name, values, length=None, finite=False):
    """`values` as a 1-D float64 array (None entries become NaN), checked."""
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError('%s: %s must be a 1-D sequence of numbers, got %s'
                        % (owner, name, reprlib.repr(values)))
    if x.ndim != 1:
        raise DataError('%s: %s must be 1-D, got shape %s' % (owner, name, x.shape))
    if length is not None and x.size != length:
        raise DataError('%s: %s must have length %d, got %d' % (owner, name, length, x.size))
    if finite and not np.isfinite(x).all():
        raise DataError('%s: %s must be finite, got %d non-finite value(s)'
                        % (owner, name, int(np.sum(~np.isfinite(x)))))
    return x


def save_figure(fig, path):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    FigureCanvasAgg(fig)  # attaches itself to fig
    # A full disk leaves no half image (and whatever was there before).
    write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=_DPI, format='png'))
    return path


def _plot_series(ax, x, y, label):
    """A line through the finite points; markers too when some are missing."""
    ok = np.isfinite(y)
    sparse = not ok.all()
    ax.plot(x[ok], y[ok], marker='o' if sparse else None, markersize=3, label=label)
    return y[ok]


def _log_y_if_positive(ax, drawn):
    values = np.concatenate(drawn) if drawn else np.array([])
    if values.size and np.all(values > 0):
        ax.set_yscale('log')


def learning_curves(history, path):
    """The ELBO parts, the raw KL and a training metric against the epoch.

    Args:
      history: dict of equal-length lists, one entry per epoch, with keys
        'epoch', 'nll_term', 'kl', 'kl_coefficient', 'scaled_kl', 'loss' and
        optionally 'train_error', 'test_error', 'val_error', 'train_rmse',
        'test_rmse'.
        Entries may be NaN or None (e.g. test_error only every few epochs).
      path: where to write the PNG.

    Returns:
      `path`.

    Raises:
      DataError (a ValueError): for a missing key, no epochs, or lists whose
        length differs from 'epoch'.

    Panels: (1) nll_term, scaled_kl and loss, on a log y axis when every
    finite value is positive; (2) the raw KL (same rule), with the KL
    coefficient on a second y axis, so warm-up and annealing show; (3) the
    metrics present, if any.
    """
    owner = 'learning_curves'
    missing = [k for k in _HISTORY_KEYS if k not in history]
    if missing:
        raise DataError('%s: history is missing key(s) %s; required: %s'
                        % (owner, ', '.join(missing), ', '.join(_HISTORY_KEYS)))
    epoch = _vector(owner, "history['epoch']", history['epoch'])
    if epoch.size == 0:
        raise DataError("%s: history['epoch'] is empty, nothing to plot" % owner)
    series = {k: _vector(owner, 'history[%r]' % k, history[k], epoch.size)
              for k in _HISTORY_KEYS[1:] + _METRIC_KEYS if k in history}
    metric_keys = [k for k in _METRIC_KEYS if k in series]

    fig = Figure(figsize=(5.0 * (3 if metric_keys else 2), 4.0))
    axes = fig.subplots(1, 3 if metric_keys else 2)

    ax = axes[0]
    drawn = [_plot_series(ax, epoch, series[k], k) for k in ('nll_term', 'scaled_kl', 'loss')]
    _log_y_if_positive(ax, drawn)
    ax.set(title='ELBO terms (loss = nll_term + scaled_kl)', xlabel='epoch', ylabel='value')
    ax.legend(loc='best')

    ax = axes[1]
    _log_y_if_positive(ax, [_plot_series(ax, epoch, series['kl'], 'KL(q || p)')])
    ax.set(title='Raw KL divergence', xlabel='epoch', ylabel='KL (nats)')
    twin = ax.twinx()
    ok = np.isfinite(series['kl_coefficient'])
    twin.plot(epoch[ok], series['kl_coefficient'][ok], color='tab:gray', linestyle='--',
              label='KL coefficient')
    twin.set_ylabel('KL coefficient')
    lines = ax.get_lines() + twin.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc='best')

    if metric_keys:
        ax = axes[2]
        for k in metric_keys:
            _plot_series(ax, epoch, series[k], k)
        kinds = set(k.split('_')[-1] for k in metric_keys)
        ylabel = {frozenset(['error']): 'error rate', frozenset(['rmse']): 'RMSE'}.get(
            frozenset(kinds), 'value')
        ax.set(title='Training metrics', xlabel='epoch', ylabel=ylabel)
        ax.legend(loc='best')
    fig.tight_layout()
    return save_figure(fig, path)


def reliability_diagram(bin_edges, confidence, accuracy, counts, path, ece=None):
    """Accuracy against confidence per bin, with the counts underneath.

    Takes the output of `tfbnn.metrics.reliability_bins` directly.

    Args:
      bin_edges: [B + 1] increasing bin edges.
      confidence: [B] mean confidence per bin, NaN for empty bins.
      accuracy: [B] accuracy per bin, NaN for empty bins.
      counts: [B] non-negative example counts per bin.
      path: where to write the PNG.
      ece: optional float, shown in the title.

    Returns:
      `path`.

    Raises:
      DataError (a ValueError): for lengths that do not match, decreasing
        edges or negative counts.

    The bars are the accuracy of each bin; the shaded red box spans the gap
    between accuracy and mean confidence (below the diagonal: overconfident).
    A perfectly calibrated model has bars on the diagonal.
    """
    owner = 'reliability_diagram'
    edges = _vector(owner, 'bin_edges', bin_edges, finite=True)
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise DataError('%s: bin_edges must be at least 2 increasing values, got %s'
                        % (owner, edges))
    num_bins = edges.size - 1
    conf = _vector(owner, 'confidence', confidence, num_bins)
    acc = _vector(owner, 'accuracy', accuracy, num_bins)
    counts = _vector(owner, 'counts', counts, num_bins, finite=True)
    if np.any(counts < 0):
        raise DataError('%s: counts must be non-negative, got min %g' % (owner, counts.min()))

    fig = Figure(figsize=(5.0, 6.0))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={'height_ratios': [3, 1]})
    left, width = edges[:-1], np.diff(edges)
    full = (counts > 0) & np.isfinite(acc) & np.isfinite(conf)
    top.bar(left[full], acc[full], width=width[full], align='edge', color='tab:blue',
            edgecolor='black', label='accuracy')
    lower = np.minimum(acc, conf)[full]
    top.bar(left[full], np.abs(acc - conf)[full], bottom=lower, width=width[full], align='edge',
            color='tab:red', alpha=0.35, hatch='//', edgecolor='tab:red', label='gap')
    top.plot([edges[0], edges[-1]], [edges[0], edges[-1]], 'k--', label='perfect calibration')
    top.set(xlim=(edges[0], edges[-1]), ylim=(0.0, 1.0), ylabel='accuracy',
            title='Reliability diagram' + ('' if ece is None else ' (ECE = %.4f)' % ece))
    top.legend(loc='upper left')
    bottom.bar(left, counts, width=width, align='edge', color='tab:gray', edgecolor='black')
    bottom.set(xlabel='confidence (max predicted probability)', ylabel='count')
    fig.tight_layout()
    return save_figure(fig, path)


def snr_histograms(snr_by_layer, path):
    """Histograms of the weight signal-to-noise ratio |mu| / sigma per layer.

    Args:
      snr_by_layer: dict (ordered) from layer name to a 1-D array of SNRs.
      path: where to write the PNG.

    Returns:
      `path`.

    Raises:
      DataError (a ValueError): for an empty dict or non-1-D arrays.

    The x axis is logarithmic with log-spaced bins, since SNRs span orders of
    magnitude (Blundell et al. 2015, fig. 4, prune by it). Zero and
    non-finite values cannot sit on a log axis; they are left out and counted
    in the panel title. The dashed line marks the median of the values drawn.
    """
    owner = 'snr_histograms'
    if not snr_by_layer:
        raise DataError('%s: snr_by_layer must be a non-empty dict of layer name -> array'
                        % owner)
    data = {}
    for name, values in snr_by_layer.items():
        x = np.asarray(values, dtype=np.float64)
        if x.ndim != 1:
            raise DataError('%s: snr_by_layer[%r] must be 1-D, got shape %s'
                            % (owner, name, x.shape))
        data[name] = x
    cols = min(3, len(data))
    rows = -(-len(data) // cols)
    fig = Figure(figsize=(4.5 * cols, 3.5 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, (name, x) in zip(axes, data.items()):
        shown = x[np.isfinite(x) & (x > 0)]
        dropped = x.size - shown.size
        ax.set_title('%s (n = %d%s)' % (name, x.size, ', %d zero/non-finite left out' % dropped
                                        if dropped else ''), fontsize=9)
        ax.set(xlabel='|mu| / sigma', ylabel='count')
        if shown.size == 0:
            ax.text(0.5, 0.5, 'no positive finite values', ha='center', va='center',
                    transform=ax.transAxes)
            continue
        lo, hi = np.log10(shown.min()), np.log10(shown.max())
        if hi - lo < 1e-6:
            lo, hi = lo - 0.5, hi + 0.5
        ax.hist(shown, bins=np.logspace(lo, hi, 41), color='tab:blue')
        ax.set_xscale('log')
        median = np.median(shown)
        ax.axvline(median, color='tab:red', linestyle='--', label='median %.3g' % median)
        ax.legend(loc='best', fontsize=8)
    for ax in axes[len(data):]:
        ax.set_visible(False)
    fig.tight_layout()
    return save_figure(fig, path)


def regression_band(x_train, y_train, x_grid, mean, std, path, x_test=None, y_test=None):
    """A 1-D regression fit: data, predictive mean and +-1, +-2 std bands.

    Args:
      x_train: [N] training inputs.
      y_train: [N] training targets.
      x_grid: [G] inputs at which the predictive is evaluated (any order).
      mean: [G] predictive mean on the grid.
      std: [G] non-negative predictive stddev on the grid.
      path: where to write the PNG.
      x_test: optional [M] test inputs; needs `y_test`.
      y_test: optional [M] test targets; needs `x_test`.

    Returns:
      `path`.

    Raises:
      DataError (a ValueError): for lengths that do not match, a negative or
        non-finite std, or only one of x_test and y_test.

    For a Bayesian model the band should widen away from the training data,
    where the epistemic uncertainty grows.
    """
    owner = 'regression_band'
    x_train = _vector(owner, 'x_train', x_train, finite=True)
    y_train = _vector(owner, 'y_train', y_train, x_train.size, finite=True)
    x_grid = _vector(owner, 'x_grid', x_grid, finite=True)
    mean = _vector(owner, 'mean', mean, x_grid.size, finite=True)
    std = _vector(owner, 'std', std, x_grid.size, finite=True)
    if np.any(std < 0):
        raise DataError('%s: std must be non-negative, got min %g' % (owner, std.min()))
    if (x_test is None) != (y_test is None):
        raise DataError('%s: give both x_test and y_test or neither' % owner)

    order = np.argsort(x_grid, kind='mergesort')
    x_grid, mean, std = x_grid[order], mean[order], std[order]
    fig = Figure(figsize=(7.0, 4.5))
    ax = fig.subplots()
    ax.fill_between(x_grid, mean - 2 * std, mean + 2 * std, color='tab:blue', alpha=0.15,
                    linewidth=0, label='mean +- 2 std')
    ax.fill_between(x_grid, mean - std, mean + std, color='tab:blue', alpha=0.3,
                    linewidth=0, label='mean +- 1 std')
    ax.plot(x_grid, mean, color='tab:blue', label='predictive mean')
    ax.scatter(x_train, y_train, s=10, color='black', zorder=3, label='train')
    if x_test is not None:
        x_test = _vector(owner, 'x_test', x_test, finite=True)
        y_test = _vector(owner, 'y_test', y_test, x_test.size, finite=True)
        ax.scatter(x_test, y_test, s=10, color='tab:orange', marker='x', zorder=3, label='test')
    ax.set(title='Predictive distribution', xlabel='x', ylabel='y')
    ax.legend(loc='best')
    fig.tight_layout()
    return save_figure(fig, path)


def ood_histograms(scores_in, scores_out, path, label):
    """Overlaid histograms of a score on in- and out-of-distribution inputs.

    Args:
      scores_in: [N] finite scores on in-distribution inputs.
      scores_out: [M] finite scores on out-of-distribution inputs.
      path: where to write the PNG.
      label: the score's name (e.g. 'predictive entropy (nats)'), the x label.

    Returns:
      `path`.

    Raises:
      DataError (a ValueError): for empty or non-finite scores.

    Both histograms share bins and are normalised to densities, so sets of
    different sizes compare; the title gives `tfbnn.metrics.auroc` with the
    out-of-distribution inputs as positives (higher score = more OOD).
    """
    owner = 'ood_histograms'
    inside = _vector(owner, 'scores_in', scores_in, finite=True)
    outside = _vector(owner, 'scores_out', scores_out, finite=True)
    for name, x in (('scores_in', inside), ('scores_out', outside)):
        if x.size == 0:
            raise DataError('%s: %s must not be empty' % (owner, name))
    lo = min(inside.min(), outside.min())
    hi = max(inside.max(), outside.max())
    if hi - lo <= 0:
        lo, hi = lo - 0.5, hi + 0.5
    bins = np.linspace(lo, hi, 41)
    fig = Figure(figsize=(6.0, 4.0))
    ax = fig.subplots()
    ax.hist(inside, bins=bins, density=True, alpha=0.5, color='tab:blue',
            label='in-distribution (n = %d)' % inside.size)
    ax.hist(outside, bins=bins, density=True, alpha=0.5, color='tab:red',
            label='out-of-distribution (n = %d)' % outside.size)
    ax.set(title='%s: AUROC (out > in) = %.4f' % (label, auroc(inside, outside)),
           xlabel=label, ylabel='density')
    ax.legend(loc='best')
    fig.tight_layout()
    return save_figure(fig, path)
