"""tfbnn-reproduce: reproduce Blundell et al. (2015) on MNIST and the UCI
regression benchmark with the training job, choosing hyperparameters on
validation data only, and write docs/RESULTS.md's tables.

Exit status: 0 done; 2 a user error (one line on stderr); 130 interrupted.
"""
import argparse
import os
import sys

__all__ = ['build_parser', 'main', 'MODEL_SUFFIXES']

# The models `pruning --model` prunes: each record mnist_scale_mixture<suffix>.json
# (and the pruning outputs) carries a suffix.
MODEL_SUFFIXES = {'mnist': '', 'mnist-scales': '_scales', 'mnist-scale-adam': '_scale_adam',
                  'mnist-mean-init': '_mean_init', 'mnist-refit': '_refit'}


def _config_error(message):
    # tfbnn (and so TensorFlow) is imported only once an experiment runs: --help stays quick.
    from tfbnn.errors import ConfigError
    return ConfigError(message)


def _sub(sub, name, text):
    return sub.add_parser(name, help=text, formatter_class=argparse.ArgumentDefaultsHelpFormatter)


def _add_mnist(sub):
    m = _sub(sub, 'mnist', 'Blundell Table 1: 2x400, scale mixture and Gaussian prior')
    m.add_argument('--data-dir', default='../shared/data/mnist')
    m.add_argument('--prior', default='both', choices=('scale_mixture', 'normal', 'both'))
    m.add_argument('--budget-minutes', type=float, default=60.0,
                   help='the most training wall time of the chosen model (the schedule is '
                        '--epochs long; the budget cuts it short on a slower machine)')
    m.add_argument('--gaussian-budget-minutes', type=float, default=60.0,
                   help='the same for the Gaussian-prior model')
    m.add_argument('--epochs', type=int, default=240,
                   help="the chosen model's schedule: SGD 0.1, x0.1 at 3/4 of the epochs")
    m.add_argument('--select-epochs', type=int, default=20,
                   help='each candidate trains the schedule compressed to this many epochs')
    m.add_argument('--threads', type=int, default=0,
                   help='TensorFlow threads per run (1: two reproductions share 2 cores)')
    m.add_argument('--quick', action='store_true',
                   help='fewer candidates (a smoke run; use small budgets with it)')
    e = _sub(sub, 'mnist-longer', "train the scale-mixture choice of mnist on a longer schedule "
                                  "(towards the paper's 1.36%%)")
    e.add_argument('--budget-minutes', type=float, default=150.0,
                   help='the most training wall time of the longer run')
    e.add_argument('--epochs', type=int, default=600, help='the longer schedule, decay at 3/4')
    e.add_argument('--threads', type=int, default=0, help='TensorFlow threads')
    s = _sub(sub, 'mnist-scales', 'the scale-mixture choice of mnist with the posterior scales\' '
                                  'SGD steps multiplied by M (chosen on validation)')
    s.add_argument('--multipliers', default='1,10,30',
                   help='comma-separated values of M (--scale-lr-multiplier) to compare')
    s.add_argument('--data-dir', default=None,
                   help='the MNIST IDX folder (default: the one the mnist record names)')
    s.add_argument('--budget-minutes', type=float, default=60.0,
                   help="the most training wall time of the chosen M's run")
    s.add_argument('--epochs', type=int, default=240, help='its schedule, decay at 3/4')
    s.add_argument('--select-epochs', type=int, default=20,
                   help='each M trains the schedule compressed to this many epochs')
    s.add_argument('--threads', type=int, default=0, help='TensorFlow threads')
    a = _sub(sub, 'mnist-scale-adam', "the scale-mixture choice of mnist with its posterior "
                                      "scales trained by their own Adam (--scale-optimizer adam)")
    a.add_argument('--scale-learning-rates', default='1e-3,1e-4',
                   help="comma-separated Adam rates of the scales to compare, each on the full "
                        "schedule (they decay with the means' rate)")
    _add_full_run_flags(a)
    m = _sub(sub, 'mnist-mean-init', 'the scale-mixture choice of mnist with its posterior '
                                     'means started at U(-A, A) (chosen on validation)')
    m.add_argument('--limits', default='0.03,0.01',
                   help='comma-separated values of A to compare with the record\'s Glorot '
                        'means, each on the full schedule')
    m.add_argument('--train-only', action='store_true',
                   help='train the runs of --limits and stop before the choice (several '
                        'processes, each with its own --limits, can share the work; run again '
                        'with all of them to choose)')
    _add_full_run_flags(m)
    f = _sub(sub, 'mnist-refit', 'the choice of mnist refit on its training and validation '
                                 'images for as many examples as its kept epoch saw')
    f.add_argument('--prior', default='both', choices=('scale_mixture', 'normal', 'both'),
                   help='which record of mnist to refit')
    _add_full_run_flags(f, epochs=False)


