"""tfbnn-reproduce: reproduce Blundell et al. (2015) on MNIST and the UCI
regression benchmark with the training job, choosing hyperparameters on
validation data only, and write docs/RESULTS.md's tables.

Exit status: 0 done; 2 a user error (one line on stderr); 130 interrupted.
"""
import os
import signal
import sys

from tfbnn.cli._reproduce_args import MNIST_DATA, MODEL_SUFFIXES, SHARED_DATA, add_experiments
from tfbnn.cli.help_format import DefaultsHelpFormatter, OneLineParser

__all__ = ['build_parser', 'main', 'MODEL_SUFFIXES']


def _config_error(message):
    # tfbnn (and so TensorFlow) is imported only once an experiment runs: --help stays quick.
    from tfbnn.errors import ConfigError
    return ConfigError(message)


def build_parser():
    p = OneLineParser(prog='tfbnn-reproduce', description=__doc__.split('\n\n')[0],
                                formatter_class=DefaultsHelpFormatter)
    p.add_argument('--out', default='runs/reproduce',
                   help='folder for the runs and the JSON records')
    p.add_argument('--verbose', action='store_true', help="print every run's epoch lines")
    add_experiments(p.add_subparsers(dest='experiment'))
    return p


def _mnist(args, log):
    from tfbnn import reproduce
    if args.gaussian_budget_minutes is None:  # --prior normal --budget-minutes M: M is its budget
        args.gaussian_budget_minutes = args.budget_minutes if args.prior == 'normal' else 60.0
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
    # As folders: 'a/' and './a' are a; its runs go to --out/NAME, so never a
    # path that leaves --out (or writes into the data).
    sets = [os.path.normpath(s.strip()) if s.strip() else '' for s in args.sets.split(',')]
    if not all(sets) or len(set(sets)) != len(sets):
        raise _config_error('--sets must name distinct sets, comma-separated (folders of '
                            '--data-dir), got %r' % args.sets)
    outside = [s for s in sets if os.path.isabs(s) or s.split(os.sep)[0] in ('.', '..')]
    if outside:
        raise _config_error('--sets names folders inside --data-dir, got %s: give --data-dir '
                            'the folder that holds it' % outside[0])
    reproduce.reproduce_uci(args.data_dir, os.path.join(args.out, 'uci'), log, sets,
                            args.select_splits,
                            args.verbose, num_splits=args.splits, step_budget=args.step_budget,
                            candidates=candidates)


def _model_record(args):
    """(run directory, its record or None) of `pruning --model/--run-dir`."""
    from tfbnn.reproduce.filing import read_record
    if args.as_record and args.run_dir is None:
        raise _config_error('--as-record files a --run-dir run\'s record as the --model '
                            'record\'s: give --run-dir, or leave out --as-record')
    if args.run_dir is not None:
        return args.run_dir, None
    path = os.path.join(args.out, 'mnist', 'mnist_scale_mixture%s.json'
                        % MODEL_SUFFIXES[args.model])
    if not os.path.exists(path):
        raise _config_error('no --run-dir and no %s: run the %s experiment first'
                            % (path, args.model))
    record = read_record(path, ('run_dir', 'metrics'), 'run the %s experiment' % args.model)
    return record['run_dir'], record


def _pruning(args, log):
    from tfbnn.reproduce.pruning import reproduce_pruning
    run_dir, _ = _model_record(args)
    folder, stem = _record_place(args, 'pruning' + MODEL_SUFFIXES[args.model])
    stem += '' if args.checkpoint == 'best' else '_' + args.checkpoint
    reproduce_pruning(run_dir, os.path.join(folder, stem + '.json'), log,
                      plot_path=os.path.join(folder, stem + '.png'), checkpoint=args.checkpoint)


def _record_place(args, stem, probe_stem=None):
    """(folder, file stem) of a pruning record: <out>/pruning/<stem> for a
    model an experiment chose (a table's record) or --as-record,
    <out>/probes/<probe_stem or stem>_<run> for --run-dir (a probe: `report`
    never files it as the table's)."""
    if args.run_dir is not None and not args.as_record:
        folder = os.path.join(args.out, 'probes')
        stem = '%s_%s' % (probe_stem or stem,
                          os.path.basename(os.path.normpath(os.path.abspath(args.run_dir))))
    else:
        folder = os.path.join(args.out, 'pruning')
    os.makedirs(folder, exist_ok=True)
    return folder, stem


def _pruning_retrain(args, log):
    from tfbnn.reproduce.pruning_retrain import (check_fractions, record_name,
                                                 reproduce_pruning_retrain)
    _check_budget_and_threads(args)
    fractions = tuple(_numbers('--fractions', args.fractions))
    check_fractions(fractions, '--fractions')
    run_dir, record = _model_record(args)
    if record is None:  # --run-dir: the reference is that run's own metrics.json
        from tfbnn.internal.jsonio import read_json
        from tfbnn.training.rundir import METRICS
        metrics = read_json(os.path.join(run_dir, METRICS))
        if metrics is None:
            raise _config_error('%s has no %s: a finished run is needed' % (run_dir, METRICS))
    else:
        metrics = record['metrics']
    table_stem = record_name(args.schedule, args.rate, args.epochs,
                             MODEL_SUFFIXES[args.model])[:-len('.json')]
    # A probe's record is named as the hand-filed ones: retrain_..._<run>.json.
    folder, stem = _record_place(args, table_stem, probe_stem=table_stem[len('pruning_'):])
    reproduce_pruning_retrain(
        run_dir, metrics, os.path.join(folder, stem + '.json'), log, fractions=fractions,
        epochs=args.epochs, schedule=args.schedule, rate=args.rate, data_dir=args.data_dir,
        threads=args.threads, budget_minutes=args.budget_minutes, verbose=args.verbose)


