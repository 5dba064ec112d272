#!/usr/bin/env python
"""Examples/s of the training job on 1, 2 and 4 local workers (1 ps, synchronous),
beside the plain single-process job, on the built-in digits and on MNIST.

  bash scripts/run.sh python benchmarks/bench_distributed.py [--mnist-dir ../shared/data/mnist]

Each configuration runs about --steps global steps; examples/s is the job's
metrics.json count (the chief's, for all workers, on a cluster), from the end of
its first step to the end of its last, the same way for the single process, so
process start-up, graph set-up and evaluation are not counted. Scaling
efficiency is throughput(W) / (W x throughput(1 worker)). A benchmark, not a
test: it prints numbers.
"""
import argparse
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
sys.path.insert(0, ROOT)
# The training processes run `python -m tfbnn.cli.train`: they import this checkout too.
os.environ['PYTHONPATH'] = os.pathsep.join(filter(None, [ROOT, os.environ.get('PYTHONPATH')]))

from tfbnn.training.launch import TRAIN_MODULE, LocalCluster  # noqa: E402


def _metrics(out):
    with open(os.path.join(out, 'metrics.json')) as f:
        return json.load(f)


def _flags(dataset, data_dir, batch, workers, steps, n_train, out):
    epochs = max(1, int(math.ceil(steps / math.ceil(n_train / float(batch * workers)))))
    flags = ['--output-dir', out, '--batch-size', str(batch), '--epochs', str(epochs),
             '--eval-samples', '2', '--progress', 'never', '--device', 'cpu',
             '--checkpoint-every', '100000', '--summary-every', '100000']
    if dataset == 'mnist':
        flags += ['--dataset', 'mnist', '--data-dir', data_dir, '--hidden', '400,400']
    return flags


def main():
    p = argparse.ArgumentParser(description=' '.join(__doc__.split('\n\n')[0].split()))
    p.add_argument('--mnist-dir', default=os.path.join(os.path.dirname(__file__), '..', '..',
                                                       'shared', 'data', 'mnist'))
    p.add_argument('--no-mnist', action='store_true')
    p.add_argument('--workers', default='1,2,4', help='comma-separated worker counts')
    p.add_argument('--steps', type=int, default=200, help='global steps per configuration')
    p.add_argument('--batch-size', type=int, default=128, help='B per worker')
    args = p.parse_args()
    try:
        counts = [int(v) for v in args.workers.split(',')]
    except ValueError:
        counts = [0]
    if min(counts) < 1:
        p.error('--workers must be positive integers separated by commas, got %r' % args.workers)
    if args.steps < 2 or args.batch_size < 1:
        p.error('--steps must be at least 2 (examples/s is counted after the first step) and '
                '--batch-size at least 1, got %d and %d' % (args.steps, args.batch_size))
    if 1 not in counts:
        p.error('--workers must include 1: scaling efficiency is measured against 1 worker')
    counts = [1] + [w for w in counts if w != 1]
    sets = [('digits', None, 1437)]
    if not args.no_mnist:
        if os.path.isdir(args.mnist_dir):
            sets.append(('mnist', args.mnist_dir, 60000))
        else:
            print('MNIST skipped: no folder %s (--mnist-dir)' % args.mnist_dir)
    rows, failed = [], None
    tmp = tempfile.mkdtemp(prefix='bench_distributed_')
    try:
        _bench(args, sets, counts, tmp, rows)
    except SystemExit as err:  # a failed run: the rows measured before it still print
        failed = err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if rows:
        _print_table(rows)
    if failed is not None:
        raise failed


def _print_table(rows):
    print('\n| data | configuration | global batch | examples/s | scaling efficiency | '
          'vs single process |')
    print('|---|---|---:|---:|---:|---:|')
    for name, conf, g, eps, eff, rel in rows:
        print('| %s | %s | %d | %.0f | %s | %.2fx |' % (name, conf, g, eps,
                                                      '-' if eff is None else '%.2f' % eff, rel))


def _bench(args, sets, counts, tmp, rows):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    for name, data_dir, n in sets:
        out = os.path.join(tmp, '%s-single' % name)
        flags = _flags(name, data_dir, args.batch_size, 1, args.steps, n, out)
        done = subprocess.run([sys.executable, '-m', TRAIN_MODULE] + flags, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              universal_newlines=True)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or ['(nothing on stderr)']
            raise SystemExit('the single-process run on %s failed (status %d): %s'
                             % (name, done.returncode, lines[-1]))
        single = _metrics(out)['examples_per_second']
        rows.append((name, 'single process (no cluster)', args.batch_size, single, None, 1.0))
        base = None  # the 1-worker throughput (counts starts with 1)
        for w in counts:
            out = os.path.join(tmp, '%s-w%d' % (name, w))
            flags = _flags(name, data_dir, args.batch_size, w, args.steps, n, out)
            log = io.StringIO()
            status = LocalCluster(w, flags, sync=True, stream=log).run(timeout=900)
            if status != 0:
                sys.stdout.write(log.getvalue())
                raise SystemExit('the %d-worker run on %s failed (status %d)' % (w, name, status))
            eps = _metrics(out)['examples_per_second']
            if w == 1:
                base = eps
            rows.append((name, '1 ps + %d worker%s, sync' % (w, 's' if w > 1 else ''),
                         w * args.batch_size, eps, eps / (w * base), eps / single))
            print('%s W=%d: %.0f examples/s' % (name, w, eps))


if __name__ == '__main__':
    main()
