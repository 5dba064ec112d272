"""tfbnn: Bayesian neural networks for TensorFlow graphs (1.15, or 2.x through compat.v1).

Layers (`tfbnn.layers`) build reparameterised mean-field Normal posteriors
with `tf.get_variable` and put one KL tensor per layer in the graph collection
`tfbnn.GraphKeys.KL_LOSSES`; `tfbnn.losses.elbo` turns that collection and a
per-example NLL into a scaled ELBO. No Keras, no `model.losses`.

The public API:
  tfbnn.GraphKeys
  tfbnn.layers: dense, conv1d, conv2d, conv3d, conv2d_transpose, conv3d_transpose,
                group_norm, batch_normalization (no Keras: also on TF 2.16+), ESTIMATORS
  tfbnn.priors: normal, scale_mixture, Prior, NormalPrior, ScaleMixturePrior
  tfbnn.losses: elbo, Elbo, kl_divergence, get_kl_losses, kl_coefficient,
                blundell_pi, SCHEMES
  tfbnn.replica_losses: replica_elbo (one worker's share of the ELBO when W
                        workers share the variables)
  tfbnn.errors: TfbnnError, ConfigError, DataError, CheckpointError,
                TrainingDivergedError
  tfbnn.data: load_dataset, Dataset, DATASETS, one loader per format,
              hold_out_validation (a validation split carved from training)
  tfbnn.metrics: error_rate, expected_calibration_error, reliability_bins,
                 brier_score, entropy, mutual_information, auroc,
                 gaussian_log_likelihood, rmse, regression_metrics, ...
  tfbnn.models: build_network, ModelSpec (the training job's networks)
  tfbnn.predictive: classification_predictive, regression_predictive
  tfbnn.custom_getter, tfbnn.bayesian_scope: make existing get_variable code
                 (tf.nn, tf.nn.rnn_cell, tf.layers) Bayesian (tfbnn.getter)
  tfbnn.rnn_cells: BasicRNNCell, LSTMCell, LSTMStateTuple (Keras-free cells
                   for tf.nn.dynamic_rnn, as tf.nn.rnn_cell's, on both stacks)
  tfbnn.moped: init_from_checkpoint (posteriors from a deterministic
               checkpoint, Krishnan et al. 2020)
  tfbnn.pruning: prune_by_snr, snr_threshold, pruned_fraction (mu = 0 and
                 sigma = 0 for the lowest |mu| / sigma)
  tfbnn.schedules: learning_rate, learning_rate_value, SCHEDULES (functions
                   of the global step)
  tfbnn.outliers: uniform_cross_entropy (outlier exposure: the predictive
                  on synthetic outliers, tfbnn.data.render_strokes, pulled
                  towards uniform)
  tfbnn.rho_step: scale_rho_gradients, is_rho (a larger SGD step for the
                  posterior scales, whose gradients carry a factor ~ sigma)
  tfbnn.run_config: RunConfig (a training run's options, frozen and checked;
                    config.json), validate, load, save (imported on use)
  tfbnn.training: train (the job behind scripts/train.py); on a cluster,
                  tfbnn.training.distributed.run_task, .cluster, .launch
  tfbnn.reproduce: reproduce_mnist, extend_mnist, reproduce_pruning,
                   reproduce_uci, render_results, update_results (imported on
                   use: scripts/reproduce.py; docs/RESULTS.md)
  tfbnn.plots (imported on use: it loads matplotlib)
"""
import os as _os
import sys as _sys
import warnings as _warnings

if _os.path.basename((getattr(_sys, 'argv', None) or [''])[0]).startswith('tfbnn-'):
    # The installed commands (tfbnn-train, tfbnn-export, ...) print no C++
    # INFO lines (CPU features, grappler), as scripts/*.py do not: TF 2.x
    # reads the level when it is imported, which is here. Warnings and errors
    # still print; a program that imports tfbnn keeps its own setting.
    _os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')

with _warnings.catch_warnings():
    # TensorFlow 1.15 with numpy >= 1.17 warns at import about its own dtype
    # definitions; only that import-time notice is silenced, only here.
    _warnings.filterwarnings('ignore', category=FutureWarning,
                             module=r'(tensorflow|tensorboard)\b')
    # Compiled extensions TF and scipy import were built against a newer
    # numpy ABI; numpy documents this notice as harmless.
    _warnings.filterwarnings('ignore', message='numpy.ufunc size changed',
                             category=RuntimeWarning)
    import tensorflow as _tf  # noqa: F401

    from tfbnn import (data, errors, layers, losses, metrics, models, moped, outliers,
                       predictive, priors, pruning, replica_losses, rho_step, rnn_cells, schedules)
    from tfbnn.getter import bayesian_scope, custom_getter
    from tfbnn.graph_keys import GraphKeys
    from tfbnn.version import __version__

__all__ = ['GraphKeys', 'custom_getter', 'bayesian_scope', 'moped', 'layers', 'losses', 'replica_losses', 'priors', 'errors', 'data',
           'metrics', 'models', 'outliers', 'predictive', 'pruning', 'rho_step', 'rnn_cells',
           'schedules', '__version__']
