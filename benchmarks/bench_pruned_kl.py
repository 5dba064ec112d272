#!/usr/bin/env python
"""What leaving pruned weights out of the KL costs a training step.

In a graph where `tfbnn.pruning.allow_retraining` was called, each Bayesian
layer computes its KL through `tfbnn.internal.pruned_kl.kept_kl`: a
`tf.cond` on "is any rho -inf?" that runs the prior on all weights when none
is pruned, on the kept ones otherwise. Elsewhere (the default) the layer
calls the prior directly. This script builds, in one process, the MNIST
784-400-400-10 network's SGD step three ways: the default (the reference),
with retraining allowed and nothing pruned, and with retraining allowed and
95% of the weights pruned (plus `freeze_pruned`). The configurations are
timed in interleaved rounds and the best round of each is kept, so a noisy
neighbour slows all alike; it prints examples/s and the ratios.

  scripts/run.sh python benchmarks/bench_pruned_kl.py                 # full
  scripts/run.sh python benchmarks/bench_pruned_kl.py --steps 5 --rounds 1   # smoke
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np  # noqa: E402

import tfbnn  # noqa: E402  (imports TensorFlow quietly)
from tfbnn import pruning  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

BATCH = 128
N_TRAIN = 60000
REFERENCE = 'default graph (the prior called directly)'


def _build(prior_name, allow, prune):
    """(graph, session, train op) of one configuration."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(0)
        rng = np.random.RandomState(0)
        x = tf.constant(rng.rand(BATCH, 784).astype(np.float32))
        y = tf.constant(rng.randint(0, 10, BATCH))
        prior = (tfbnn.priors.scale_mixture(0.75, 1.0, np.exp(-7.0)) if prior_name == 'mixture'
                 else tfbnn.priors.normal())
        if allow:
            pruning.allow_retraining()
        h = x
        for i, units in enumerate((400, 400)):
            h = tfbnn.layers.dense(h, units, activation=tf.nn.relu, prior=prior,
                                   estimator='local_reparameterization', name='fc%d' % i,
                                   posterior_init_scale=0.02)
        logits = tfbnn.layers.dense(h, 10, prior=prior, name='out',
                                    estimator='local_reparameterization',
                                    posterior_init_scale=0.02)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=logits)) + tfbnn.losses.kl_divergence() / N_TRAIN
        opt = tf.train.GradientDescentOptimizer(0.01)
        grads = opt.compute_gradients(loss)
        if prune:
            grads = pruning.freeze_pruned(grads)
        step = opt.apply_gradients(grads)
        cfg = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
        sess = tf.Session(graph=graph, config=cfg)
        sess.run(tf.global_variables_initializer())
        if prune:
            pruning.prune_by_snr(sess, 0.95)
    return graph, sess, step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=100, help='steps timed per round')
    parser.add_argument('--rounds', type=int, default=5, help='interleaved rounds (best kept)')
    args = parser.parse_args(argv)
    if min(args.steps, args.rounds) < 1:
        parser.error('--steps and --rounds must be >= 1, got %d and %d' % (args.steps, args.rounds))
    configs = []
    for prior in ('normal', 'mixture'):
        configs += [('%s prior, %s' % (prior, REFERENCE), prior, False, False),
                    ('%s prior, retraining allowed, nothing pruned' % prior, prior, True, False),
                    ('%s prior, retraining allowed, 95%% pruned' % prior, prior, True, True)]
    built = [(name, _build(prior, allow, prune)) for name, prior, allow, prune in configs]
    best = {name: float('inf') for name, _ in built}
    for _ in range(args.rounds):
        for name, (_, sess, step) in built:
            sess.run(step)  # warm
            start = time.time()
            for _ in range(args.steps):
                sess.run(step)
            best[name] = min(best[name], time.time() - start)
    print('%-62s %12s %10s' % ('configuration (784-400-400-10, batch 128, 1 thread)',
                               'examples/s', 'vs ref'))
    for prior in ('normal', 'mixture'):
        ref = best['%s prior, %s' % (prior, REFERENCE)]
        for name, _ in built:
            if name.startswith(prior):
                print('%-62s %12.0f %10.3f' % (name, args.steps * BATCH / best[name],
                                              ref / best[name]))
    for _, (_, sess, _) in built:
        sess.close()


if __name__ == '__main__':
    main()
