#!/usr/bin/env python
"""Cost of a K-sample posterior predictive: one sess.run per batch vs K of them.

For a 784-400-400-10 Bayesian MLP and each estimator, times the K = 50
predictive mean over the 10,000 MNIST test images (or random images of the
same shape when the files are absent; the cost does not depend on the
values) computed four ways, in one process:

  loop    K sess.run calls per test batch, each drawing one weight sample
          (what the TFP example does), averaged in numpy;
  tiled   one sess.run per batch: the batch tiled K times, `num_samples=K`;
  shared  one sess.run per batch: `num_samples=K, shared_input=True`, so the
          first layer's sample-independent work is done once;
  auto    what `tfbnn.predictive` and the training job do for an MLP whatever
          it was trained with: the shared path with local reparameterisation,
          which gives every test example exactly the predictive distribution
          of drawing whole weight matrices (see tfbnn.predictive.eval_estimator).

  scripts/run.sh python benchmarks/bench_predictive.py [--data-dir ../shared/data/mnist]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np  # noqa: E402

import tfbnn  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402
from tfbnn import models  # noqa: E402

DEFAULT_MNIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared',
                             'data', 'mnist')


def test_images(data_dir, limit):
    """The first `limit` MNIST test images of `data_dir`; None: those of
    DEFAULT_MNIST, or random images of that shape if it is absent."""
    if data_dir is None and not os.path.isdir(DEFAULT_MNIST):
        x = np.random.RandomState(0).rand(10000, 28, 28, 1).astype(np.float32)
        return x[:limit], 'random images of MNIST shape (no --data-dir, none at %s)' % (
            os.path.normpath(DEFAULT_MNIST))
    ds = tfbnn.data.load_dataset('mnist', data_dir or DEFAULT_MNIST)  # DataError: one line
    return ds.x_test[:limit], 'MNIST test images'


class Predictive(object):
    """One estimator's three predictive graphs over shared variables."""

    def __init__(self, estimator, k, input_shape, threads, seed=0):
        self.k = k
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.set_random_seed(seed)
            spec = models.ModelSpec('mlp', (400, 400), estimator, tfbnn.priors.normal(),
                                    'none', 0.05, 'classification', 10)
            self.x = tf.placeholder(tf.float32, [None] + list(input_shape))
            single = models.build_network(spec, self.x)
            self.single = tf.nn.softmax(single.outputs)
            tiled = models.build_network(spec, tfbnn.predictive.tile_samples(self.x, k),
                                         num_samples=k)
            self.tiled = tf.reduce_mean(tf.nn.softmax(tiled.outputs), 0)
            shared = models.build_network(spec, self.x, num_samples=k, shared_input=True)
            self.shared = tf.reduce_mean(tf.nn.softmax(shared.outputs), 0)
            self.sess = tf.Session(config=tf.ConfigProto(
                intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads))
            self.sess.run(tf.global_variables_initializer())

    def run(self, how, images, batch):
        start = time.perf_counter()
        out = []
        for i in range(0, images.shape[0], batch):
            feed = {self.x: images[i:i + batch]}
            if how == 'loop':
                out.append(np.mean([self.sess.run(self.single, feed) for _ in range(self.k)], 0))
            else:
                out.append(self.sess.run(getattr(self, how), feed))
        return time.perf_counter() - start, np.concatenate(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-dir', default=None,
                        help='MNIST IDX files (default: ../shared/data/mnist beside the '
                        'checkout, else random images)')
    parser.add_argument('--threads', type=int, default=0,
                        help='TensorFlow thread pools (0: its default)')
    parser.add_argument('--samples', type=int, default=50)
    parser.add_argument('--batch-size', type=int, default=500)
    parser.add_argument('--limit', type=int, default=10000, help='test images used')
    parser.add_argument('--rounds', type=int, default=2, help='best of this many')
    args = parser.parse_args(argv)
    if min(args.samples, args.batch_size, args.limit, args.rounds) < 1 or args.threads < 0:
        parser.error('--samples, --batch-size, --limit and --rounds must be >= 1, --threads >= 0')
    try:
        images, source = test_images(args.data_dir, args.limit)
    except tfbnn.errors.DataError as err:
        parser.error(str(err))
    print('K = %d predictive over %d %s, batch %d, 784-400-400-10 MLP'
          % (args.samples, images.shape[0], source, args.batch_size), flush=True)
    best = {}
    for estimator in tfbnn.layers.ESTIMATORS:
        p = Predictive(estimator, args.samples, images.shape[1:], args.threads)
        p.run('shared', images[:args.batch_size], args.batch_size)  # warm up every path
        p.run('tiled', images[:args.batch_size], args.batch_size)
        for _ in range(args.rounds):
            for how in ('loop', 'tiled', 'shared'):
                seconds, _ = p.run(how, images, args.batch_size)
                key = (estimator, how)
                best[key] = min(best.get(key, float('inf')), seconds)
        p.sess.close()
        print('timed %s' % estimator, flush=True)
    auto = best[('local_reparameterization', 'shared')]
    print('\n%-26s %8s %8s %8s %8s %13s %13s %13s' % (
        'trained with', 'loop s', 'tiled s', 'shared s', 'auto s', 'loop/tiled', 'loop/shared',
        'loop/auto'))
    for e in tfbnn.layers.ESTIMATORS:
        loop = best[(e, 'loop')]
        print('%-26s %8.2f %8.2f %8.2f %8.2f %12.2fx %12.2fx %12.2fx'
              % (e, loop, best[(e, 'tiled')], best[(e, 'shared')], auto,
                 loop / best[(e, 'tiled')], loop / best[(e, 'shared')], loop / auto))
    print('\nratios > 1: the one-pass predictive is that many times faster than the loop of '
          'K sess.run calls with the same estimator.')


if __name__ == '__main__':
    main()
