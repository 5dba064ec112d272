"""End-of-run evaluation: the K-sample predictive over the test set, the
metrics of metrics.json, and the plots."""
import os
import time

import numpy as np

from tfbnn import data, diagnostics, metrics, plots, run_config

__all__ = ['run_predictive', 'evaluate', 'posterior_snr', 'validation_metrics',
           'selection_score']


def run_predictive(sess, graph, x, batch_size):
    """Runs the predictive endpoints over `x` in batches; one sess.run per batch.

    Returns:
      dict name -> numpy array, concatenated over the batches (sample axes of
      regression outputs stay first).
    """
    ends = graph.predictive._asdict()
    per_batch = {k: [] for k in ends}
    for start in range(0, x.shape[0], batch_size):
        out = sess.run(ends, {graph.eval_input: x[start:start + batch_size]})
        for k, v in out.items():
            per_batch[k].append(v)
    joined = {}
    for k, parts in per_batch.items():
        if parts[0].ndim == 0:
            joined[k] = parts[0]
        elif k == 'sample_means':
            joined[k] = np.concatenate(parts, axis=1)
        else:
            joined[k] = np.concatenate(parts, axis=0)
    return joined


def posterior_snr(sess, scope='model'):
    """|mu| / sigma of every Bayesian kernel, by layer name.

    Returns:
      dict layer name -> 1-D numpy array.
    """
    return {layer: diagnostics.signal_to_noise(*sess.run(pair)).ravel()
            for layer, pair in diagnostics.kernel_posteriors(scope).items()}


def _finite_ood(sess, graph, config, dataset, x, log):
    """The predictive of the OOD inputs `x`, or None (after a warning line)
    when it is not finite for some: inputs far beyond the training data's
    overflow it, and an error would lose the finished run's other metrics."""
    pred = run_predictive(sess, graph, x, config.eval_batch_size)
    bad = int(np.sum(~(np.isfinite(pred['entropy']) & np.isfinite(pred['mutual_information']))))
    if not bad:
        return pred
    log('tfbnn: warning: the predictive of %d of the %d out-of-distribution examples is not '
        'finite (their inputs reach |x| = %.3g, the training data\'s %.3g): no ood_auroc_* is '
        'reported; scale the set as the training data'
        % (bad, len(x), np.max(np.abs(x)), np.max(np.abs(dataset.x_train))))
    return None


def _classification(sess, graph, dataset, config, ood, out_dir, log):
    pred = run_predictive(sess, graph, dataset.x_test, config.eval_batch_size)
    labels = dataset.y_test
    # The predictive averaged the K samples batch by batch; its summaries
    # (log_mean_probs by log-sum-exp) give classification_metrics' numbers.
    result = metrics.predictive_classification_metrics(
        pred['mean_probs'], labels, pred['mutual_information'],
        log_mean_probs=pred['log_mean_probs'], entropy=pred['entropy'], num_bins=15)
    result['mean_weights_test_error'] = metrics.error_rate(pred['mean_weights_probs'], labels)
    edges, conf, acc, counts = metrics.reliability_bins(pred['mean_probs'], labels, num_bins=15)
    plots.reliability_diagram(edges, conf, acc, counts, os.path.join(out_dir, 'reliability.png'),
                              ece=result['ece'])
    plot = os.path.join(out_dir, 'ood_entropy.png')
    ood_pred = None if ood is None else _finite_ood(sess, graph, config, dataset, ood.x_test, log)
    if ood_pred is None and os.path.exists(plot):  # an earlier evaluation's
        os.remove(plot)
    if ood_pred is not None:
        result['ood_auroc_entropy'] = metrics.auroc(pred['entropy'], ood_pred['entropy'])
        result['ood_auroc_mi'] = metrics.auroc(pred['mutual_information'],
                                               ood_pred['mutual_information'])
        kinds = run_config.ood_kinds(config, dataset)
        if len(kinds) > 1:  # the union's parts, M images each, in order
            m = dataset.x_test.shape[0]
            for i, kind in enumerate(kinds):
                part = slice(i * m, (i + 1) * m)
                for score, short in (('entropy', 'entropy'), ('mutual_information', 'mi')):
                    result['ood_auroc_%s_%s' % (short, kind)] = metrics.auroc(
                        pred[score], ood_pred[score][part])
        plots.ood_histograms(pred['entropy'], ood_pred['entropy'], plot,
                             'predictive entropy (nats)')
    return result


def _regression(sess, graph, dataset, config, out_dir):
    pred = run_predictive(sess, graph, dataset.x_test, config.eval_batch_size)
    result = metrics.regression_metrics(dataset.y_test, pred['sample_means'], pred['noise_std'],
                                        dataset.target_mean, dataset.target_std)
    result = {k: float(v) for k, v in result.items()}
    result['mean_weights_rmse'] = float(
        metrics.rmse(dataset.y_test, pred['mean_weights_prediction']) * dataset.target_std)
    result['noise_std'] = float(pred['noise_std'] * dataset.target_std)
    if dataset.input_shape == (1,):
        lo, hi = float(dataset.x_train.min()), float(dataset.x_train.max())
        pad = max(hi - lo, 1e-3)
        grid = np.linspace(lo - pad, hi + pad, 300, dtype=dataset.x_train.dtype)[:, None]
        band = run_predictive(sess, graph, grid, config.eval_batch_size)

        def original(v):
            return v * dataset.target_std + dataset.target_mean
        plots.regression_band(dataset.x_train[:, 0], original(dataset.y_train), grid[:, 0],
                              original(band['mean']), band['stddev'] * dataset.target_std,
                              os.path.join(out_dir, 'predictive_band.png'),
                              x_test=dataset.x_test[:, 0], y_test=original(dataset.y_test))
    return result