def _mnist_ood(args, log):
    from tfbnn.reproduce.ood import reproduce_ood
    name = 'ood' if not args.run else os.path.join(
        'ood_runs', os.path.basename(os.path.abspath(args.run)))
    reproduce_ood(args.data_dir or (None if args.run else MNIST_DATA),
                  os.path.join(args.out, name), log, args.ood_data_dir, args.epochs, args.verbose,
                  args.run)


def _defaults(args, log):
    from tfbnn.reproduce.defaults import choose_defaults
    choose_defaults(os.path.join(args.out, 'defaults'), log, verbose=args.verbose)


def _report(args, log):
    from tfbnn.reproduce import report
    if not os.path.isfile(args.doc):  # before anything is copied
        raise _config_error('--doc %s: no such file (report rewrites the tables of an existing '
                            'RESULTS.md: run it from the repository\'s top folder, or give '
                            '--doc and --results-dir)' % args.doc)
    if not args.from_docs:
        collected = report.collect_records(args.out, args.results_dir, args.replace)
        if not collected:
            raise _config_error('no records in %s: run an experiment first' % args.out)
        log('copied %d records from %s into %s' % (len(collected), args.out, args.results_dir))
    # Every record in --results-dir, the ones just copied and those of
    # experiments not run in --out this time, so no table loses its numbers.
    records = report.load_records(args.results_dir)
    if not records:
        raise _config_error('no records in %s: run an experiment first' % args.results_dir)
    try:
        report.update_results(args.doc, records)
    except (KeyError, TypeError) as err:
        raise _config_error('cannot render the tables of %s: a record in %s lacks %s (made by '
                            'another version of tfbnn, or edited?)' % (args.doc, args.results_dir,
                                                                       err))
    for path in report.write_figures(records, args.results_dir):
        log('wrote %s' % path)
    log('rewrote the tables of %s from %d records' % (args.doc, len(records)))


_EXPERIMENTS = {'mnist': _mnist, 'mnist-longer': _mnist_longer, 'mnist-scales': _mnist_scales,
                'mnist-scale-adam': _mnist_scale_adam, 'mnist-mean-init': _mnist_mean_init,
                'mnist-refit': _mnist_refit, 'uci': _uci,
                'pruning': _pruning, 'pruning-retrain': _pruning_retrain,
                'mnist-ood': _mnist_ood, 'defaults': _defaults, 'report': _report}


def _missing_default_data(args, message):
    """`message`, or for an error about a --data-dir left at a default that
    is absent here (a clone on another machine), what to give instead."""
    path = getattr(args, 'data_dir', None)
    if path is None and args.experiment == 'mnist-ood' and not args.run:
        path = MNIST_DATA
    if path in SHARED_DATA and message.startswith(path) and not os.path.isdir(path):
        return ('no folder %s, the default --data-dir (the layout of the machines these '
                'results were made on): give --data-dir FOLDER with %s'
                % (path, SHARED_DATA[path]))
    return message


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.experiment is None:  # one line, as the parser's own errors
        sys.stderr.write('tfbnn-reproduce: error: choose an experiment: %s (see tfbnn-reproduce '
                         '--help)\n' % ', '.join(sorted(_EXPERIMENTS)))
        return 2
    from tfbnn import errors
    from tfbnn.internal.compat import script_setup
    from tfbnn.training import Interrupted, rundir
    script_setup()
    from tfbnn.cli.train import sigterm_interrupts
    previous = sigterm_interrupts()  # between runs and in evaluation, as Ctrl-C
    try:
        if os.path.exists(args.out) and not os.path.isdir(args.out):
            raise errors.ConfigError('--out %s is a file: give a folder for the runs and '
                                     'records' % args.out)
        os.makedirs(args.out, exist_ok=True)
        log = rundir.RunLog(args.out, name='reproduce.log', timestamps=True)
        _EXPERIMENTS[args.experiment](args, log)
    except errors.TfbnnError as err:
        # (a run's advice, --resume, is the job's: this command resumes by itself)
        message = _missing_default_data(args, str(err))
        if message.endswith('then --resume'):
            message = message[:-len('--resume')] + 'run the same command again to continue'
        sys.stderr.write('tfbnn-reproduce: error: %s\n' % message)
        return 2
    except OSError as err:  # --out not a folder, read-only, full, ...
        from tfbnn.internal.jsonio import os_error_line
        from tfbnn.training.checkpoints import file_fault_remedy
        remedy = file_fault_remedy(err)
        if remedy is None:
            raise
        sys.stderr.write('tfbnn-reproduce: error: %s; %s, then run the same command again to '
                         'continue (the runs and records already finished in --out are kept)\n'
                         % (os_error_line(err), remedy))
        return 2
    except (KeyboardInterrupt, Interrupted) as err:
        # (the job's own advice, --resume, is not this command's: it resumes by itself)
        where = '' if isinstance(err, KeyboardInterrupt) else ' at step %d (saved %s)' % (
            err.step, err.checkpoint)
        sys.stderr.write('tfbnn-reproduce: interrupted%s; finished runs and their records are '
                         'kept in %s; run the same command again to continue\n'
                         % (where, args.out))
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == '__main__':
    sys.exit(main())