def _add_full_run_flags(parser, epochs=True):
    """The flags of an experiment whose every run trains the full schedule
    (`epochs`: its length is a flag, not the record's)."""
    parser.add_argument('--data-dir', default=None,
                        help='the MNIST IDX folder (default: the one the mnist record names)')
    parser.add_argument('--budget-minutes', type=float, default=60.0,
                        help='the most training wall time of each run')
    if epochs:
        parser.add_argument('--epochs', type=int, default=240,
                            help='their schedule, decay at 3/4')
    parser.add_argument('--threads', type=int, default=0, help='TensorFlow threads')


def _add_model_flags(parser):
    parser.add_argument('--run-dir', default=None,
                        help='the run to prune (default: the chosen run of the --model record '
                             'in --out)')
    parser.add_argument('--model', default='mnist', choices=tuple(MODEL_SUFFIXES),
                        help='which record names the run to prune: '
                             'mnist_scale_mixture<suffix>.json, the suffix by model: %s'
                             % ', '.join('%s %s' % (k, v or '(none)')
                                         for k, v in MODEL_SUFFIXES.items()))


def _add_others(sub):
    u = _sub(sub, 'uci', 'the UCI benchmark: 4 sets x 20 splits')
    u.add_argument('--data-dir', default='../shared/data/uci',
                   help='folder with one folder per set, each in the UCI split format '
                        '(data.txt, index_features.txt, index_target.txt, '
                        'index_train_K.txt, index_test_K.txt)')
    u.add_argument('--sets', default='bostonHousing,concrete,energy,yacht',
                   help='comma-separated set folders under --data-dir (any names)')
    u.add_argument('--select-splits', type=int, default=10,
                   help='splits whose held-out 20%% of training rows choose the hyperparameters')
    u.add_argument('--splits', type=int, default=20,
                   help='test runs on splits 0..N-1 (the protocol: 20; fewer for a shorter run)')
    u.add_argument('--step-budget', type=int, default=24000,
                   help="optimiser steps of a set's longest selection run (its epochs follow "
                        'from its size: at least 40, at most 4000); several processes may '
                        'share --out, each with its own --sets, and their sets land in one '
                        'uci.json')
    u.add_argument('--prior-stddevs', default=None,
                   help='comma-separated weight priors: stddevs of N(0, stddev^2), or eb for '
                        'N(0, s^2) with s fitted to each weight tensor (empirical Bayes); each '
                        '(step, batch, noise) of the grid is tried with each, chosen on '
                        'validation like the rest (default: the grid as it is, all N(0, 1))')
    r = _sub(sub, 'pruning', 'Blundell Table 2: prune the MNIST scale-mixture model by '
                             'signal-to-noise ratio')
    _add_model_flags(r)
    r.add_argument('--checkpoint', default='best', choices=('best', 'latest'),
                   help='prune the early-stopping weights, or those at the end of training')
    t = _sub(sub, 'pruning-retrain', 'prune the MNIST scale-mixture model by SNR, then train '
                                     'the kept weights on (a second route beside Table 2)')
    _add_model_flags(t)
    t.add_argument('--fractions', default='0.95,0.98',
                   help='comma-separated fractions of kernel weights removed, each in (0, 1)')
    t.add_argument('--epochs', type=int, default=20,
                   help='retraining epochs of each pruning (a value other than 20 is in the '
                        'record\'s name: _e<epochs>)')
    t.add_argument('--rate', default='last', choices=('last', 'rewind'),
                   help="the retraining's rate: the run's last, held constant, or the run's own "
                        'schedule compressed into --epochs (record ..._rewind...)')
    t.add_argument('--schedule', default='one-shot', choices=('one-shot', 'iterative'),
                   help='prune each fraction at once, or in one chain through 50%%, 75%%, '
                        '90%% and the fractions, retraining after each (record '
                        'pruning_retrain_iterative<suffix>.json)')
    t.add_argument('--data-dir', default=None,
                   help="the data folder (default: the one the run's config.json names)")
    t.add_argument('--budget-minutes', type=float, default=30.0,
                   help='the most training wall time of each retraining')
    t.add_argument('--threads', type=int, default=0, help='TensorFlow threads')
    o = _sub(sub, 'mnist-ood', "the job's 2x400 MNIST network after 10 epochs: AUROC against "
                               'out-of-distribution image sets')
    o.add_argument('--data-dir', default='../shared/data/mnist')
    o.add_argument('--ood-data-dir', action='append', default=[],
                   help='a folder of IDX files of another image set (repeatable), scored '
                        'beside the built-in sets')
    o.add_argument('--epochs', type=int, default=10)
    o.add_argument('--run', help='score this finished MNIST run of the job instead of training '
                                 'one (record in --out/ood_runs/NAME)')
    _sub(sub, 'defaults', "how the main job's sigma_0, step size, epochs and KL weight were "
                          'chosen: a grid scored on validation NLL and OOD AUROC of the '
                          'built-in digits')
    d = _sub(sub, 'report', 'copy the records into docs/results and rewrite the tables and '
                            'figures of docs/RESULTS.md')
    d.add_argument('--doc', default='docs/RESULTS.md')
    d.add_argument('--results-dir', default='docs/results')
    d.add_argument('--from-docs', action='store_true',
                   help='only re-render from the records in --results-dir (copy nothing from '
                        '--out)')


