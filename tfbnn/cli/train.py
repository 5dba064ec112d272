"""tfbnn-train: train a Bayesian network in a plain tf.Session loop.

Exit status: 0 done; 2 a user error (bad flag, missing or corrupt data, an
unusable run directory), one line on stderr; 3 the loss diverged (NaN/Inf);
130 interrupted (a checkpoint was saved first). A traceback means a bug.
"""
import argparse
import sys

__all__ = ['build_parser', 'main']

EXIT_USER_ERROR, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130


def _int_list(text):
    try:
        return [int(t) for t in text.replace(',', ' ').split()]
    except ValueError:
        raise argparse.ArgumentTypeError('expected integers like 400,400, got %r' % text)


def _float_list(text):
    try:
        return [float(t) for t in text.replace(',', ' ').split()]
    except ValueError:
        raise argparse.ArgumentTypeError('expected numbers like 200,300, got %r' % text)


def _scale(text):
    values = _float_list(text)
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError('expected a number or LOW,HIGH, got %r' % text)
    return values[0] if len(values) == 1 else values


def build_parser():
    from tfbnn import run_config
    d = run_config.DEFAULTS
    p = argparse.ArgumentParser(
        prog='tfbnn-train', description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog='Outputs in --output-dir: config.json, model.ckpt-*, events (TensorBoard), '
               'history.json, metrics.json, train.log and PNG plots.')
    g = p.add_argument_group('data')
    g.add_argument('--dataset', default=d['dataset'],
                   help='digits (built in), mnist, uci, toy_regression, volumes3d, npz')
    g.add_argument('--data-dir', default=d['data_dir'],
                   help='mnist: folder of the 4 IDX files; uci: a dataset folder with data.txt '
                        'and index_*.txt; npz: a .npz file or a folder with data.npz')
    g.add_argument('--split', type=int, default=d['split'], help='uci split index K')
    g.add_argument('--pixel-scale', type=float, default=d['pixel_scale'],
                   help='mnist: pixel bytes are divided by this (Blundell et al. 2015: 126)')
    g.add_argument('--validation-size', type=float, default=d['validation_size'],
                   help='hold out the last examples of the training split for validation: '
                        'a fraction in (0, 1) or a number of examples (0: none). '
                        'metrics.json then also has val_* scores')
    g.add_argument('--validate-every', type=int, default=d['validate_every'],
                   help='early stopping: every N epochs score the predictive on the '
                        'validation split, keep the best weights in best/ and evaluate those '
                        '(0: off; needs --validation-size)')
    g.add_argument('--patience', type=int, default=d['patience'],
                   help='stop training after this many validations in a row without '
                        'improvement (0: train all --epochs; needs --validate-every)')
    g.add_argument('--ood-data-dir', default=d['ood_data_dir'],
                   help='out-of-distribution data in the same format (e.g. Fashion-MNIST for '
                        'mnist): AUROC of entropy and mutual information')
    g.add_argument('--ood-set', default=d['ood_set'],
                   help='built-in out-of-distribution images: a comma-separated list of '
                        'inverted, permuted, noise (made from the test set) and photos (crops '
                        'of photographs); auto: the first three for image classification sets '
                        'without --ood-data-dir; none: off')
    g = p.add_argument_group('model')
    g.add_argument('--model', default=d['model'],
                   help='mlp, lenet5, conv3d or lstm (images read row by row by a Bayesian '
                        'LSTM of --hidden units, built with tfbnn.custom_getter)')
    g.add_argument('--hidden', type=_int_list, default=d['hidden'],
                   help='mlp hidden widths, e.g. 400,400')
    g.add_argument('--norm', default=d['norm'], help='none, batch or group (after hidden layers)')
    g.add_argument('--estimator', default=d['estimator'],
                   help='reparameterization, flipout or local_reparameterization')
    g.add_argument('--prior', default=d['prior'], help='normal or scale_mixture')
    g.add_argument('--prior-sigma', type=float, default=d['prior_sigma'],
                   help='stddev of the normal prior')
    g.add_argument('--prior-pi', type=float, default=d['prior_pi'], help='scale mixture pi')
    g.add_argument('--prior-sigma1', type=float, default=d['prior_sigma1'],
                   help='scale mixture sigma1')
    g.add_argument('--prior-sigma2', type=float, default=d['prior_sigma2'],
                   help='scale mixture sigma2 (default e^-6)')
    g.add_argument('--posterior-init-scale', type=_scale, default=d['posterior_init_scale'],
                   help='initial posterior stddev sigma_0 of every weight, or LOW,HIGH: each '
                        "weight's rho uniform between softplus^-1 of the two (chosen on "
                        'validation: python scripts/reproduce.py defaults)')
    g.add_argument('--posterior-init-mean', default=d['posterior_init_mean'],
                   help='initial kernel means: glorot_uniform (as tf.layers), he_normal or '
                        'lecun_normal')
    g.add_argument('--noise-prior', default=d['noise_prior'],
                   help='regression: none (maximum-likelihood noise scale) or gamma (a '
                        'Gamma(shape, rate) prior on the noise precision, as PBP)')
    g.add_argument('--noise-prior-shape', type=float, default=d['noise_prior_shape'])
    g.add_argument('--noise-prior-rate', type=float, default=d['noise_prior_rate'])
    g.add_argument('--init-from', default=d['init_from'],
                   help='MOPED: start the posterior means at this deterministic checkpoint\'s '
                        'weights (model/fc1/kernel for model/fc1/kernel_loc; the getter-built '
                        'lstm by its own names) and sigma at --moped-delta |w|')
    g.add_argument('--moped-delta', type=float, default=d['moped_delta'],
                   help='MOPED: initial sigma relative to |w|')
    g = p.add_argument_group('objective')
    g.add_argument('--kl-scheme', default=d['kl_scheme'],
                   help='per_example (mean NLL + KL/N), per_batch (sum NLL + KL/M) or blundell '
                        '(sum NLL + pi_i KL)')
    g.add_argument('--kl-weight', type=float, default=d['kl_weight'],
                   help='beta multiplying the KL (tempering)')
    g.add_argument('--warmup-steps', type=int, default=d['warmup_steps'],
                   help='ramp beta linearly from 0 over this many steps')
    g.add_argument('--train-samples', type=int, default=d['train_samples'],
                   help='weight samples averaged per training step')
    g = p.add_argument_group('training')
    g.add_argument('--epochs', type=int, default=d['epochs'])
    g.add_argument('--batch-size', type=int, default=d['batch_size'])
    g.add_argument('--learning-rate', type=float, default=d['learning_rate'],
                   help='step size of the optimizer')
    g.add_argument('--optimizer', default=d['optimizer'],
                   help='adam, sgd (plain gradient descent, as in Blundell et al. 2015) or '
                        'momentum')
    g.add_argument('--lr-schedule', default=d['lr_schedule'],
                   help='constant; step (times --lr-decay-factor at each of --lr-decay-epochs); '
                        'cosine (from the rate down to --lr-decay-factor times it over --epochs). '
                        'A function of the global step, so --resume continues it exactly')
    g.add_argument('--lr-decay-epochs', type=_float_list, default=d['lr_decay_epochs'],
                   help='epochs at which --lr-schedule step decays, e.g. 300 or 200,300')
    g.add_argument('--lr-decay-factor', type=float, default=d['lr_decay_factor'],
                   help='step: factor at each decay; cosine: the final fraction of the rate')
    g.add_argument('--lr-warmup-epochs', type=float, default=d['lr_warmup_epochs'],
                   help='linear warm-up of the rate from 0 over this many epochs (0: none)')
    g.add_argument('--momentum', type=float, default=d['momentum'],
                   help='momentum coefficient of --optimizer momentum, in [0, 1)')
    g.add_argument('--seed', type=int, default=d['seed'], help='makes CPU runs repeatable')
    g.add_argument('--device', default=d['device'], help='cpu, gpu or auto')
    g.add_argument('--threads', type=int, default=d['threads'],
                   help='TensorFlow intra/inter-op threads (0: TensorFlow decides)')
    g.add_argument('--max-seconds', type=float, default=d['max_seconds'],
                   help='stop training after this wall time, checkpoint and evaluate (0: no limit)')
    g = p.add_argument_group('evaluation')
    g.add_argument('--eval-samples', type=int, default=d['eval_samples'],
                   help='K weight samples of the predictive (one sess.run per test batch)')
    g.add_argument('--eval-estimator', default=d['eval_estimator'],
                   help='estimator of the predictive: auto (local_reparameterization for mlp, '
                        'exact per example and cheapest; the training estimator otherwise) or '
                        'one of the estimators')
    g.add_argument('--no-test-eval', dest='evaluate_test', action='store_false',
                   help='score only the validation split at the end and leave the test split '
                        'unseen (for choosing hyperparameters)')
    g.add_argument('--eval-batch-size', type=int, default=d['eval_batch_size'])
    g = p.add_argument_group('output')
    g.add_argument('--output-dir', default=d['output_dir'])
    g.add_argument('--checkpoint-every', type=int, default=d['checkpoint_every'],
                   help='steps between checkpoints (0: once per epoch); always at the end')
    g.add_argument('--keep-checkpoints', type=int, default=d['keep_checkpoints'])
    g.add_argument('--summary-every', type=int, default=d['summary_every'],
                   help='steps between TensorBoard summaries')
    g.add_argument('--diagnostics-every', type=int, default=d['diagnostics_every'],
                   help='every N steps (and at the last), log and summarise per-layer KL '
                        'diagnostics: parameters, KL, KL/param, mean sigma, |mu|/sigma, and the '
                        'gradient norms of the scaled KL and of the NLL (0: off)')
    g.add_argument('--resume', action='store_true',
                   help='continue the run in --output-dir from its latest checkpoint')
    g.add_argument('--progress', default=d['progress'],
                   help='progress bar: auto (on a terminal), always or never')
    g = p.add_argument_group(
        'distributed', 'train on a TensorFlow cluster (between-graph replication: variables on '
        'the parameter servers, worker 0 is the chief). The cluster comes from these flags or '
        'from the TF_CONFIG environment variable; without either the job runs in one process.')
    g.add_argument('--cluster', default=None,
                   help='JSON of the cluster, e.g. \'{"ps": ["127.0.0.1:2222"], "worker": '
                        '["127.0.0.1:2223", "127.0.0.1:2224"]}\' (overrides TF_CONFIG)')
    g.add_argument('--job-name', default=None, help='ps or worker (with --cluster)')
    g.add_argument('--task-index', type=int, default=None,
                   help='index of this task in its job (with --cluster)')
    g.add_argument('--sync-replicas', action='store_true',
                   help='synchronous training: each update applies the mean gradient of all '
                        'workers (SyncReplicasOptimizer); default asynchronous')
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    from tfbnn import errors
    from tfbnn.training import Interrupted, train
    from tfbnn._compat import script_setup
    script_setup()
    config = vars(args)
    cluster_flags = [config.pop(k) for k in ('cluster', 'job_name', 'task_index')]
    try:
        from tfbnn.training import cluster as cluster_lib
        cluster = cluster_lib.resolve(*cluster_flags, log=print)
        if cluster is None:
            train(config)
        else:
            from tfbnn.training.distributed import run_task
            run_task(config, cluster)
    except errors.TrainingDivergedError as err:
        sys.stderr.write('tfbnn-train: error: %s\n' % err)
        return EXIT_DIVERGED
    except errors.TfbnnError as err:
        sys.stderr.write('tfbnn-train: error: %s\n' % err)
        return EXIT_USER_ERROR
    except Interrupted as err:
        sys.stderr.write('tfbnn-train: %s\n' % err)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:  # before the loop (loading) or after it (evaluation)
        sys.stderr.write('tfbnn-train: interrupted outside the training loop; the checkpoints '
                         'already saved are intact\n')
        return EXIT_INTERRUPTED
    return 0


if __name__ == '__main__':
    sys.exit(main())
