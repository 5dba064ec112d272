"""Interchange formats written from an exported frozen graph: TFLite and ONNX.

`tfbnn.export` builds and freezes the inference graph; this module turns the
frozen GraphDef into the other formats consumers load, with the same input
and output names (`input`, `num_samples`, `probs`, ...):

  graphdef   frozen_<mode>.pb       TensorFlow, any version from 1.15
  savedmodel saved_model_<mode>/    TF Serving, TF 2.x `tf.saved_model.load`
  tflite     frozen_<mode>.tflite   the TFLite interpreter (builtin ops only;
                                    the sampled graph's while loop and random
                                    op need TF 2.x's converter: the tf2 stack;
                                    no LSTM, 3D pooling or conv flipout draw)
  onnx       frozen_<mode>.onnx     onnxruntime and other ONNX runtimes, opset
                                    ONNX_OPSET, through tf2onnx (the extra
                                    `pip install .[onnx]`, Python >= 3.10)

Each file is written under a temporary name and renamed into place, so a
failed conversion leaves no partial file and the formats already written
stay as they are.

Every graph has the input checks of `tfbnn.serving` (TensorFlow asserts the
examples' shape; every output is reshaped to the input's batch size) but two
(`unchecked_input`): the mean graph's .pb, which stays a plain feed-forward
graph that OpenCV reads (it builds a layer for every node and knows neither
assertions nor shape arithmetic; an LSTM's loop and group norm's statistics
it cannot read either), and a TFLite file written on TF 1.15, whose
converter fixes the batch at 1 and folds shape arithmetic into constants.
What refuses a wrong shape differs by format (`input_check`, the report's
`checks_input`): TFLite and ONNX drop assertions; onnxruntime checks the
declared input shape, the TFLite interpreter checks nothing.
"""
import contextlib
import os
import re
import sys
import tempfile

import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError, ExportError, cause_line
from tfbnn.internal import compat
from tfbnn.internal.jsonio import write_atomically

__all__ = ['FORMATS', 'DEFAULT_FORMATS', 'ONNX_OPSET', 'parse_formats', 'chosen',
           'check_available', 'unchecked_input', 'input_check', 'write_tflite', 'write_onnx',
           'write_converted', 'record_written', 'file_name', 'write_atomically']

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


def chosen(formats, saved_model=True):
    """The formats of an export: `formats`, or the default ones (without
    savedmodel when `saved_model` is False, --no-saved-model).

    Raises:
      ConfigError: `saved_model` False beside `formats` that list savedmodel.
    """
    if formats is None:
        return tuple(f for f in DEFAULT_FORMATS if saved_model or f != 'savedmodel')
    if not saved_model and 'savedmodel' in formats:
        raise ConfigError('--no-saved-model contradicts --format %s: give --format alone'
                          % ','.join(formats))
    return tuple(formats)


def check_available(formats, mode):
    """Fails before anything is written when a format cannot be made here.

    Raises:
      ConfigError: onnx without tf2onnx/onnx installed, or with one that
        fails to import (onnx >= 1.19 beside the ml_dtypes < 0.5 of
        TensorFlow 2.16-2.17 raises AttributeError); tflite of the sampled
        graph on TF 1.15, whose converter has no while loop and no random
        ops.
    """
    if 'onnx' in formats:
        try:
            import onnx  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
            import tf2onnx  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
        except ImportError as err:
            raise ConfigError("--format onnx needs tf2onnx and onnx (%s): pip install '.[onnx]' "
                              '(Python >= 3.10, the TF 2.x stack)' % err)
        except Exception as err:  # pylint: disable=broad-except
            raise ConfigError("--format onnx: tf2onnx or onnx is installed but fails to import "
                              "(%s: %s); see docs/export.md for the versions that work together"
                              % (type(err).__name__, err))
    if 'tflite' in formats and mode == 'sample' and not compat.TF2:
        raise ConfigError('--format tflite of the sampled graph needs TF 2.x\'s converter (its '
                          'while loop and random op); TF 1.15 converts --mode mean only: export '
                          'with TFBNN_STACK=tf2')


def unchecked_input(fmt, mode):
    """Why the `fmt` file of a `mode` export leaves out the input checks, or
    None when it has them (module docstring)."""
    if fmt == 'graphdef' and mode == 'mean':
        return ('the mean graph\'s .pb has no input check, so that OpenCV and other simple '
                'importers read it (OpenCV reads neither an LSTM\'s, which keeps its loop, nor '
                'a group norm\'s, whose statistics use StopGradient and SquaredDifference); '
                'TensorFlow: saved_model_mean checks it')
    if fmt == 'tflite' and not compat.TF2:
        return ('TF 1.15\'s converter fixes the batch at 1 and folds shape arithmetic (resize '
                'only the batch), and TFLite checks no input shape: check shapes before calling')
    return None


