#!/usr/bin/env python
"""Times exported graphs in one consumer runtime, as a pipeline that knows
nothing of tfbnn runs them (this file imports no tfbnn). Called by
benchmarks/bench_export.py (beside it), one process per runtime; prints JSON.

  python benchmarks/serve_timer.py RUNTIME ROUNDS SHAPE_JSON GRAPHS_JSON

SHAPE_JSON: one example's shape, e.g. [8, 8, 1]; GRAPHS_JSON: a list of
[name, path, output tensor name, K or null]: K is fed as `num_samples` (a
TFLite input has no default value, so it is always fed where the graph has it).

RUNTIME: tensorflow | tflite | onnxruntime | opencv. Each graph is timed at
batch 1 (200 calls) and batch 1000 (20 calls), the graphs interleaved, the
best of ROUNDS kept.
"""
import json
import sys
import time

import numpy as np

tf = None  # tensorflow.compat.v1, imported for the runtimes that need it
THREADS = 1  # every runtime on one thread: ratios comparable, no thread pools competing


class TensorFlowGraph(object):
    """A frozen .pb loaded with tf.import_graph_def into its own session."""

    def __init__(self, path, output, k):
        gd = tf.GraphDef()
        with open(path, 'rb') as f:
            gd.ParseFromString(f.read())
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.import_graph_def(gd, name='')
        self.sess = tf.Session(graph=self.graph, config=tf.ConfigProto(
            intra_op_parallelism_threads=THREADS, inter_op_parallelism_threads=THREADS))
        self.x = self.graph.get_tensor_by_name('input:0')
        self.y = self.graph.get_tensor_by_name(output + ':0')
        self.feed = {} if k is None else {self.graph.get_tensor_by_name('num_samples:0'): k}

    def __call__(self, batch):
        feed = dict(self.feed)
        feed[self.x] = batch
        return self.sess.run(self.y, feed)


class TFLiteGraph(object):
    """The TFLite interpreter; `num_samples` set on every call (a TFLite input
    has no default value: unset, it holds whatever its memory held)."""

    def __init__(self, path, output, k):
        try:
            self.interp = tf.lite.Interpreter(model_path=path, num_threads=THREADS)
        except TypeError:  # TF 1.15's interpreter has no num_threads (and runs on one)
            self.interp = tf.lite.Interpreter(model_path=path)
        self.ins = {d['name']: d['index'] for d in self.interp.get_input_details()}
        self.out = [d['index'] for d in self.interp.get_output_details()
                    if d['name'] == output][0]
        self.k, self.shape = k, None

    def __call__(self, batch):
        if batch.shape != self.shape:
            self.interp.resize_tensor_input(self.ins['input'], list(batch.shape))
            self.interp.allocate_tensors()
            self.shape = batch.shape
        self.interp.set_tensor(self.ins['input'], batch)
        if self.k is not None:
            self.interp.set_tensor(self.ins['num_samples'], np.array(self.k, np.int32))
        self.interp.invoke()
        return self.interp.get_tensor(self.out)


class OnnxGraph(object):
    def __init__(self, path, output, k):
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = THREADS
        self.sess = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        self.output = output
        self.feed = {} if k is None else {'num_samples': np.array(k, np.int32)}

    def __call__(self, batch):
        return self.sess.run([self.output], dict(self.feed, input=batch))[0]


class OpenCVGraph(object):
    def __init__(self, path, output, k):
        import cv2
        cv2.setNumThreads(THREADS)
        self.net = cv2.dnn.readNetFromTensorflow(path)

    def __call__(self, batch):
        self.net.setInput(batch.transpose(0, 3, 1, 2) if batch.ndim == 4 else batch)
        return self.net.forward()


RUNTIMES = [('tensorflow', 'graphdef', TensorFlowGraph), ('tflite', 'tflite', TFLiteGraph),
            ('onnxruntime', 'onnx', OnnxGraph), ('opencv', 'graphdef', OpenCVGraph)]


def best_time(fn, batch, repeats):
    for _ in range(3):
        fn(batch)
    start = time.perf_counter()
    for _ in range(repeats):
        fn(batch)
    return (time.perf_counter() - start) / repeats


def _arguments(argv):
    """(runtime, rounds, shape, specs); usage errors exit 2 with one line."""
    usage = __doc__.split('\n\n')[1].strip()
    if argv[:1] in (['-h'], ['--help']):
        print(usage)
        sys.exit(0)

    def fail(message):
        sys.stderr.write('serve_timer: error: %s\n' % message)
        sys.exit(2)
    if len(argv) != 4:
        fail('4 arguments, got %d (usage: %s)' % (len(argv), usage))
    names = [name for name, _, _ in RUNTIMES]
    if argv[0] not in names:
        fail('RUNTIME must be one of %s, got %r' % (', '.join(names), argv[0]))
    try:
        rounds, shape, specs = int(argv[1]), json.loads(argv[2]), json.loads(argv[3])
    except ValueError as err:
        fail('ROUNDS must be an int, SHAPE_JSON and GRAPHS_JSON JSON: %s' % err)
    if rounds < 1:
        fail('ROUNDS must be >= 1, got %d' % rounds)
    return argv[0], rounds, shape, specs


def main(argv):
    runtime, rounds, shape, specs = _arguments(argv)
    global tf  # pylint: disable=global-statement
    if runtime in ('tensorflow', 'tflite'):
        import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
    cls = dict((name, c) for name, _, c in RUNTIMES)[runtime]
    graphs = {name: cls(path, output, k) for name, path, output, k in specs}
    rng = np.random.RandomState(0)
    one = rng.rand(*([1] + shape)).astype(np.float32)
    many = rng.rand(*([1000] + shape)).astype(np.float32)
    best = {}
    for _ in range(rounds):
        for name, fn in graphs.items():
            lat, thr = best_time(fn, one, 200), best_time(fn, many, 20)
            old = best.get(name, (float('inf'), float('inf')))
            best[name] = (min(old[0], lat), min(old[1], thr))
    print(json.dumps(best))


if __name__ == '__main__':
    main(sys.argv[1:])
