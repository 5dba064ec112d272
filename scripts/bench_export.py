#!/usr/bin/env python
"""Serving cost of exported graphs: the frozen posterior-mean graph against a
plain deterministic network of the same shape, and the sampled graph per K.

Trains a short run on the built-in digits (or uses --run-dir), exports it with
tfbnn.export, freezes a `tf.layers` network of identical shape with the same
weights, loads every .pb with `tf.import_graph_def` the way a serving pipeline
would, and prints latency (batch 1) and throughput (batch 1000), best of
several interleaved rounds, with the ratios.

  scripts/run.sh python scripts/bench_export.py [--hidden 400,400]
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np  # noqa: E402

import tfbnn  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402
from tfbnn import export  # noqa: E402
from tfbnn.cli.train import main as train_main  # noqa: E402


def deterministic_twin(run, path):
    """Freezes a plain tf.layers MLP holding the run's posterior means."""
    reader = tf.train.NewCheckpointReader(run.checkpoint)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None] + list(run.meta['input_shape']), name='input')
        h = tf.layers.flatten(x)
        names = ['fc%d' % (i + 1) for i in range(len(run.config['hidden']))] + ['output']
        for i, name in enumerate(names):
            kernel = reader.get_tensor('model/%s/kernel_loc' % name)
            bias = reader.get_tensor('model/%s/bias_loc' % name)
            h = tf.layers.dense(h, kernel.shape[1], tf.nn.relu if name != 'output' else None,
                                kernel_initializer=tf.constant_initializer(kernel),
                                bias_initializer=tf.constant_initializer(bias))
        out = tf.nn.softmax(h, name='mean_probs')
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            frozen = tf.graph_util.convert_variables_to_constants(
                sess, graph.as_graph_def(), [out.op.name])
    with open(path, 'wb') as f:
        f.write(frozen.SerializeToString())
    return path


class Served(object):
    """A frozen .pb loaded into its own session."""

    def __init__(self, path, output):
        gd = tf.GraphDef()
        with open(path, 'rb') as f:
            gd.ParseFromString(f.read())
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.import_graph_def(gd, name='')
        self.sess = tf.Session(graph=self.graph)
        self.x = self.graph.get_tensor_by_name('input:0')
        self.y = self.graph.get_tensor_by_name(output + ':0')

    def time(self, batch, repeats):
        for _ in range(3):
            self.sess.run(self.y, {self.x: batch})
        start = time.perf_counter()
        for _ in range(repeats):
            self.sess.run(self.y, {self.x: batch})
        return (time.perf_counter() - start) / repeats


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--run-dir', default=None, help='an existing mlp run (default: train one)')
    parser.add_argument('--hidden', default='400,400')
    parser.add_argument('--samples', default='1,10,50', help='K values of the sampled graph')
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args(argv)
    from tfbnn._compat import script_setup
    script_setup()
    work = tempfile.mkdtemp(prefix='tfbnn_bench_export_')
    run_dir = args.run_dir
    if run_dir is None:
        run_dir = os.path.join(work, 'run')
        print('training a short digits run in %s ...' % run_dir, flush=True)
        assert train_main(['--output-dir', run_dir, '--hidden', args.hidden, '--epochs', '2',
                           '--eval-samples', '2', '--progress', 'never']) == 0
    run = export.load_run(run_dir)
    out = os.path.join(work, 'export')
    quiet = lambda *a: None  # noqa: E731
    export.export_run(run_dir, out, 'mean', saved_model=False, log=quiet)
    graphs = {'deterministic tf.layers': Served(deterministic_twin(run, os.path.join(
        work, 'plain.pb')), 'mean_probs'),
              'tfbnn frozen mean': Served(os.path.join(out, 'frozen_mean.pb'), 'mean_probs')}
    for k in [int(v) for v in args.samples.split(',')]:
        export.export_run(run_dir, os.path.join(out, 'k%d' % k), 'sample', samples=k,
                          saved_model=False, log=quiet)
        graphs['tfbnn frozen sample K=%d' % k] = Served(
            os.path.join(out, 'k%d' % k, 'frozen_sample.pb'), 'probs')
    rng = np.random.RandomState(0)
    shape = list(run.meta['input_shape'])
    one = rng.rand(*([1] + shape)).astype(np.float32)
    many = rng.rand(*([1000] + shape)).astype(np.float32)
    best = {}
    for _ in range(args.rounds):
        for name, g in graphs.items():
            lat, thr = g.time(one, 200), g.time(many, 20)
            old = best.get(name, (float('inf'), float('inf')))
            best[name] = (min(old[0], lat), min(old[1], thr))
    base_lat, base_thr = best['deterministic tf.layers']
    print('\n%s network, %s; best of %d rounds' % (
        '-'.join(str(v) for v in [int(np.prod(shape))] + run.config['hidden'] + [10]),
        'frozen .pb via tf.import_graph_def', args.rounds))
    print('%-28s %14s %12s %18s %12s' % ('graph', 'batch-1 ms', 'vs plain', 'batch-1000 ex/s',
                                          'vs plain'))
    for name, (lat, thr) in best.items():
        print('%-28s %14.3f %11.3gx %18.0f %11.3gx' % (name, lat * 1e3, lat / base_lat,
                                                        1000 / thr, base_thr / thr))
    print('\n"vs plain": time relative to the deterministic network (1.00x = as fast).')


if __name__ == '__main__':
    main()