# What each file checks of its input's shape, as measured (docs/export.md).
_CHECKED_BY = {
    'graphdef': 'TensorFlow refuses a feed of another shape and the graph asserts it',
    'savedmodel': 'a Session feed is refused by the placeholder\'s shape, a TF 2.x signature '
                  'or the C API by the graph\'s assertion of the example shape',
    'onnx': "onnxruntime refuses an input that differs from the declared shape [N, example "
            "shape]; the graph's assertions are dropped",
}
_TFLITE_UNCHECKED = (
    'TFLite drops the assertions and checks no input shape: a batch with as many values per '
    'row ([3, 64] for [N, 8, 8, 1]) serves, and a conv net serves other channel counts '
    '([3, 8, 8, 2]) as grouped convolutions; check shapes before calling')


def input_check(fmt, mode):
    """(checks, note): whether the `fmt` file of a `mode` export refuses
    examples of another shape, and what checks them or why nothing does."""
    if fmt == 'tflite':
        return False, unchecked_input(fmt, mode) or _TFLITE_UNCHECKED
    unchecked = unchecked_input(fmt, mode)
    return (False, unchecked) if unchecked else (True, _CHECKED_BY[fmt])


def write_converted(graphs, formats, inputs, outputs, output_dir, report, log):
    """Writes the TFLite and ONNX files of `formats`, each on its own: one
    its converter refuses is named in `report['failed']` and the log, and the
    other is still written.

    Args:
      graphs: format -> the frozen GraphDef to convert.
      formats: the formats asked for (those not converted here are ignored).
      inputs, outputs: the graph's input and output names.
      output_dir: the export folder.
      report: the export report, updated with what was written.
      log: callable taking one line.

    Returns:
      The messages of the formats not written (empty when all were).
    """
    failed = []
    for fmt, write in (('tflite', write_tflite), ('onnx', write_onnx)):
        if fmt not in formats:
            continue
        path = os.path.join(output_dir, file_name(fmt, report['mode']))
        try:
            write(graphs[fmt], inputs, outputs, path)
        except ExportError as err:
            failed.append(str(err))
            report.setdefault('failed', {})[fmt] = str(err)
            log('  %s not written: %s' % (fmt, err))
            continue
        record_written(report, fmt, path, log, ' (opset %d)' % ONNX_OPSET if fmt == 'onnx'
                       else ' (TensorFlow %s converter)' % tf.__version__)
        optional = [name for name in inputs if name != 'input']  # num_samples
        if fmt == 'tflite' and optional:  # TFLite inputs have no default value
            report['files'][fmt]['set_every_call'] = optional
            log('  (TFLite inputs have no defaults: set %s on every call)' % ', '.join(optional))
        if fmt == 'tflite' and report.get('seed') is not None and report.get('random_ops'):
            # Measured (TF 2.21): the interpreter starts the seeded sequence afresh each call.
            report['files'][fmt]['same_draws_every_call'] = True
            log('  (seeded: TFLite repeats the same draws on every call; export without --seed '
                'for fresh draws)')
    return failed


def record_written(report, fmt, path, log, note=''):
    """Enters a written file in the export report and logs it: its path
    relative to the export folder (the file name), bytes, input checks."""
    size = _size(path)
    checks, why = input_check(fmt, report['mode'])
    report['files'][fmt] = dict(path=os.path.basename(path), bytes=size, checks_input=checks)
    log('  wrote %s (%d bytes)%s' % (os.path.basename(path), size, note))
    if checks:
        report['files'][fmt]['checked_by'] = why
    else:
        report['files'][fmt]['unchecked_because'] = why
        log('  (its input shape is not checked: %s)' % why)


def _size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path)
                   for f in files)
    return os.path.getsize(path)


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
        said = []
        try:
            with _captured_stderr(tmp, said):
                converter = tf.lite.TFLiteConverter.from_frozen_graph(pb, list(inputs),
                                                                      list(outputs))
                data = converter.convert()
        except Exception as err:  # the converters raise several unrelated types
            text = '\n'.join([str(err)] + said)
            raise ExportError('TFLite conversion failed: %s' % (
                _unsupported_ops(text) or _converter_abort(text) or cause_line(err)[:300]))
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
    graph_seed = _graph_seed(graph_def)
    if graph_seed is None:  # keep the K draws apart through tf2onnx's optimizer
        graph_def = _distinct_seeds(graph_def)
    try:
        model, _ = tf2onnx.convert.from_graph_def(
            graph_def, input_names=[n + ':0' for n in inputs],
            output_names=[n + ':0' for n in outputs], opset=opset)
    except Exception as err:  # tf2onnx raises several unrelated types
        raise ExportError('ONNX conversion failed: %s' % cause_line(err)[:300])
    _rename(model.graph, {n + ':0': n for n in list(inputs) + list(outputs)})
    _reseed(model.graph, graph_seed, onnx.helper.make_attribute)
    write_atomically(path, lambda tmp: onnx.save(model, tmp))
    return os.path.getsize(path)


# ONNX random ops; their `seed` attribute is a float, exact for integers below 2^24.
_ONNX_RANDOM_OPS = frozenset(['RandomUniform', 'RandomUniformLike', 'RandomNormal',
                              'RandomNormalLike', 'Multinomial', 'Bernoulli'])