def validation_metrics(sess, graph, dataset, config, pred=None):
    """The predictive's scores on the validation split (no plots, no test data).

    Args:
      pred: the predictive's outputs on the validation images if already run
        (`run_predictive`); None runs it.

    Returns:
      dict: 'val_error', 'val_nll', 'val_ece' (15 bins) and
      'val_confidence' (the mean top-class probability: below 1 - val_error
      is underconfident) for classification; 'val_rmse' and 'val_ll'
      (original units) for regression.

    Raises:
      ValueError: `dataset` has no validation split.
    """
    if dataset.x_val is None:
        raise ValueError('dataset %r has no validation split' % dataset.name)
    if pred is None:
        pred = run_predictive(sess, graph, dataset.x_val, config.eval_batch_size)
    labels = dataset.y_val
    if dataset.task == 'regression':
        reg = metrics.regression_metrics(labels, pred['sample_means'], pred['noise_std'],
                                         dataset.target_mean, dataset.target_std)
        return dict(val_rmse=float(reg['rmse']), val_ll=float(reg['test_ll']))
    # The test set's path (`predictive_classification_metrics`), so the two
    # can never disagree on what an error, the NLL or the ECE is.
    scores = metrics.predictive_classification_metrics(
        pred['mean_probs'], labels, pred['mutual_information'],
        log_mean_probs=pred['log_mean_probs'], entropy=pred['entropy'], num_bins=15)
    return dict(val_error=scores['test_error'], val_nll=scores['test_nll'], val_ece=scores['ece'],
                val_confidence=float(np.mean(np.max(pred['mean_probs'], axis=1))))


def _validation_ood(sess, graph, dataset, config, inside, ood, log):
    """With --no-test-eval: the built-in OOD kinds made from the *validation*
    images, or the --ood-data-dir set `ood`, scored against the validation
    images (val_ood_auroc_mi / _entropy), so a choice can weigh
    out-of-distribution detection without looking at the test split."""
    if dataset.x_val is None:
        return {}
    if not config.ood_data_dir:
        kinds = run_config.ood_kinds(config, dataset)
        if not kinds:
            return {}
        ood = data.builtin_ood(dataset._replace(x_test=dataset.x_val, y_test=dataset.y_val),
                               kinds)
    elif ood is None:
        return {}
    outside = _finite_ood(sess, graph, config, dataset, ood.x_test, log)
    if outside is None:
        return {}
    return dict(val_ood_auroc_mi=metrics.auroc(inside['mutual_information'],
                                               outside['mutual_information']),
                val_ood_auroc_entropy=metrics.auroc(inside['entropy'], outside['entropy']))


def selection_score(task):
    """(key, better) of the validation score that early stopping and model
    selection use: the error for classification (what Blundell et al. 2015
    report), the log-likelihood for regression (what the UCI benchmark ranks
    by); `better(new, old)` is True when `new` is an improvement."""
    if task == 'regression':
        return 'val_ll', lambda new, old: new > old
    return 'val_error', lambda new, old: new < old


def evaluate(sess, graph, dataset, config, out_dir, ood=None, log=print):
    """Computes the test metrics and writes the evaluation plots.

    Args:
      sess: session holding the trained variables.
      graph: `tfbnn.training.graph.TrainGraph`.
      dataset: `tfbnn.data.Dataset`.
      config: `tfbnn.run_config.RunConfig`.
      out_dir: where the plots go.
      ood: optional out-of-distribution `Dataset` (its test split is used).
      log: where a warning line goes (an OOD set whose predictive is not
        finite is reported without its AUROC).

    Returns:
      dict of metrics (the metrics.json keys of the task, and the
      `validation_metrics` when the dataset has a validation split; only
      those when config.evaluate_test is False), plus eval_seconds.
    """
    start = time.time()
    if not config.evaluate_test:
        # One pass of the predictive over the validation images serves both.
        pred = run_predictive(sess, graph, dataset.x_val, config.eval_batch_size)
        result = validation_metrics(sess, graph, dataset, config, pred)
        result.update(_validation_ood(sess, graph, dataset, config, pred, ood, log))
    elif dataset.task == 'regression':
        result = _regression(sess, graph, dataset, config, out_dir)
    else:
        result = _classification(sess, graph, dataset, config, ood, out_dir, log)
    if dataset.x_val is not None and config.evaluate_test:
        result.update(validation_metrics(sess, graph, dataset, config))
    plots.snr_histograms(posterior_snr(sess), os.path.join(out_dir, 'snr.png'))
    result['eval_samples'] = config.eval_samples
    result['eval_seconds'] = time.time() - start
    return {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in result.items()}