def build_parser():
    p = argparse.ArgumentParser(prog='tfbnn-reproduce', description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--out', default='runs/reproduce',
                   help='folder for the runs and the JSON records')
    p.add_argument('--verbose', action='store_true', help="print every run's epoch lines")
    sub = p.add_subparsers(dest='experiment')
    _add_mnist(sub)
    _add_others(sub)
    return p


def _mnist(args, log):
    from tfbnn import reproduce
    for value in (args.budget_minutes, args.gaussian_budget_minutes):
        if not value > 0:
            raise _config_error('budgets must be positive minutes, got %r' % value)
    reproduce.mnist.check_schedule_epochs(('--select-epochs', args.select_epochs),
                                          ('--epochs', args.epochs))
    if args.threads < 0:
        raise _config_error('--threads must be >= 0, got %d' % args.threads)
    priors = ('scale_mixture', 'normal') if args.prior == 'both' else (args.prior,)
    for prior in priors:
        budget = args.budget_minutes if prior == 'scale_mixture' else \
            args.gaussian_budget_minutes
        reproduce.reproduce_mnist(args.data_dir, os.path.join(args.out, 'mnist'), prior, budget,
                                  args.epochs, args.select_epochs, log, args.quick, args.verbose,
                                  args.threads)


def _check_budget_and_threads(args):
    if not args.budget_minutes > 0 or args.threads < 0:
        raise _config_error('--budget-minutes must be positive and --threads >= 0')


def _numbers(flag, text):
    """The floats of a comma-separated option."""
    try:
        return [float(v) for v in text.split(',') if v.strip()]
    except ValueError:
        raise _config_error('%s must be comma-separated numbers, got %r' % (flag, text))


def _mnist_longer(args, log):
    from tfbnn.reproduce.mnist import extend_mnist
    _check_budget_and_threads(args)
    extend_mnist(os.path.join(args.out, 'mnist'), args.budget_minutes, args.epochs, log,
                 verbose=args.verbose, threads=args.threads)


