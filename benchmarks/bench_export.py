#!/usr/bin/env python
"""Serving cost of exported graphs in each runtime that consumers use.

Trains a short run on the built-in digits (or uses --run-dir), exports its
posterior-mean and sampled graphs in every format this stack can write
(graphdef, tflite, onnx), freezes a plain deterministic network of identical
shape holding the same weights in the same formats, and times each in each
runtime that is installed: TensorFlow (tf.import_graph_def), the TFLite
interpreter, onnxruntime and OpenCV dnn; in TensorFlow also the sampled
graph exported with --seed (its K draws run one at a time). Prints file size, latency (batch 1)
and throughput (batch 1000), best of rounds with the graphs interleaved, with
each runtime's ratio to its own plain network. Each runtime runs in a process
of its own that imports no tfbnn (serve_timer.py, beside this file), as a
serving pipeline would, on one thread.

  TFBNN_STACK=tf2 scripts/run.sh python benchmarks/bench_export.py [--hidden 400,400]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np  # noqa: E402

import tfbnn  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402
from tfbnn import export  # noqa: E402
from tfbnn.cli.train import main as train_main  # noqa: E402


def deterministic_twin(run, path):
    """Freezes a plain deterministic MLP (tf.nn) holding the run's posterior means;
    returns its GraphDef (also written to `path`)."""
    reader = tf.train.NewCheckpointReader(run.checkpoint)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None] + list(run.meta['input_shape']), name='input')
        h = tf.reshape(x, [-1, int(np.prod(run.meta['input_shape']))])
        names = ['fc%d' % (i + 1) for i in range(len(run.config.hidden))] + ['output']
        for name in names:
            h = tf.matmul(h, tf.constant(reader.get_tensor('model/%s/kernel_loc' % name)))
            h = h + tf.constant(reader.get_tensor('model/%s/bias_loc' % name))
            h = tf.nn.relu(h) if name != 'output' else h
        out = tf.nn.softmax(h, name='mean_probs')
        frozen = graph.as_graph_def()
    del out
    with open(path, 'wb') as f:
        f.write(frozen.SerializeToString())
    return frozen


# serve_timer.py, the process that times one runtime, lives beside this file.
SERVE_TIMER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'serve_timer.py')
# (runtime, the format it reads); SERVE_TIMER times each.
RUNTIMES = [('tensorflow', 'graphdef'), ('tflite', 'tflite'), ('onnxruntime', 'onnx'),
            ('opencv', 'graphdef')]


def main(argv=None):
    parser = argparse.ArgumentParser(description=' '.join(__doc__.split('\n\n')[0].split()))
    parser.add_argument('--run-dir', default=None,
                        help='an existing mlp run without --norm (its plain twin, the reference, '
                        'is an MLP of its means; default: train one)')
    parser.add_argument('--hidden', default='400,400')
    parser.add_argument('--samples', type=int, default=10, help='K of the sampled graph')
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args(argv)
    if min(args.samples, args.rounds) < 1:
        parser.error('--samples and --rounds must be >= 1')
    from tfbnn.internal.compat import script_setup
    script_setup()
    from tfbnn import export_formats
    work = tempfile.mkdtemp(prefix='tfbnn_bench_export_')
    try:
        _bench(parser, args, work, export_formats)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _bench(parser, args, work, export_formats):
    run_dir = args.run_dir
    if run_dir is None:
        run_dir = os.path.join(work, 'run')
        print('training a short digits run in %s ...' % run_dir, flush=True)
        assert train_main(['--output-dir', run_dir, '--hidden', args.hidden, '--epochs', '2',
                           '--eval-samples', '2', '--progress', 'never']) == 0
    try:
        run = export.load_run(run_dir)
    except tfbnn.errors.TfbnnError as err:
        parser.error(str(err))
    if run.meta['task'] != 'classification':
        parser.error('--run-dir %s: a %s run; the graphs timed serve class probabilities, so '
                     'give a classifier' % (run_dir, run.meta['task']))
    if run.config.model != 'mlp' or run.config.norm != 'none':
        parser.error('--run-dir %s: model %s, --norm %s; the reference twin is a plain MLP '
                     'of the posterior means, so give an mlp run without --norm'
                     % (run_dir, run.config.model, run.config.norm))
    out = os.path.join(work, 'export')
    quiet = lambda *a: None  # noqa: E731
    formats = ['graphdef', 'tflite']
    try:
        export_formats.check_available(['onnx'], 'mean')
        formats.append('onnx')
    except tfbnn.errors.ConfigError as err:
        print('no onnx: %s' % err)
    export.export_run(run_dir, out, 'mean', log=quiet, formats=tuple(formats))
    sample_formats = tuple(f for f in formats if f != 'tflite' or tfbnn.internal.compat.TF2)
    export.export_run(run_dir, out, 'sample', samples=args.samples, log=quiet,
                      formats=sample_formats)
    seeded = os.path.join(work, 'export_seeded')  # --seed: its K draws one at a time
    export.export_run(run_dir, seeded, 'sample', samples=args.samples, log=quiet,
                      formats=('graphdef',), seed=0)
    plain = deterministic_twin(run, os.path.join(out, 'plain.pb'))
    if 'tflite' in formats:
        export_formats.write_tflite(plain, ['input'], ['mean_probs'], os.path.join(out, 'plain.tflite'))
    if 'onnx' in formats:
        export_formats.write_onnx(plain, ['input'], ['mean_probs'], os.path.join(out, 'plain.onnx'))
    rows = []
    for runtime, fmt in RUNTIMES:
        suffix = export_formats.file_name(fmt, 'x')[len('frozen_x'):]
        specs = []
        for graph, name, output, k in (('plain', 'plain', 'mean_probs', None),
                                       ('tfbnn mean', 'frozen_mean', 'mean_probs', None),
                                       ('tfbnn sample K=%d' % args.samples, 'frozen_sample',
                                        'probs', args.samples)):
            path = os.path.join(out, name + suffix)
            if runtime == 'opencv' and name == 'frozen_sample':
                continue  # OpenCV has no random op and no loop
            if not os.path.exists(path):
                print('skipping %s / %s: no %s file (not convertible on this stack)'
                      % (runtime, graph, fmt))
                continue
            specs.append((graph, path, output, k))
        if runtime == 'tensorflow':
            specs.append(('tfbnn sample K=%d seed' % args.samples,
                          os.path.join(seeded, 'frozen_sample.pb'), 'probs', args.samples))
        print('timing %s in a process of its own ...' % runtime, flush=True)
        proc = subprocess.run(
            [sys.executable, SERVE_TIMER, runtime, str(args.rounds),
             json.dumps(list(run.meta['input_shape'])), json.dumps(specs)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        if proc.returncode:
            print('skipping %s: %s' % (runtime, proc.stderr.strip().split('\n')[-1]))
            continue
        best = json.loads(proc.stdout.strip().split('\n')[-1])
        for graph, path, _, _ in specs:
            rows.append((runtime, graph, os.path.getsize(path)) + tuple(best[graph]))
    shape = list(run.meta['input_shape'])
    print('\n%s network, exported on TensorFlow %s; best of %d rounds, each runtime in its '
          'own process on one thread' % (
              '-'.join(str(v) for v in [int(np.prod(shape))] + list(run.config.hidden)
                       + [run.meta['num_classes']]),
              tf.__version__, args.rounds))
    print('%-12s %-24s %10s %12s %9s %16s %9s' % ('runtime', 'graph', 'bytes', 'batch-1 ms',
                                                 'vs plain', 'batch-1000 ex/s', 'vs plain'))
    plain = {r[0]: r for r in rows if r[1] == 'plain'}
    for runtime, graph, size, lat, thr in rows:
        base = plain.get(runtime)
        print('%-12s %-24s %10d %12.3f %9s %16.0f %9s' % (
            runtime, graph, size, lat * 1e3, '%.2fx' % (lat / base[3]) if base else '-',
            1000 / thr, '%.2fx' % (thr / base[4]) if base else '-'))
    print('\n"vs plain": time relative to the deterministic network of the same shape and '
          'weights in the same runtime (1.00x = as fast).')


if __name__ == '__main__':
    main()
