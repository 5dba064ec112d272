"""The subcommands of tfbnn-reproduce and their flags (argparse only: no
TensorFlow is imported, so --help stays quick).
"""
from tfbnn.cli.help_format import DefaultsHelpFormatter

__all__ = ['MNIST_DATA', 'MODEL_SUFFIXES', 'SHARED_DATA', 'UCI_DATA', 'add_experiments']

# The models `pruning --model` prunes: each record mnist_scale_mixture<suffix>.json
# (and the pruning outputs) carries a suffix.
MODEL_SUFFIXES = {'mnist': '', 'mnist-scales': '_scales', 'mnist-scale-adam': '_scale_adam',
                  'mnist-mean-init': '_mean_init', 'mnist-refit': '_refit'}

# The data folders of the developers' machines, the defaults of --data-dir, and
# what each holds (said when a clone on another machine lacks them).
MNIST_DATA = '../shared/data/mnist'
UCI_DATA = '../shared/data/uci'
SHARED_DATA = {MNIST_DATA: 'the MNIST IDX files', UCI_DATA: 'one folder per UCI set'}


def _sub(sub, name, text):
    return sub.add_parser(name, help=text, formatter_class=DefaultsHelpFormatter)


def _add_mnist(sub):
    m = _sub(sub, 'mnist', 'Blundell Table 1: 2x400, scale mixture and Gaussian prior')
    m.add_argument('--data-dir', default=MNIST_DATA)
    m.add_argument('--prior', default='both', choices=('scale_mixture', 'normal', 'both'))
    m.add_argument('--budget-minutes', type=float, default=60.0,
                   help='the most training wall time of the chosen model (the schedule is '
                        '--epochs long; the budget cuts it short on a slower machine)')
    m.add_argument('--gaussian-budget-minutes', type=float, default=None,
                   help='the same for the Gaussian-prior model (default: --budget-minutes '
                        'with --prior normal, else 60)')
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
                             'in --out); its record is a probe, in --out/probes/')
    parser.add_argument('--as-record', action='store_true',
                        help='file a --run-dir run\'s record as the --model record\'s (in '
                             '--out/pruning/, which report files): for a run made as that '
                             'experiment makes its choice')
    parser.add_argument('--model', default='mnist', choices=tuple(MODEL_SUFFIXES),
                        help='which record names the run to prune: '
                             'mnist_scale_mixture<suffix>.json, the suffix by model: %s'
                             % ', '.join('%s %s' % (k, v or '(none)')
                                         for k, v in MODEL_SUFFIXES.items()))


def _add_others(sub):
    u = _sub(sub, 'uci', 'the UCI benchmark: 4 sets x 20 splits')
    u.add_argument('--data-dir', default=UCI_DATA,
                   help='folder with one folder per set, each in the UCI split format '
                        '(data.txt, index_features.txt, index_target.txt, '
                        'index_train_K.txt, index_test_K.txt; optional n_splits.txt, '
                        'n_hidden.txt), at its top or in a data/ folder inside it')
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
    o.add_argument('--data-dir', help="MNIST's folder (default: the --run's, else %s)"
                                      % MNIST_DATA)
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
    d.add_argument('--replace', action='store_true',
                   help='file records whose protocol (data, splits, sets, budget, ...) differs '
                        'from the one in --results-dir they replace (refused without it)')


def add_experiments(sub):
    """Adds every experiment's subparser to `sub` (argparse subparsers)."""
    _add_mnist(sub)
    _add_others(sub)