def _mnist_scales(args, log):
    from tfbnn.reproduce.mnist_scales import reproduce_mnist_scales
    multipliers = _numbers('--multipliers', args.multipliers)
    _check_budget_and_threads(args)
    reproduce_mnist_scales(os.path.join(args.out, 'mnist'), multipliers, args.budget_minutes,
                           args.epochs, args.select_epochs, log, data_dir=args.data_dir,
                           verbose=args.verbose, threads=args.threads)


def _mnist_scale_adam(args, log):
    from tfbnn.reproduce.mnist_scale_adam import reproduce_mnist_scale_adam
    _check_budget_and_threads(args)
    rates = _numbers('--scale-learning-rates', args.scale_learning_rates)
    reproduce_mnist_scale_adam(os.path.join(args.out, 'mnist'), rates,
                               args.budget_minutes, args.epochs, log, data_dir=args.data_dir,
                               verbose=args.verbose, threads=args.threads)


def _mnist_mean_init(args, log):
    from tfbnn.reproduce.mnist_mean_init import reproduce_mnist_mean_init
    _check_budget_and_threads(args)
    limits = _numbers('--limits', args.limits)
    reproduce_mnist_mean_init(os.path.join(args.out, 'mnist'), limits, args.budget_minutes,
                              args.epochs, log, data_dir=args.data_dir, verbose=args.verbose,
                              threads=args.threads, train_only=args.train_only)


def _mnist_refit(args, log):
    from tfbnn.reproduce.mnist_refit import reproduce_mnist_refit
    _check_budget_and_threads(args)
    priors = ('scale_mixture', 'normal') if args.prior == 'both' else (args.prior,)
    for prior in priors:
        reproduce_mnist_refit(os.path.join(args.out, 'mnist'), args.budget_minutes, log,
                              prior=prior, data_dir=args.data_dir, verbose=args.verbose,
                              threads=args.threads)


def _uci(args, log):
    from tfbnn import reproduce
    for flag, value in (('--select-splits', args.select_splits), ('--splits', args.splits),
                        ('--step-budget', args.step_budget)):
        if value < 1:
            raise _config_error('%s must be >= 1, got %d' % (flag, value))
    from tfbnn.reproduce.uci import CANDIDATES, with_prior_stddevs
    try:
        candidates = CANDIDATES if args.prior_stddevs is None else with_prior_stddevs(
            CANDIDATES, [s for s in args.prior_stddevs.split(',') if s.strip()])
    except ValueError:
        raise _config_error('--prior-stddevs must be distinct positive numbers or eb, got %r'
                            % args.prior_stddevs)
    reproduce.reproduce_uci(args.data_dir, os.path.join(args.out, 'uci'), log,
                            [s for s in args.sets.split(',') if s], args.select_splits,
                            args.verbose, num_splits=args.splits, step_budget=args.step_budget,
                            candidates=candidates)


def _model_record(args):
    """(run directory, its record or None) of `pruning --model/--run-dir`."""
    from tfbnn.internal.jsonio import read_json
    if args.run_dir is not None:
        return args.run_dir, None
    path = os.path.join(args.out, 'mnist', 'mnist_scale_mixture%s.json'
                        % MODEL_SUFFIXES[args.model])
    record = read_json(path)
    if record is None:
        raise _config_error('no --run-dir and no %s: run the %s experiment first'
                            % (path, args.model))
    return record['run_dir'], record


def _pruning(args, log):
    from tfbnn.reproduce.pruning import reproduce_pruning
    run_dir, _ = _model_record(args)
    folder = os.path.join(args.out, 'pruning')
    os.makedirs(folder, exist_ok=True)
    suffix = MODEL_SUFFIXES[args.model] + ('' if args.checkpoint == 'best'
                                           else '_' + args.checkpoint)
    reproduce_pruning(run_dir, os.path.join(folder, 'pruning%s.json' % suffix), log,
                      plot_path=os.path.join(folder, 'pruning%s.png' % suffix),
                      checkpoint=args.checkpoint)