_ONNX_SEEDS = 2 ** 24 - 1
# TensorFlow's random ops with `seed`/`seed2` attributes (left out of the frozen
# graph when 0, at their default).
_TF_SEEDED_OPS = frozenset(['RandomUniform', 'RandomStandardNormal', 'RandomUniformInt',
                            'TruncatedNormal', 'Multinomial', 'RandomShuffle', 'RandomGamma',
                            'RandomPoisson', 'RandomPoissonV2'])


def _graph_seed(graph_def):
    """The graph-level seed of a frozen graph's random ops (`tfbnn-export
    --seed`), or None when they are unseeded (both op attributes 0)."""
    nodes = list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]
    seeded = [n for n in nodes if 'seed2' in n.attr and (n.attr['seed'].i or n.attr['seed2'].i)]
    return seeded[0].attr['seed'].i if seeded else None


def _distinct_seeds(graph_def):
    """A copy of an unseeded frozen graph whose random ops carry distinct
    temporary op seeds (seed2 = 1, 2, ...), seen only by tf2onnx.

    tf2onnx's optimizer merges nodes of one type, attributes and inputs: the
    K unrolled draws of a static-K graph (an LSTM) were one random node, so
    all K "samples" were one draw and the mutual information 0. `_reseed`
    removes the temporary seeds from the ONNX nodes afterwards.
    """
    copy = tf.GraphDef()
    copy.CopyFrom(graph_def)
    nodes = list(copy.node) + [n for f in copy.library.function for n in f.node_def]
    for i, node in enumerate((n for n in nodes if n.op in _TF_SEEDED_OPS), 1):
        node.attr['seed2'].i = i
    return copy


def _reseed(graph, graph_seed, make_attribute):
    """Sets the seeds of an ONNX graph's random nodes, subgraphs included.

    tf2onnx writes `seed = seed2` (the TensorFlow op's own seed): an unseeded
    graph's nodes all get seed 0, so every process repeated the same draws
    and every node the same numbers (one noise stream for every layer), and
    `--seed S` was lost (S = 5 and S = 7 gave one file). Unseeded, the
    attribute is removed: the runtime seeds each node itself. Seeded, node i
    gets 1 + (1000003 S + 7919 seed2_i) mod (2^24 - 1): distinct within the
    file (7919 has no common factor with 2^24 - 1) and changing with S.
    Unseeded, this also removes `_distinct_seeds`' temporary seeds.
    """
    for node in graph.node:
        if node.op_type in _ONNX_RANDOM_OPS:
            op_seed = [int(a.f) for a in node.attribute if a.name == 'seed']
            kept = [a for a in node.attribute if a.name != 'seed']
            del node.attribute[:]
            node.attribute.extend(kept)
            if graph_seed is not None:
                seed = 1 + (1000003 * graph_seed + 7919 * (op_seed or [0])[0]) % _ONNX_SEEDS
                node.attribute.extend([make_attribute('seed', float(seed))])
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField('g') else []) + list(attr.graphs):
                _reseed(sub, graph_seed, make_attribute)


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


@contextlib.contextmanager
def _captured_stderr(folder, said):
    """Sends file descriptor 2 to a file while the block runs (the converter's
    C++ logs and MLIR diagnostics, dozens of lines) and appends their lines to
    the list `said` afterwards. Captures nothing when fd 2 is closed."""
    path = os.path.join(folder, 'stderr.txt')
    if sys.stderr is not None:
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 to redirect
        yield
        return
    try:
        with open(path, 'wb') as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                if sys.stderr is not None:
                    sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)
        if os.path.exists(path):
            with open(path, 'rb') as f:
                said.extend(f.read().decode('utf-8', 'replace').splitlines())


def _converter_abort(text):
    """'the converter aborted: Check failed: ...' from TF 1.15 toco's fatal
    log line (its ConverterError says only "See console for info."), or ''."""
    found = re.search(r'\] (Check failed: [^\n]*)', text)
    return ("TF 1.15's converter aborted (%s); the tf2 stack's converter may take the graph"
            % found.group(1)[:200]) if found else ''


def _unsupported_ops(text):
    """'ops X, Y (at node N) are not TFLite builtin ops' from a converter's
    diagnostics (the MLIR converter's per node, TF 1.15 toco's lists), or ''
    when it names none."""
    found = re.findall(r'fused\["\w+:", "([^"@]+)[^"]*"\][^\n]*?\'(tf\.\w+)\' op is neither a '
                       r'custom op nor a flex op', text)
    where = ' (first at %s)' % found[0][0] if found else ''
    ops = set(op for _, op in found)
    for listed in re.findall(r"(?:doesn't support control flow ops|operators for which you will "
                             r"need custom implementations): ([\w>, ]+)\.", text):
        ops.update(op.strip() for op in listed.split(',') if op.strip())
    if not ops:
        return ''
    return ('%s%s %s not among TFLite\'s builtin ops, so this model has no TFLite file; '
            'graphdef, savedmodel and onnx serve it'
            % (', '.join(sorted(ops)), where, 'is' if len(ops) == 1 else 'are'))
