"""Blundell et al. (2015), Table 2: remove weights by signal-to-noise ratio.

The trained scale-mixture network's kernel weights are ranked by |mu| /
sigma over all layers at once; the lowest fraction is removed from the
posterior (mu = 0 and sigma = 0, `tfbnn.pruning`), and both the
posterior-mean network (the paper's score) and the sampled predictive are
scored. Fractions are those of the paper, fixed beforehand; the validation
error is reported beside the test error.
"""
import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import diagnostics, export, export_pruning, run_config
from tfbnn.errors import CheckpointError
from tfbnn.internal import checkpoint_reader
from tfbnn.internal.jsonio import write_json
from tfbnn.internal.posterior_scale import SCALE_FLOOR
from tfbnn.reproduce import figures, filing, paper
from tfbnn.training import rundir

__all__ = ['FRACTIONS', 'CHECKPOINTS', 'RUN_OPTIONS', 'chosen_checkpoint', 'reproduce_pruning',
           'sigma_quantiles']

FRACTIONS = (0.0, 0.5, 0.75, 0.95, 0.98)
# The options of the pruned run its record keeps, so a table can say what was pruned.
RUN_OPTIONS = ('prior', 'posterior_init_mean', 'posterior_init_scale', 'optimizer',
               'scale_optimizer', 'scale_learning_rate', 'scale_lr_multiplier', 'epochs')
_QUANTILES = (0.1, 0.5, 0.9)


CHECKPOINTS = rundir.CHECKPOINTS
chosen_checkpoint = rundir.chosen_checkpoint


def _predictive_error(sess, inference, x, y, batch=500):
    """Test error of the sampled predictive (the pruned weights' draws are 0)."""
    probs = np.concatenate([sess.run(inference.outputs['probs'], {inference.input: x[i:i + batch]})
                            for i in range(0, x.shape[0], batch)])
    return float(np.mean(probs.argmax(1) != y))


def sigma_quantiles(checkpoint):
    """layer -> {'0.1', '0.5', '0.9'} -> those quantiles of its kernel's sigma
    in a checkpoint (`<layer>/kernel_rho`): whether the scales moved apart (a
    wide spread) or together.

    Raises:
      CheckpointError: the checkpoint cannot be read.
    """
    reader = checkpoint_reader.reader(checkpoint)
    out = {}
    for name in sorted(reader.get_variable_to_shape_map()):
        if name.endswith('/kernel_rho'):
            rho = reader.get_tensor(name).astype(np.float64)
            values = np.quantile(np.logaddexp(0.0, rho) + SCALE_FLOOR, _QUANTILES)
            out[name[:-len('/kernel_rho')]] = {'%g' % q: float(v)
                                               for q, v in zip(_QUANTILES, values)}
    return out


def reproduce_pruning(run_dir, out_path, log, fractions=FRACTIONS, plot_path=None,
                      checkpoint='best'):
    """Prunes a trained classification run at increasing fractions.

    Args:
      run_dir: a finished training run (e.g. the MNIST scale-mixture one).
      out_path: where the JSON record goes.
      log: progress callable.
      fractions: increasing fractions in [0, 1) of kernel weights to remove.
      plot_path: optional PNG of error against the fraction removed and the
        SNR histogram.
      checkpoint: 'best' (the early-stopping weights, else the latest) or
        'latest' (the end of training).

    Returns:
      The record: per fraction the test and validation error (%) of the
      posterior-mean network, the SNR threshold and the fraction of each
      layer's kernel weights kept; the SNR's quantiles and each layer's sigma
      quantiles before pruning.
    """
    if list(fractions) != sorted(fractions) or not all(0 <= f < 1 for f in fractions):
        raise ValueError('fractions must increase within [0, 1), got %r' % (fractions,))
    run = export.load_run(run_dir, chosen_checkpoint(run_dir, checkpoint))
    if run.meta['task'] != 'classification':
        raise CheckpointError('%s is a regression run; pruning reproduces a classifier'
                              % run_dir)
    dataset = run_config.load_data(run.config)
    inference = export.build_inference_graph(run, 'sample')
    rows = []
    with tf.Session(graph=inference.graph) as sess:
        export.restore(sess, inference, run.checkpoint)
        with inference.graph.as_default():
            by_layer = {layer: diagnostics.signal_to_noise(*sess.run(pair)).ravel()
                        for layer, pair in diagnostics.kernel_posteriors().items()}
        snr = np.concatenate(list(by_layer.values()))
        for fraction in fractions:
            pruned, total, threshold = export_pruning.prune_by_snr(sess, inference, fraction)
            _, test = export_pruning.mean_network_metric(sess, inference, run, dataset.x_test,
                                                         dataset.y_test, dataset)
            row = dict(fraction=fraction, pruned=pruned, total=total, snr_threshold=threshold,
                       test_error=100.0 * test,
                       # Where the cut fell: each layer's fraction of kernel weights kept.
                       kept_by_layer={layer: float(np.mean(v > threshold))
                                      for layer, v in by_layer.items()},
                       predictive_test_error=100.0 * _predictive_error(
                           sess, inference, dataset.x_test, dataset.y_test))
            if dataset.x_val is not None:
                _, val = export_pruning.mean_network_metric(sess, inference, run, dataset.x_val,
                                                            dataset.y_val, dataset)
                row['val_error'] = 100.0 * val
            rows.append(row)
            log('pruning: %4.0f%% of %d weights removed (SNR <= %.3g): test error %.2f%% (mean '
                'net), %.2f%% (predictive)%s'
                % (100 * fraction, total, threshold, row['test_error'],
                   row['predictive_test_error'],
                   ' | validation %.2f%%' % row['val_error'] if 'val_error' in row else ''))
    base = rows[0]['test_error']
    for row in rows:
        row['test_error_change'] = row['test_error'] - base
    record = dict(experiment='pruning', run_dir=run_dir, checkpoint=run.checkpoint,
                  which=checkpoint, run_options={k: run_config.json_value(getattr(run.config, k))
                                                 for k in RUN_OPTIONS},
                  protocol=filing.run_protocol(run.config.to_dict()),
                  paper=paper.BLUNDELL_TABLE2, rows=rows,
                  snr_quantiles={q: float(np.quantile(snr, q)) for q in (0.5, 0.95, 0.98)},
                  sigma_quantiles=sigma_quantiles(run.checkpoint))
    write_json(out_path, record)
    if plot_path:
        figures.pruning_curve(rows, by_layer, plot_path)
    return record
