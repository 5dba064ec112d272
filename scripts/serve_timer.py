#!/usr/bin/env python
"""Times exported graphs in one consumer runtime, as a pipeline that knows
nothing of tfbnn runs them (this file imports no tfbnn). Called by
scripts/bench_export.py, one process per runtime; prints JSON.

  python scripts/serve_timer.py RUNTIME ROUNDS SHAPE_JSON GRAPHS_JSON

SHAPE_JSON: one example's shape, e.g. [8, 8, 1]; GRAPHS_JSON: a list of
[name, path, output tensor name].

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

    def __init__(self, path, output):
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

    def __call__(self, batch):
        return self.sess.run(self.y, {self.x: batch})


class TFLiteGraph(object):
    """One interpreter per batch size: TF 2.21's interpreter hangs when the input
    of a model with a while loop (the sampled graph) is resized smaller."""

    def __init__(self, path, output):
        self.path, self.output, self.by_size = path, output, {}

    def _interpreter(self, shape):
        if shape not in self.by_size:
            interp = tf.lite.Interpreter(model_path=self.path, num_threads=THREADS)
            ins = {d['name']: d['index'] for d in interp.get_input_details()}
            interp.resize_tensor_input(ins['input'], list(shape))
            interp.allocate_tensors()
            out = [d['index'] for d in interp.get_output_details() if d['name'] == self.output][0]
            self.by_size[shape] = (interp, ins['input'], out)
        return self.by_size[shape]

    def __call__(self, batch):
        interp, inp, out = self._interpreter(batch.shape)
        interp.set_tensor(inp, batch)
        interp.invoke()
        return interp.get_tensor(out)


class OnnxGraph(object):
    def __init__(self, path, output):
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = THREADS
        self.sess = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        self.output = output

    def __call__(self, batch):
        return self.sess.run([self.output], {'input': batch})[0]


class OpenCVGraph(object):
    def __init__(self, path, output):
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



def main(argv):
    runtime, rounds, shape, specs = argv[0], int(argv[1]), json.loads(argv[2]), json.loads(argv[3])
    global tf  # pylint: disable=global-statement
    if runtime in ('tensorflow', 'tflite'):
        import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
    cls = dict((name, c) for name, _, c in RUNTIMES)[runtime]
    graphs = {name: cls(path, output) for name, path, output in specs}
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