def _pruning_retrain(args, log):
    from tfbnn.reproduce.pruning_retrain import record_name, reproduce_pruning_retrain
    _check_budget_and_threads(args)
    fractions = _numbers('--fractions', args.fractions)
    run_dir, record = _model_record(args)
    if record is None:  # --run-dir: the reference is that run's own metrics.json
        from tfbnn.internal.jsonio import read_json
        from tfbnn.training.rundir import METRICS
        metrics = read_json(os.path.join(run_dir, METRICS))
        if metrics is None:
            raise _config_error('%s has no %s: a finished run is needed' % (run_dir, METRICS))
    else:
        metrics = record['metrics']
    folder = os.path.join(args.out, 'pruning')
    os.makedirs(folder, exist_ok=True)
    name = record_name(args.schedule, args.rate, args.epochs, MODEL_SUFFIXES[args.model])
    reproduce_pruning_retrain(
        run_dir, metrics, os.path.join(folder, name), log, fractions=tuple(fractions),
        epochs=args.epochs, schedule=args.schedule, rate=args.rate, data_dir=args.data_dir,
        threads=args.threads, budget_minutes=args.budget_minutes, verbose=args.verbose)


def _mnist_ood(args, log):
    from tfbnn.reproduce.ood import reproduce_ood
    out = os.path.join(args.out, 'ood_runs', os.path.basename(os.path.normpath(args.run))) \
        if args.run else os.path.join(args.out, 'ood')
    reproduce_ood(args.data_dir, out, log, args.ood_data_dir, args.epochs, args.verbose, args.run)


def _defaults(args, log):
    from tfbnn.reproduce.defaults import choose_defaults
    choose_defaults(os.path.join(args.out, 'defaults'), log, verbose=args.verbose)


def _report(args, log):
    from tfbnn.reproduce import report
    if not args.from_docs:
        collected = report.collect_records(args.out, args.results_dir)
        if not collected:
            raise _config_error('no records in %s: run an experiment first' % args.out)
        log('copied %d records from %s into %s' % (len(collected), args.out, args.results_dir))
    # Every record in --results-dir, the ones just copied and those of
    # experiments not run in --out this time, so no table loses its numbers.
    records = report.load_records(args.results_dir)
    if not records:
        raise _config_error('no records in %s: run an experiment first' % args.results_dir)
    report.update_results(args.doc, records)
    for path in report.write_figures(records, args.results_dir):
        log('wrote %s' % path)
    log('rewrote the tables of %s from %d records' % (args.doc, len(records)))


_EXPERIMENTS = {'mnist': _mnist, 'mnist-longer': _mnist_longer, 'mnist-scales': _mnist_scales,
                'mnist-scale-adam': _mnist_scale_adam, 'mnist-mean-init': _mnist_mean_init,
                'mnist-refit': _mnist_refit, 'uci': _uci,
                'pruning': _pruning, 'pruning-retrain': _pruning_retrain,
                'mnist-ood': _mnist_ood, 'defaults': _defaults, 'report': _report}


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.experiment is None:
        build_parser().print_usage(sys.stderr)
        sys.stderr.write('tfbnn-reproduce: error: choose an experiment: %s\n'
                         % ', '.join(sorted(_EXPERIMENTS)))
        return 2
    from tfbnn import errors
    from tfbnn.internal.compat import script_setup
    from tfbnn.training import Interrupted, rundir
    script_setup()
    os.makedirs(args.out, exist_ok=True)
    log = rundir.RunLog(args.out, name='reproduce.log', timestamps=True)
    try:
        _EXPERIMENTS[args.experiment](args, log)
    except errors.TfbnnError as err:
        sys.stderr.write('tfbnn-reproduce: error: %s\n' % err)
        return 2
    except (KeyboardInterrupt, Interrupted) as err:
        # (the job's own advice, --resume, is not this command's: it resumes by itself)
        where = '' if isinstance(err, KeyboardInterrupt) else ' at step %d (saved %s)' % (
            err.step, err.checkpoint)
        sys.stderr.write('tfbnn-reproduce: interrupted%s; finished runs and their records are '
                         'kept in %s; run the same command again to continue\n'
                         % (where, args.out))
        return 130
    return 0


if __name__ == '__main__':
    sys.exit(main())
