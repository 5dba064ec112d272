"""Pruning an exported run's inference graph by signal-to-noise ratio, with
the posterior-mean network's test metric measured before and after (the
export's `--prune-snr`; `tfbnn.reproduce.pruning` scores its fractions with
the same functions)."""
import numpy as np

from tfbnn import metrics, pruning, run_config
from tfbnn.errors import ConfigError

__all__ = ['prune_by_snr', 'mean_network_metric', 'prune_with_report']


def prune_by_snr(sess, inference, fraction):
    """`tfbnn.pruning.prune_by_snr` in the inference graph: mu = 0 and
    sigma = 0 (rho = -inf) for the lowest fraction of |mu| / sigma.

    Returns:
      (number pruned, total number of kernel weights, the SNR threshold)
    """
    with inference.graph.as_default():
        return pruning.prune_by_snr(sess, fraction)


def mean_network_metric(sess, inference, run, x, y, dataset=None):
    """Test error (classification) or RMSE (regression) of the mean network,
    on `x` and `y` as `dataset` holds them: the graph takes raw inputs, so
    inputs `dataset` standardised are mapped back first."""
    key = 'mean_probs' if run.meta['task'] == 'classification' else 'mean_prediction'
    if dataset is not None and dataset.input_mean is not None and run.meta.get(
            'input_mean') is not None:  # a run from before the record keeps the standardised
        x = (x * dataset.input_std + dataset.input_mean).astype(np.float32)
    out = np.concatenate([sess.run(inference.outputs[key], {inference.input: x[i:i + 1000]})
                          for i in range(0, x.shape[0], 1000)])
    if run.meta['task'] == 'classification':
        return 'test_error', metrics.error_rate(out, y)
    return 'rmse', metrics.rmse(y * run.meta['target_std'] + run.meta['target_mean'], out)


def prune_with_report(sess, inference, run, fraction, log):
    """Prunes the inference graph by SNR (`prune_by_snr`) and measures the
    posterior-mean network's test metric before and after (when the run's
    data can be loaded). Returns the fields for the export report."""
    report = {}
    try:
        ds = run_config.load_data(run.config)
    except (ConfigError, ValueError) as err:
        ds = None
        log("tfbnn-export: (the run's data cannot be loaded, so its test %s before and after "
            'pruning is not measured: %s)' % ('error' if run.meta['task'] == 'classification'
                                              else 'RMSE', err))
    if ds is not None:
        key, before = mean_network_metric(sess, inference, run, ds.x_test, ds.y_test, ds)
        report['%s_before_pruning' % key] = before
    pruned, total, threshold = prune_by_snr(sess, inference, fraction)
    report.update(pruned_weights=pruned, kernel_weights=total, snr_threshold=threshold)
    line = 'tfbnn-export: pruned %d of %d kernel weights (%.1f%%, |mu|/sigma <= %.3g)' % (
        pruned, total, 100.0 * pruned / total, threshold)
    if ds is not None:
        _, after = mean_network_metric(sess, inference, run, ds.x_test, ds.y_test, ds)
        report['%s_after_pruning' % key] = after
        line += '; posterior-mean %s %.4g -> %.4g' % (key, before, after)
    log(line)
    return report
