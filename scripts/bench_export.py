#!/usr/bin/env python
"""Serving cost of exported graphs in each runtime that consumers use.

Trains a short run on the built-in digits (or uses --run-dir), exports its
posterior-mean and sampled graphs in every format this stack can write
(graphdef, tflite, onnx), freezes a plain deterministic network of identical
shape holding the same weights in the same formats, and times each in each
runtime that is installed: TensorFlow (tf.import_graph_def), the TFLite
interpreter, onnxruntime and OpenCV dnn. Prints file size, latency (batch 1)
and throughput (batch 1000), best of interleaved rounds, with each runtime's
ratio to its own plain network.

  TFBNN_STACK=tf2 scripts/run.sh python scripts/bench_export.py [--hidden 400,400]
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
    """Freezes a plain deterministic MLP (tf.nn) holding the run's posterior means;
    returns its GraphDef (also written to `path`)."""
    reader = tf.train.NewCheckpointReader(run.checkpoint)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None] + list(run.meta['input_shape']), name='input')
        h = tf.reshape(x, [-1, int(np.prod(run.meta['input_shape']))])
        names = ['fc%d' % (i + 1) for i in range(len(run.config['hidden']))] + ['output']
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


class TensorFlowGraph(object):
    """A frozen .pb loaded with tf.import_graph_def into its own session."""

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

    def __call__(self, batch):
        return self.sess.run(self.y, {self.x: batch})


class TFLiteGraph(object):
    def __init__(self, path, output):
        self.interp = tf.lite.Interpreter(model_path=path)
        self.ins = {d['name']: d['index'] for d in self.interp.get_input_details()}
        self.out = [d['index'] for d in self.interp.get_output_details() if d['name'] == output][0]
        self.shape = None

    def __call__(self, batch):
        if self.shape != batch.shape:
            self.interp.resize_tensor_input(self.ins['input'], list(batch.shape))
            self.interp.allocate_tensors()
            self.shape = batch.shape
        self.interp.set_tensor(self.ins['input'], batch)
        self.interp.invoke()
        return self.interp.get_tensor(self.out)


class OnnxGraph(object):
    def __init__(self, path, output):
        import onnxruntime as ort
        self.sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
        self.output = output

    def __call__(self, batch):
        return self.sess.run([self.output], {'input': batch})[0]


class OpenCVGraph(object):
    def __init__(self, path, output):
        import cv2
        self.net = cv2.dnn.readNetFromTensorflow(path)

    def __call__(self, batch):
        self.net.setInput(batch.transpose(0, 3, 1, 2) if batch.ndim == 4 else batch)
        return self.net.forward()


RUNTIMES = [('tensorflow', 'graphdef', TensorFlowGraph), ('tflite', 'tflite', TFLiteGraph),
            ('onnxruntime', 'onnx', OnnxGraph), ('opencv dnn', 'graphdef', OpenCVGraph)]


def best_time(fn, batch, repeats):
    for _ in range(3):
        fn(batch)
    start = time.perf_counter()
    for _ in range(repeats):
        fn(batch)
    return (time.perf_counter() - start) / repeats


def _size(path):
    return os.path.getsize(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--run-dir', default=None, help='an existing mlp run (default: train one)')
    parser.add_argument('--hidden', default='400,400')
    parser.add_argument('--samples', type=int, default=10, help='K of the sampled graph')
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args(argv)
    from tfbnn._compat import script_setup
    script_setup()
    from tfbnn import export_formats
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
    formats = ['graphdef', 'tflite']
    try:
        export_formats.check_available(['onnx'], 'mean')
        formats.append('onnx')
    except tfbnn.errors.ConfigError as err:
        print('no onnx: %s' % err)
    export.export_run(run_dir, out, 'mean', log=quiet, formats=tuple(formats))
    sample_formats = tuple(f for f in formats if f != 'tflite' or tfbnn._compat.TF2)
    export.export_run(run_dir, out, 'sample', samples=args.samples, log=quiet,
                      formats=sample_formats)
    plain = deterministic_twin(run, os.path.join(out, 'plain.pb'))
    if 'tflite' in formats:
        export_formats.write_tflite(plain, ['input'], ['mean_probs'], os.path.join(out, 'plain.tflite'))
    if 'onnx' in formats:
        export_formats.write_onnx(plain, ['input'], ['mean_probs'], os.path.join(out, 'plain.onnx'))
    graphs = {}
    for runtime, fmt, cls in RUNTIMES:
        suffix = export_formats.file_name(fmt, 'x')[len('frozen_x'):]
        for graph, path, output in (('plain', 'plain' + suffix, 'mean_probs'),
                                    ('tfbnn mean', 'frozen_mean' + suffix, 'mean_probs'),
                                    ('tfbnn sample K=%d' % args.samples, 'frozen_sample' + suffix,
                                     'probs')):
            path = os.path.join(out, path)
            if runtime == 'opencv dnn' and graph.startswith('tfbnn sample'):
                continue  # OpenCV has no random op and no loop
            if not os.path.exists(path):
                print('skipping %s / %s: no %s file (not convertible on this stack)'
                      % (runtime, graph, fmt))
                continue
            try:
                graphs[(runtime, graph)] = (cls(path, output), _size(path))
            except ImportError as err:
                print('skipping %s: %s' % (runtime, err))
    rng = np.random.RandomState(0)
    shape = list(run.meta['input_shape'])
    one = rng.rand(*([1] + shape)).astype(np.float32)
    many = rng.rand(*([1000] + shape)).astype(np.float32)
    best = {}
    for r in range(args.rounds):
        for key, (fn, _) in graphs.items():
            lat, thr = best_time(fn, one, 200), best_time(fn, many, 20)
            old = best.get(key, (float('inf'), float('inf')))
            best[key] = (min(old[0], lat), min(old[1], thr))
        print('round %d/%d done' % (r + 1, args.rounds), flush=True)
    print('\n%s network on TensorFlow %s; best of %d interleaved rounds' % (
        '-'.join(str(v) for v in [int(np.prod(shape))] + run.config['hidden'] + [10]),
        tf.__version__, args.rounds))
    print('%-12s %-20s %10s %12s %9s %16s %9s' % ('runtime', 'graph', 'bytes', 'batch-1 ms',
                                                 'vs plain', 'batch-1000 ex/s', 'vs plain'))
    for (runtime, graph), (lat, thr) in best.items():
        base = best.get((runtime, 'plain'))
        print('%-12s %-20s %10d %12.3f %9s %16.0f %9s' % (
            runtime, graph, graphs[(runtime, graph)][1], lat * 1e3,
            '%.2fx' % (lat / base[0]) if base else '-', 1000 / thr,
            '%.2fx' % (thr / base[1]) if base else '-'))
    print('\n"vs plain": time relative to the deterministic network of the same shape and '
          'weights in the same runtime (1.00x = as fast).')


if __name__ == '__main__':
    main()
