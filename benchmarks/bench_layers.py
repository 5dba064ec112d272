#!/usr/bin/env python
"""Training-step speed of tfbnn layers beside tfp.layers 0.8 and a deterministic floor.

Builds, in one process, the same networks with tfbnn, with TensorFlow
Probability 0.8's layers (graph mode, KL from `layer.losses`; tf1 stack only)
and with plain deterministic tf.nn layers (no sampling, no KL: the floor), trains each with Adam on batches
of 128 from a `tf.data` pipeline, and prints examples/s and the ratios. The
configurations are timed in interleaved rounds and the best round of each is
kept, so that a noisy neighbour on a shared machine slows everything alike.

Both libraries use their default prior N(0, 1) with the analytic KL scaled by
1/N, and a point-estimate bias (TFP's default; tfbnn's bayesian_bias=False).

  scripts/run.sh python benchmarks/bench_layers.py            # full
  scripts/run.sh python benchmarks/bench_layers.py --steps 3 --rounds 1   # smoke
  scripts/run.sh python benchmarks/bench_layers.py --stacks tf1,tf2      # both stacks
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np  # noqa: E402

import tfbnn  # noqa: E402  (imports TensorFlow quietly)
from tfbnn.internal import compat  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

FLOOR = 'deterministic (tf.nn)'
N_TRAIN = 60000  # the KL is scaled as for MNIST
BATCH = 128


def _tfp():
    import tensorflow_probability as tfp
    return tfp


def tfp_missing():
    """Why the tfp rows cannot run here (None when TFP 0.8 imports)."""
    try:
        version = _tfp().__version__
    except Exception as err:  # pylint: disable=broad-except
        return 'tensorflow_probability does not import here (%s)' % str(err).split('\n')[0][:120]
    if not version.startswith('0.8'):
        return 'tensorflow_probability %s, not 0.8 (the tfp rows compare with 0.8)' % version
    return None


def _dense(h, units, activation=None):
    """A deterministic dense layer as tf.layers.dense builds it (Glorot-uniform
    kernel, zero bias), in plain tf.nn so that it also runs where Keras 3 made
    tf.compat.v1.layers unavailable."""
    with tf.variable_scope(None, default_name='dense'):
        w = tf.get_variable('kernel', [tf.dimension_value(h.shape[-1]), units],
                            initializer=tf.glorot_uniform_initializer())
        b = tf.get_variable('bias', [units], initializer=tf.zeros_initializer())
        h = tf.matmul(h, w) + b
    return activation(h) if activation else h


def _conv(h, filters, size, padding='valid'):
    with tf.variable_scope(None, default_name='conv2d'):
        w = tf.get_variable('kernel', [size, size, tf.dimension_value(h.shape[-1]), filters],
                            initializer=tf.glorot_uniform_initializer())
        b = tf.get_variable('bias', [filters], initializer=tf.zeros_initializer())
        return tf.nn.relu(tf.nn.conv2d(h, w, [1, 1, 1, 1], padding.upper()) + b)


def _pool(h):
    return tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], 'VALID')


def _flatten(h):
    return tf.reshape(h, [-1, int(np.prod(h.shape.as_list()[1:]))])


def mlp_deterministic(x):
    h = _dense(x, 400, tf.nn.relu)
    h = _dense(h, 400, tf.nn.relu)
    return _dense(h, 10)


def mlp_tfbnn(estimator):
    def build(x):
        h = x
        for units, act in ((400, tf.nn.relu), (400, tf.nn.relu), (10, None)):
            h = tfbnn.layers.dense(h, units, act, estimator=estimator, bayesian_bias=False)
        return h
    return build


def mlp_getter(x):
    """Plain get_variable code made Bayesian by tfbnn.bayesian_scope: kernels
    sampled by reparameterisation, biases deterministic (bayesian_bias=False)."""
    h = x
    with tfbnn.bayesian_scope('getter_mlp'):
        for i, (units, act) in enumerate(((400, tf.nn.relu), (400, tf.nn.relu), (10, None))):
            w = tf.get_variable('w%d' % i, [tf.dimension_value(h.shape[-1]), units])
            b = tf.get_variable('b%d' % i, [units], initializer=tf.zeros_initializer())
            h = tf.matmul(h, w) + b
            h = act(h) if act else h
    return h


def mlp_tfp(layer_name):
    def build(x):
        cls = getattr(_tfp().layers, layer_name)
        h = x
        for units, act in ((400, tf.nn.relu), (400, tf.nn.relu), (10, None)):
            layer = cls(units, activation=act)
            h = layer(h)
            tf.add_to_collection('bench_kl', tf.add_n(layer.losses))
        return h
    return build


def lenet_deterministic(x):
    h = tf.reshape(x, [-1, 28, 28, 1])
    h = _pool(_conv(h, 6, 5, padding='same'))
    h = _pool(_conv(h, 16, 5))
    h = _flatten(h)
    h = _dense(h, 120, tf.nn.relu)
    h = _dense(h, 84, tf.nn.relu)
    return _dense(h, 10)


def lenet_tfbnn(x):
    kw = dict(estimator='flipout', bayesian_bias=False)
    h = tf.reshape(x, [-1, 28, 28, 1])
    h = _pool(tfbnn.layers.conv2d(h, 6, 5, padding='same', activation=tf.nn.relu, **kw))
    h = _pool(tfbnn.layers.conv2d(h, 16, 5, activation=tf.nn.relu, **kw))
    h = _flatten(h)
    h = tfbnn.layers.dense(h, 120, tf.nn.relu, **kw)
    h = tfbnn.layers.dense(h, 84, tf.nn.relu, **kw)
    return tfbnn.layers.dense(h, 10, **kw)


def lenet_tfp(x):
    tfpl = _tfp().layers

    def apply(layer, h):
        out = layer(h)
        tf.add_to_collection('bench_kl', tf.add_n(layer.losses))
        return out
    h = tf.reshape(x, [-1, 28, 28, 1])
    h = _pool(apply(tfpl.Convolution2DFlipout(6, 5, padding='same', activation=tf.nn.relu), h))
    h = _pool(apply(tfpl.Convolution2DFlipout(16, 5, activation=tf.nn.relu), h))
    h = _flatten(h)
    h = apply(tfpl.DenseFlipout(120, activation=tf.nn.relu), h)
    h = apply(tfpl.DenseFlipout(84, activation=tf.nn.relu), h)
    return apply(tfpl.DenseFlipout(10), h)


# (group, name, builder, kl source) -- group rows are compared with each other.
CONFIGS = [
    ('mlp', FLOOR, mlp_deterministic, None),
    ('mlp', 'tfbnn reparameterization', mlp_tfbnn('reparameterization'), 'tfbnn'),
    ('mlp', 'tfp DenseReparameterization', mlp_tfp('DenseReparameterization'), 'tfp'),
    ('mlp', 'tfbnn custom_getter', mlp_getter, 'tfbnn'),
    ('mlp', 'tfbnn flipout', mlp_tfbnn('flipout'), 'tfbnn'),
    ('mlp', 'tfp DenseFlipout', mlp_tfp('DenseFlipout'), 'tfp'),
    ('mlp', 'tfbnn local_reparameterization', mlp_tfbnn('local_reparameterization'), 'tfbnn'),
    ('mlp', 'tfp DenseLocalReparameterization', mlp_tfp('DenseLocalReparameterization'), 'tfp'),
    ('lenet5', FLOOR, lenet_deterministic, None),
    ('lenet5', 'tfbnn flipout', lenet_tfbnn, 'tfbnn'),
    ('lenet5', 'tfp Convolution2DFlipout', lenet_tfp, 'tfp'),
]

TWINS = {
    ('mlp', 'tfbnn reparameterization'): 'tfp DenseReparameterization',
    ('mlp', 'tfbnn custom_getter'): 'tfp DenseReparameterization',
    ('mlp', 'tfbnn flipout'): 'tfp DenseFlipout',
    ('mlp', 'tfbnn local_reparameterization'): 'tfp DenseLocalReparameterization',
    ('lenet5', 'tfbnn flipout'): 'tfp Convolution2DFlipout',
}


class Bench(object):
    """One configuration in its own graph and session, ready to step."""

    def __init__(self, builder, kl_source, threads, seed=0):
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.set_random_seed(seed)
            rng = np.random.RandomState(seed)
            images = rng.rand(4096, 784).astype(np.float32)
            labels = rng.randint(0, 10, size=4096).astype(np.int64)
            ds = (tf.data.Dataset.from_tensor_slices((images, labels)).repeat()
                  .batch(BATCH, drop_remainder=True).prefetch(2))
            x, y = tf.data.make_one_shot_iterator(ds).get_next()
            logits = builder(x)
            nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
            if kl_source == 'tfbnn':
                loss = tfbnn.losses.elbo(nll, N_TRAIN).loss
            elif kl_source == 'tfp':
                loss = tf.reduce_mean(nll) + tf.add_n(tf.get_collection('bench_kl')) / N_TRAIN
            else:
                loss = tf.reduce_mean(nll)
            self.train = tf.train.AdamOptimizer(1e-3).minimize(loss)
            config = tf.ConfigProto(intra_op_parallelism_threads=threads,
                                    inter_op_parallelism_threads=threads)
            self.sess = tf.Session(config=config)
            self.sess.run(tf.global_variables_initializer())

    def examples_per_second(self, steps):
        start = time.perf_counter()
        for _ in range(steps):
            self.sess.run(self.train)
        return steps * BATCH / (time.perf_counter() - start)

    def timeline(self, path):
        """Writes a Chrome trace of one step (open in chrome://tracing)."""
        from tensorflow.python.client import timeline  # pylint: disable=g-import-not-at-top
        meta = tf.RunMetadata()
        self.sess.run(self.train, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                      run_metadata=meta)
        with open(path, 'w') as f:
            f.write(timeline.Timeline(meta.step_stats).generate_chrome_trace_format())


def measure(args):
    """Times the selected configurations; returns {'group/name': examples per s}."""
    configs = [c for c in CONFIGS if not args.only or args.only in '%s %s' % (c[0], c[1])]
    why = tfp_missing() if any(kl == 'tfp' for _, _, _, kl in configs) else None
    if why:
        print('skipping the tfp rows: %s' % why, flush=True)
        configs = [c for c in configs if c[3] != 'tfp']
    print('building %d configurations (batch %d, Adam, KL / %d) on TensorFlow %s ...'
          % (len(configs), BATCH, N_TRAIN, tf.__version__), flush=True)
    benches = [Bench(builder, kl, args.threads) for _, _, builder, kl in configs]
    for b in benches:
        b.examples_per_second(args.warmup)
    best = [0.0] * len(benches)
    for r in range(args.rounds):
        for i, b in enumerate(benches):
            best[i] = max(best[i], b.examples_per_second(args.steps))
        print('round %d/%d done' % (r + 1, args.rounds), flush=True)
    if args.timeline_dir:
        os.makedirs(args.timeline_dir, exist_ok=True)
        for (group, name, _, _), b in zip(configs, benches):
            b.timeline(os.path.join(args.timeline_dir, '%s-%s.json' % (group, name.replace(' ', '_'))))
    return {'%s/%s' % (g, n): best[i] for i, (g, n, _, _) in enumerate(configs)}


def print_table(rate):
    print('\n%-8s %-34s %12s %16s %14s' % ('net', 'configuration', 'examples/s',
                                           'step vs floor', 'tfbnn / tfp'))
    for group, name, _, _ in CONFIGS:
        ex = rate.get('%s/%s' % (group, name))
        if ex is None:
            continue
        floor = rate.get('%s/%s' % (group, FLOOR))
        vs_floor = '%.2fx' % (floor / ex) if floor else '-'
        twin = rate.get('%s/%s' % (group, TWINS.get((group, name))))
        speedup = '%.2fx' % (ex / twin) if name.startswith('tfbnn') and twin else '-'
        print('%-8s %-34s %12.0f %16s %14s' % (group, name, ex, vs_floor, speedup))
    getter, dense = rate.get('mlp/tfbnn custom_getter'), rate.get('mlp/tfbnn reparameterization')
    if getter and dense:
        print('\ncustom_getter step time / tfbnn.layers.dense(reparameterization) step time: '
              '%.2fx' % (dense / getter))
    print('\n"step vs floor": step time / deterministic step time (lower is better); '
          '"tfbnn / tfp": speed ratio (higher is better).')


def compare_stacks(stacks, argv):
    """Runs this script on each stack's environment, then prints them side by
    side; returns {stack: {'tensorflow': version, 'rates': ...}}."""
    import subprocess
    import tempfile
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
    results = {}
    for stack in stacks:
        python = os.path.join(root, compat.STACK_VENVS[stack], 'bin', 'python')
        if not os.path.exists(python):
            sys.exit('bench_layers: the %s stack is not set up: run '
                     'TFBNN_STACK=%s bash scripts/run.sh setup' % (stack, stack))
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, 'rates.json')
            print('== %s (%s)' % (stack, python), flush=True)
            proc = subprocess.run([python, os.path.abspath(__file__)] + argv + ['--json', out])
            if proc.returncode:
                sys.exit('bench_layers: the %s run failed (exit %d)' % (stack, proc.returncode))
            with open(out) as f:
                results[stack] = json.load(f)
    a, b = stacks
    print('\n%-8s %-34s %11s %9s %11s %9s %9s' % ('net', 'configuration', a + ' ex/s', 'vs floor',
                                                b + ' ex/s', 'vs floor', '%s/%s' % (b, a)))
    for group, name, _, _ in CONFIGS:
        key, floor = '%s/%s' % (group, name), '%s/%s' % (group, FLOOR)
        cells = []
        for stack in stacks:
            r = results[stack]['rates']
            cells += (['%11.0f' % r[key], ('%8.2fx' % (r[floor] / r[key])) if floor in r else '-']
                      if key in r else ['%11s' % '-', '%9s' % '-'])
        ra, rb = results[a]['rates'].get(key), results[b]['rates'].get(key)
        if ra is None and rb is None:
            continue
        ratio = '%8.2fx' % (rb / ra) if ra and rb else '-'
        print('%-8s %-34s %s %s %s %s %9s' % ((group, name) + tuple(cells) + (ratio,)))
    print('\n"vs floor": step time / the same stack\'s deterministic step time (lower is better); '
          '"%s/%s": speed ratio between the stacks (higher: %s faster). TensorFlow %s and %s.'
          % (b, a, b, results[a]['tensorflow'], results[b]['tensorflow']))
    return results


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=60, help='timed steps per round')
    parser.add_argument('--rounds', type=int, default=5, help='interleaved rounds (best kept)')
    parser.add_argument('--warmup', type=int, default=10, help='untimed steps first')
    parser.add_argument('--threads', type=int, default=0, help='TF thread pools (0: TF default)')
    parser.add_argument('--only', default=None, help="substring filter on 'group name'")
    parser.add_argument('--timeline-dir', default=None,
                        help='write one Chrome trace per configuration here')
    parser.add_argument('--stacks', default=None,
                        help='tf1,tf2: run on both stacks\' environments, print side by side')
    parser.add_argument('--json', default=None, help='also write the rates to this file')
    args = parser.parse_args(argv)
    if min(args.steps, args.rounds) < 1 or args.warmup < 0 or args.threads < 0:
        parser.error('--steps and --rounds must be >= 1, --warmup and --threads >= 0')
    names = ['%s %s' % (c[0], c[1]) for c in CONFIGS]
    if args.only and not any(args.only in n for n in names):
        parser.error('--only %r matches no configuration; they are: %s'
                     % (args.only, '; '.join(names)))
    folder = os.path.dirname(os.path.abspath(args.json)) if args.json else None
    if folder and not (os.path.isdir(folder) and os.access(folder, os.W_OK)):
        parser.error('--json %s: its folder %s is missing or not writable' % (args.json, folder))
    if args.stacks:
        stacks = args.stacks.split(',')
        if sorted(stacks) != ['tf1', 'tf2']:
            parser.error('--stacks must name the two stacks, e.g. tf1,tf2; got %r' % args.stacks)
        rest, skip = [], False
        for a in argv:  # each stack's run gets the options but --stacks and --json
            if not skip and not a.startswith(('--stacks', '--json')):
                rest.append(a)
            skip = a in ('--stacks', '--json')
        results = compare_stacks(stacks, rest)
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(results, f)
        return
    from tfbnn.internal.compat import script_setup
    script_setup()
    rate = measure(args)
    print_table(rate)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'tensorflow': tf.__version__, 'rates': rate}, f)


if __name__ == '__main__':
    main()
