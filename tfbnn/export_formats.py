"""Interchange formats written from an exported frozen graph: TFLite and ONNX.

`tfbnn.export` builds and freezes the inference graph; this module turns the
frozen GraphDef into the other formats consumers load, with the same input
and output names (`input`, `num_samples`, `probs`, ...):

  graphdef   frozen_<mode>.pb       TensorFlow, any version from 1.15
  savedmodel saved_model_<mode>/    TF Serving, TF 2.x `tf.saved_model.load`
  tflite     frozen_<mode>.tflite   the TFLite interpreter (builtin ops only;
                                    the sampled graph's while loop and random
                                    op need TF 2.x's converter: the tf2 stack)
  onnx       frozen_<mode>.onnx     onnxruntime and other ONNX runtimes, opset
                                    ONNX_OPSET, through tf2onnx (the extra
                                    `pip install .[onnx]`, Python >= 3.10)

Each file is written under a temporary name and renamed into place, so a
failed conversion leaves no partial file and the formats already written
stay as they are.

Every file has the input checks of `tfbnn.serving` (TensorFlow asserts the
examples' shape; every output is reshaped to the input's batch size) but two
(`unchecked_input`): the mean graph's .pb, which stays a plain feed-forward
graph that OpenCV reads (it builds a layer for every node and knows neither
assertions nor shape arithmetic), and a TFLite file written on TF 1.15, whose
converter fixes the batch at 1 and folds shape arithmetic into constants.
"""
import os
import sys
import tempfile

import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError, ExportError
from tfbnn.internal import compat

__all__ = ['FORMATS', 'DEFAULT_FORMATS', 'ONNX_OPSET', 'parse_formats', 'check_available',
           'unchecked_input', 'write_tflite', 'write_onnx', 'file_name', 'write_atomically']

FORMATS = ('graphdef', 'savedmodel', 'tflite', 'onnx')
DEFAULT_FORMATS = ('graphdef', 'savedmodel')
ONNX_OPSET = 17
_SUFFIX = {'graphdef': '.pb', 'tflite': '.tflite', 'onnx': '.onnx'}


def file_name(fmt, mode):
    """frozen_<mode>.pb|.tflite|.onnx, or saved_model_<mode> (a folder)."""
    return 'saved_model_%s' % mode if fmt == 'savedmodel' else 'frozen_%s%s' % (mode, _SUFFIX[fmt])


def parse_formats(text):
    """'graphdef,tflite' -> ('graphdef', 'tflite'), in FORMATS order.

    Raises:
      ConfigError: an empty list or a name not in FORMATS.
    """
    names = [t.strip() for t in str(text).split(',') if t.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if not names or unknown:
        raise ConfigError('--format takes a comma-separated subset of %s, got %r'
                          % (','.join(FORMATS), text))
    return tuple(f for f in FORMATS if f in names)


def check_available(formats, mode):
    """Fails before anything is written when a format cannot be made here.

    Raises:
      ConfigError: onnx without tf2onnx/onnx installed; tflite of the
        sampled graph on TF 1.15, whose converter has no while loop and no
        random ops.
    """
    if 'onnx' in formats:
        try:
            import onnx  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
            import tf2onnx  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
        except ImportError as err:
            raise ConfigError("--format onnx needs tf2onnx and onnx (%s): pip install '.[onnx]' "
                              '(Python >= 3.10, the TF 2.x stack)' % err)
    if 'tflite' in formats and mode == 'sample' and not compat.TF2:
        raise ConfigError('--format tflite of the sampled graph needs TF 2.x\'s converter (its '
                          'while loop and random op); TF 1.15 converts --mode mean only: export '
                          'with TFBNN_STACK=tf2')


def unchecked_input(fmt, mode):
    """Why the `fmt` file of a `mode` export leaves out the input checks, or
    None when it has them (module docstring)."""
    if fmt == 'graphdef' and mode == 'mean':
        return ('the mean graph\'s .pb is plain, for OpenCV and other simple importers; '
                'TensorFlow: saved_model_mean checks it')
    if fmt == 'tflite' and not compat.TF2:
        return ('TF 1.15\'s converter fixes the batch at 1 and folds shape arithmetic; '
                'TFBNN_STACK=tf2 writes a checked file')
    return None


def write_atomically(path, data):
    """Writes `data` (bytes, or a function that writes a given path) to `path`
    under a temporary name, then renames it into place: a failure leaves no
    partial file and whatever `path` held before."""
    tmp = path + '.tmp'
    try:
        if callable(data):
            data(tmp)
        else:
            with open(tmp, 'wb') as f:
                f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_tflite(graph_def, inputs, outputs, path):
    """Converts a frozen GraphDef to TFLite builtin ops; returns the byte size.

    Raises:
      ExportError: the converter refused the graph.
    """
    with tempfile.TemporaryDirectory() as tmp:
        pb = os.path.join(tmp, 'graph.pb')
        with open(pb, 'wb') as f:
            f.write(graph_def.SerializeToString())
        # TF 1.15's converter runs the toco_from_protos program beside python.
        env_path = os.environ.get('PATH', '')
        os.environ['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env_path
        try:
            converter = tf.lite.TFLiteConverter.from_frozen_graph(pb, list(inputs), list(outputs))
            data = converter.convert()
        except Exception as err:  # the converters raise several unrelated types
            raise ExportError('TFLite conversion failed: %s' % _first_line(err))
        finally:
            os.environ['PATH'] = env_path
    write_atomically(path, data)
    return len(data)


def write_onnx(graph_def, inputs, outputs, path, opset=ONNX_OPSET):
    """Converts a frozen GraphDef to ONNX with tf2onnx; returns the byte size.

    tf2onnx names tensors 'input:0'; the model's inputs and outputs are
    renamed to the graph's own names ('input', 'probs', ...).

    Raises:
      ExportError: tf2onnx refused the graph.
    """
    import onnx  # pylint: disable=g-import-not-at-top
    import tf2onnx  # pylint: disable=g-import-not-at-top
    try:
        model, _ = tf2onnx.convert.from_graph_def(
            graph_def, input_names=[n + ':0' for n in inputs],
            output_names=[n + ':0' for n in outputs], opset=opset)
    except Exception as err:  # tf2onnx raises several unrelated types
        raise ExportError('ONNX conversion failed: %s' % _first_line(err))
    _rename(model.graph, {n + ':0': n for n in list(inputs) + list(outputs)})
    write_atomically(path, lambda tmp: onnx.save(model, tmp))
    return os.path.getsize(path)


def _rename(graph, names):
    """Renames tensors in an ONNX graph and in the subgraphs of its nodes (a
    loop body refers to the outer graph's tensors by name)."""
    for value in list(graph.input) + list(graph.output) + list(graph.initializer):
        value.name = names.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names.get(n, n) for n in node.output]
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField('g') else []) + list(attr.graphs):
                _rename(sub, names)


def _first_line(err):
    lines = [l.strip() for l in str(err).splitlines() if l.strip()]
    return (lines[0] if lines else type(err).__name__)[:300]
