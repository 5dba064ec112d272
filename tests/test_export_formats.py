"""tfbnn-export --format: TFLite, ONNX and OpenCV consumers, each in a fresh
interpreter that does not import tfbnn, against the training graph's outputs.

The runtimes (TFLite interpreter, onnxruntime, OpenCV dnn) run in the tf2
stack's interpreter, where they have wheels; the conversion runs on the stack
under test where it can (ONNX needs tf2onnx: Python >= 3.10).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import export_formats, models, run_config
from tfbnn.cli.export import main as export_main
from tfbnn.cli.train import main as train_main
from tfbnn.export import load_run
from tfbnn.internal import compat
from tests.test_export import reference, reference_draws, run_python, stack_python
from tests.test_export import trained  # noqa: F401  (the module's trained run)

CONSUMER = r'''
import sys
import numpy as np
runtime, path, x_path, out_path, repeats = sys.argv[1:6]
k = int(sys.argv[6]) if len(sys.argv) > 6 else None
x = np.load(x_path)
if runtime == 'tflite':
    import tensorflow as tf
    interp = tf.lite.Interpreter(model_path=path)
    ins = {d['name']: d['index'] for d in interp.get_input_details()}
    interp.resize_tensor_input(ins['input'], list(x.shape))
    interp.allocate_tensors()
    def run():
        interp.set_tensor(ins['input'], x)
        if k is not None:
            interp.set_tensor(ins['num_samples'], np.array(k, np.int32))
        interp.invoke()
        return {d['name']: interp.get_tensor(d['index']).copy() for d in interp.get_output_details()}
elif runtime == 'onnxruntime':
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    names = [o.name for o in sess.get_outputs()]
    feed = {'input': x} if k is None else {'input': x, 'num_samples': np.array(k, np.int32)}
    def run():
        return dict(zip(names, sess.run(None, feed)))
else:
    import cv2
    net = cv2.dnn.readNetFromTensorflow(path)
    def run():
        net.setInput(x.transpose(0, 3, 1, 2))  # OpenCV's blobs are NCHW
        return {'mean_probs': net.forward().reshape(len(x), -1)}
runs = [run() for _ in range(int(repeats))]
assert not any(m == 'tfbnn' or m.startswith('tfbnn.') for m in sys.modules), 'tfbnn was imported'
np.savez(out_path, **{n: np.stack([r[n] for r in runs]) for n in runs[0]})
'''

FORMAT_OF = {'tflite': 'tflite', 'onnxruntime': 'onnx', 'opencv': 'graphdef'}


def _has_tf2onnx():
    try:
        import tf2onnx  # noqa: F401  pylint: disable=unused-import
        return True
    except ImportError:
        return False


RUNTIME_MODULE = {'tflite': 'tensorflow', 'onnxruntime': 'onnxruntime', 'opencv': 'cv2'}
RUNTIME_PACKAGE = {'tflite': 'tensorflow-cpu', 'onnxruntime': 'onnxruntime',
                   'opencv': 'opencv-python-headless'}
_importable = {}


def skip_without_runtime(python, runtime, cwd):
    """Skips the test when `python` cannot import the runtime (an environment without
    it); fails it instead under TFBNN_REQUIRE_EXPORT_RUNTIMES=1, which `scripts/run.sh
    test` sets, since its environments install every runtime."""
    key = (python, runtime)
    if key not in _importable:
        _importable[key] = subprocess.run(
            [python, '-c', 'import %s' % RUNTIME_MODULE[runtime]], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, cwd=str(cwd),
            env=dict(os.environ, PYTHONPATH='')).returncode == 0
    if not _importable[key]:
        message = '%s cannot import %s (pip install %s)' % (
            python, RUNTIME_MODULE[runtime], RUNTIME_PACKAGE[runtime])
        if os.environ.get('TFBNN_REQUIRE_EXPORT_RUNTIMES') == '1':
            pytest.fail(message + '; TFBNN_REQUIRE_EXPORT_RUNTIMES=0 skips instead')
        pytest.skip(message)


def consume(tmp_path, runtime, path, x, repeats=1, k=None):
    python = stack_python('tf2')
    skip_without_runtime(python, runtime, tmp_path)
    x_path, out_path = tmp_path / 'x.npy', tmp_path / 'out.npz'
    np.save(str(x_path), x)
    run_python(python, ['-c', CONSUMER, runtime, str(path), str(x_path),
                        str(out_path), str(repeats)] + ([] if k is None else [str(k)]),
               tmp_path)
    return dict(np.load(str(out_path)))


def skip_without_tf2onnx():
    if not _has_tf2onnx():
        pytest.skip("tf2onnx is not installed under Python %d.%d (pip install '.[onnx]'; it has "
                    'no wheel for 3.7): ONNX export is tested on the tf2 stack'
                    % sys.version_info[:2])


def export(trained_run, tmp_path, mode, fmt, seed=None):  # noqa: F811
    if fmt == 'onnx':
        skip_without_tf2onnx()
    if fmt == 'tflite' and mode == 'sample' and not compat.TF2:
        pytest.skip("TF 1.15's converter has no while loop or random op: the tf2 stack converts "
                    'the sampled graph')
    out = tmp_path / 'exp'
    assert export_main([trained_run, '--mode', mode, '--format', fmt, '--output-dir', str(out)]
                       + (['--samples', '5'] if mode == 'sample' else [])
                       + ([] if seed is None else ['--seed', str(seed)])) == 0
    return out / export_formats.file_name(fmt, mode)


@pytest.fixture(scope='module')
def trained_regression(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('run') / 'toy')
    assert train_main(['--output-dir', out, '--dataset', 'toy_regression', '--epochs', '2',
                       '--hidden', '16', '--eval-samples', '5', '--progress', 'never',
                       '--batch-size', '32']) == 0
    return out


def regression_reference(run_dir, x):
    """The training graph's posterior-mean network on x, in the targets' units."""
    run = load_run(run_dir)
    spec = run_config.model_spec(run.config, 'regression')
    graph = tf.Graph()
    with graph.as_default():
        pred = models.build_network(spec, tf.constant(x), sample=False).outputs
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, run.checkpoint)
            return sess.run(pred) * run.meta['target_std'] + run.meta['target_mean']


@pytest.fixture(scope='module')
def group_norm_run(tmp_path_factory):
    run = str(tmp_path_factory.mktemp('run') / 'group')
    assert train_main(['--output-dir', run, '--norm', 'group', '--epochs', '1',
                       '--eval-samples', '2', '--progress', 'never', '--ood-set', 'none']) == 0
    return run


def test_a_group_norm_network_converts_to_tflite_on_either_stack(group_norm_run, tmp_path):
    """TF 1.15's converter aborted on group norm ('Check failed: dim_x ==
    dim_y (25 vs. 100)': it moved gamma's multiply before the reshape back).
    Now it converts, and TFLite serves the posterior-mean network's numbers."""
    path = export(group_norm_run, tmp_path, 'mean', 'tflite')
    x = tfbnn.data.load_dataset('digits').x_test[:1]  # TF 1.15's file has batch 1
    got = consume(tmp_path, 'tflite', path, x)
    np.testing.assert_allclose(got['mean_probs'][0], reference(group_norm_run, x, False),
                               atol=1e-5)


@pytest.mark.parametrize('runtime', sorted(FORMAT_OF))
def test_the_mean_graph_runs_in_every_runtime(trained, tmp_path, runtime):  # noqa: F811
    path = export(trained, tmp_path, 'mean', FORMAT_OF[runtime])
    x = tfbnn.data.load_dataset('digits').x_test[:20]
    got = consume(tmp_path, runtime, path, x)
    np.testing.assert_allclose(got['mean_probs'][0], reference(trained, x, False), atol=1e-5)


@pytest.mark.parametrize('runtime', ['tflite', 'onnxruntime'])
def test_the_sampled_graph_stays_bayesian_in_the_runtime(trained, tmp_path, runtime):  # noqa: F811
    if runtime == 'tflite' and not compat.TF2:
        assert export_main([trained, '--format', 'tflite', '--output-dir',
                            str(tmp_path / 'exp')]) == 2
        assert not (tmp_path / 'exp').exists()
        pytest.skip("TF 1.15's converter has no while loop or random op (the one-line error "
                    'was checked); the tf2 stack converts the sampled graph')
    path = export(trained, tmp_path, 'sample', FORMAT_OF[runtime])
    report = json.load(open(str(tmp_path / 'exp' / 'export_sample.json')))
    assert report['files'][FORMAT_OF[runtime]]['path'] == path.name  # relative to the folder
    assert 'same_draws_every_call' not in report['files'][FORMAT_OF[runtime]]  # unseeded
    if runtime == 'tflite':  # no input defaults in TFLite: the report says so
        assert report['files']['tflite']['set_every_call'] == ['num_samples']
    x = tfbnn.data.load_dataset('digits').x_test[:12]
    one = consume(tmp_path, runtime, path, x, repeats=3, k=1)
    np.testing.assert_allclose(one['mean_probs'][0], reference(trained, x, False), atol=1e-5)
    assert np.abs(one['mutual_information']).max() <= 1e-6  # K = 1: no disagreement
    assert np.abs(one['probs'][0] - one['probs'][1]).max() > 1e-4  # fresh draws each run
    # The predictive, from a seeded export so that the comparison is the same in every
    # run of the suite: K = 400 in one call within 5 standard errors of the training
    # graph's 4000-sample predictive, the per-draw spread from 200 of its single draws.
    (tmp_path / 'seeded').mkdir()
    seeded = export(trained, tmp_path / 'seeded', 'sample', FORMAT_OF[runtime], seed=5)
    many = consume(tmp_path, runtime, seeded, x, repeats=2, k=400)
    ref = reference(trained, x, True, 4000)
    se = reference_draws(trained, x, 200).std(0) * np.sqrt(1 / 400 + 1 / 4000)
    assert np.all(np.abs(many['probs'][0] - ref) <= 5 * se + 1e-4)
    assert np.all(many['mutual_information'][0] > 0)
    # As the export's docs say: TFLite's interpreter repeats a seeded file's draws on every
    # call; onnxruntime goes on drawing.
    calls_differ = np.abs(many['probs'][0] - many['probs'][1]).max() > 1e-4
    assert calls_differ == (runtime == 'onnxruntime')
    report = json.load(open(str(tmp_path / 'seeded' / 'exp' / 'export_sample.json')))
    assert report['files'][FORMAT_OF[runtime]].get('same_draws_every_call') == (
        True if runtime == 'tflite' else None)


def onnx_seeds(graph):
    """The `seed` of every random node of an ONNX graph and its subgraphs (None: none set)."""
    seeds = []
    for node in graph.node:
        if node.op_type.startswith('Random'):
            seeds += [a.f for a in node.attribute if a.name == 'seed'] or [None]
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField('g') else []) + list(attr.graphs):
                seeds += onnx_seeds(sub)
    return seeds


def test_onnx_random_nodes_follow_the_export_seed(trained, tmp_path):  # noqa: F811
    """tf2onnx gives an unseeded graph's random nodes seed 0 (the same draws in
    every process, one noise stream for every layer) and drops --seed S (S = 5
    and S = 7 gave the same file): the export sets the seeds itself."""
    skip_without_tf2onnx()
    import onnx  # pylint: disable=g-import-not-at-top
    x = tfbnn.data.load_dataset('digits').x_test[:12]
    seeds, draws = {}, {}
    for name, seed in (('unseeded', None), ('five', 5), ('five_again', 5), ('seven', 7),
                       ('zero', 0)):
        (tmp_path / name).mkdir()
        path = export(trained, tmp_path / name, 'sample', 'onnx', seed=seed)
        seeds[name] = onnx_seeds(onnx.load(str(path)).graph)
        # two processes on the same file, three runs each
        draws[name] = [consume(tmp_path, 'onnxruntime', path, x, repeats=3, k=1)['probs']
                       for _ in range(2 if name in ('unseeded', 'five') else 1)]
    assert len(set(seeds['zero'])) == 2 and None not in seeds['zero']  # --seed 0 is a seed
    assert len(seeds['unseeded']) == 2 and seeds['unseeded'] == [None, None]  # one per layer
    assert len(set(seeds['five'])) == 2 and seeds['five'] == seeds['five_again']
    assert not set(seeds['five']) & set(seeds['seven'])
    # Unseeded: another process draws other numbers. Seeded: every process draws the same
    # sequence, its runs still differ, and another seed draws other numbers.
    assert np.abs(draws['unseeded'][0] - draws['unseeded'][1]).max() > 1e-4
    np.testing.assert_array_equal(draws['five'][0], draws['five'][1])
    np.testing.assert_array_equal(draws['five'][0], draws['five_again'][0])
    assert np.abs(draws['five'][0][0] - draws['five'][0][1]).max() > 1e-4
    assert np.abs(draws['five'][0] - draws['seven'][0]).max() > 1e-4


def _one_line_error(capsys, message):
    err = capsys.readouterr().err
    assert err.startswith('tfbnn-export: error: ') and err.count('\n') == 1, err
    assert message in err, err


def test_an_unknown_format_is_refused_before_anything_is_written(trained, tmp_path, capsys):  # noqa: F811
    out = tmp_path / 'exp'
    assert export_main([trained, '--format', 'graphdef,pdf', '--output-dir', str(out)]) == 2
    _one_line_error(capsys, "--format takes a comma-separated subset of "
                            "graphdef,savedmodel,tflite,onnx, got 'graphdef,pdf'")
    assert not out.exists()


def test_onnx_without_its_extra_is_one_line(trained, tmp_path, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setitem(sys.modules, 'tf2onnx', None)  # import fails as if not installed
    out = tmp_path / 'exp'
    assert export_main([trained, '--format', 'graphdef,onnx', '--output-dir', str(out)]) == 2
    _one_line_error(capsys, "--format onnx needs tf2onnx and onnx")
    assert not out.exists()


def test_a_converter_failure_keeps_the_other_formats(trained, tmp_path, capsys,  # noqa: F811
                                                     monkeypatch):
    """TFLite refused: the formats before it and ONNX after it (where it can be
    had) are still written, and the report says which failed."""
    def refuse(*args, **kwargs):
        raise RuntimeError('converter says no\nsecond line')
    monkeypatch.setattr(export_formats.tf.lite.TFLiteConverter, 'from_frozen_graph', refuse)
    onnx = _has_onnx()
    out = tmp_path / 'exp'
    assert export_main([trained, '--mode', 'mean', '--format', 'graphdef,savedmodel,tflite'
                        + (',onnx' if onnx else ''), '--output-dir', str(out)]) == 2
    _one_line_error(capsys, 'TFLite conversion failed: converter says no')
    written = ['graphdef', 'onnx', 'savedmodel'] if onnx else ['graphdef', 'savedmodel']
    assert sorted(os.listdir(str(out))) == sorted(
        ['export_mean.json', 'frozen_mean.pb', 'saved_model_mean']
        + (['frozen_mean.onnx'] if onnx else []))
    report = json.load(open(str(out / 'export_mean.json')))
    assert sorted(report['files']) == written
    assert report['failed'] == {'tflite': 'TFLite conversion failed: converter says no'}
    x = tfbnn.data.load_dataset('digits').x_test[:5]
    got = consume(tmp_path, 'opencv', out / 'frozen_mean.pb', x)
    np.testing.assert_allclose(got['mean_probs'][0], reference(trained, x, False), atol=1e-5)


def _has_onnx():
    try:
        export_formats.check_available(['onnx'], 'mean')
        return True
    except ValueError:
        return False


def test_ops_tflite_lacks_are_named_from_the_converter_diagnostics():
    text = '\n'.join([
        'W0000 tf_tfl_flatbuffer_helpers.cc:364] Ignored output_format.',
        'loc(fused["TensorArrayV3:", "model/lstm/rnn/TensorArray"]): error: \'tf.TensorArrayV3\' '
        'op is neither a custom op nor a flex op',
        'loc(callsite(fused["RandomUniformInt:", "samples/model/conv1/random_uniform@_body_0"] '
        'at fused["While:", "samples/LoopCond"])): error: \'tf.RandomUniformInt\' op is neither '
        'a custom op nor a flex op'])
    assert export_formats._unsupported_ops(text) == (
        "tf.RandomUniformInt, tf.TensorArrayV3 (first at model/lstm/rnn/TensorArray) are not "
        "among TFLite's builtin ops, so this model has no TFLite file; graphdef, savedmodel and "
        "onnx serve it")
    assert export_formats._unsupported_ops('Could not translate MLIR to FlatBuffer.') == ''


def test_an_abort_of_the_tf115_converter_is_named_from_its_log():
    text = ('See console for info.\n2026-12-07 15:53:27.072623: F tensorflow/lite/toco/'
            'graph_transformations/propagate_fixed_sizes.cc:118] Check failed: dim_x == dim_y '
            '(25 vs. 100)Dimensions must match\nFatal Python error: Aborted\n')
    assert export_formats._converter_abort(text) == (
        "TF 1.15's converter aborted (Check failed: dim_x == dim_y (25 vs. 100)Dimensions must "
        "match); the tf2 stack's converter may take the graph")
    assert export_formats._converter_abort('See console for info.') == ''


def test_ops_tf115_tflite_lacks_are_named_from_its_converter_text():
    # toco_from_protos' text, as TF 1.15's ConverterError carries it after "See console for info."
    text = ('See console for info.\n2026-12-07 E toco_tooling.cc:481] We are continually in the '
            "process ...\nTensorFlow Lite currently doesn't support control flow ops: Enter, Exit, "
            'Merge, Switch. We are working on supporting control flow ops ... Here is a list of '
            'builtin operators you are using: ADD, RESHAPE. Here is a list of operators for which '
            'you will need custom implementations: LoopCond, TensorArrayV3.\nTraceback ...')
    assert export_formats._unsupported_ops(text) == (
        "Enter, Exit, LoopCond, Merge, Switch, TensorArrayV3 are not among TFLite's builtin ops, "
        "so this model has no TFLite file; graphdef, savedmodel and onnx serve it")
    assert export_formats._unsupported_ops(
        'Here is a list of operators for which you will need custom implementations: '
        'MaxPool3D.') == ("MaxPool3D is not among TFLite's builtin ops, so this model has no "
                          "TFLite file; graphdef, savedmodel and onnx serve it")


# onnxruntime refuses an input of another declared shape. TFLite checks nothing: a batch
# fails only when the outputs' reshape to the input's batch size does not fit.
SHAPE_ERROR = {'tflite': 'num_input_elements != num_output_elements',
               'onnxruntime': 'Got invalid dimensions for input'}


@pytest.mark.parametrize('mode', ['mean', 'sample'])
@pytest.mark.parametrize('runtime', ['tflite', 'onnxruntime'])
def test_examples_of_another_shape_fail_in_the_runtime(trained, tmp_path, runtime, mode):  # noqa: F811
    """Unchecked, the model would read a [3, 8, 8, 2] batch as 6 rows and [4, 4, 4, 1] as 1;
    TFLite, which drops the assertions, serves a [3, 64] batch: its report says unchecked."""
    fmt = FORMAT_OF[runtime]
    path = export(trained, tmp_path, mode, fmt)
    report = json.load(open(str(tmp_path / 'exp' / ('export_%s.json' % mode))))
    x = tfbnn.data.load_dataset('digits').x_test[:3]
    k = None if mode == 'mean' else 2
    if runtime == 'tflite' and not compat.TF2:  # mode mean: TF 1.15 cannot; the report says so
        assert not report['files'][fmt]['checks_input']
        assert "TF 1.15's converter fixes the batch at 1" in report['files'][fmt][
            'unchecked_because']
        return
    assert report['files'][fmt]['checks_input'] == (runtime == 'onnxruntime')
    got = consume(tmp_path, runtime, path, x, k=k)  # the right shape still serves
    assert got['mean_probs'].shape == (1, 3, 10)
    flat = x.reshape(3, 64)
    if runtime == 'tflite':  # as many values per row: served, unchecked
        assert 'TFLite drops the assertions' in report['files'][fmt]['unchecked_because']
        np.testing.assert_allclose(consume(tmp_path, runtime, path, flat, k=k)['mean_probs'],
                                   got['mean_probs'], atol=1e-6)
    else:
        with pytest.raises(AssertionError, match='Invalid rank for input'):
            consume(tmp_path, runtime, path, flat, k=k)
    for bad in (np.zeros((3, 8, 8, 2), np.float32), np.zeros((4, 4, 4, 1), np.float32)):
        with pytest.raises(AssertionError, match=SHAPE_ERROR[runtime]):
            consume(tmp_path, runtime, path, bad, k=k)


@pytest.mark.parametrize('runtime', ['tflite', 'onnxruntime'])
def test_num_samples_below_one_is_one_draw_without_assertions(trained, tmp_path, runtime):  # noqa: F811
    """TFLite and ONNX drop the num_samples assertion (TensorFlow's is tested in
    test_export.py): K = 0 would divide by 0, K = -1 would give -0 probabilities."""
    path = export(trained, tmp_path, 'sample', FORMAT_OF[runtime])
    x = tfbnn.data.load_dataset('digits').x_test[:12]
    for k in (0, -1):
        got = consume(tmp_path, runtime, path, x, k=k)
        np.testing.assert_allclose(got['probs'][0].sum(-1), 1.0, atol=1e-5)
        assert np.abs(got['mutual_information']).max() <= 1e-6  # one draw
        np.testing.assert_allclose(got['entropy'][0], -np.sum(
            got['probs'][0] * np.log(got['probs'][0]), -1), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('mode', ['mean', 'sample'])
@pytest.mark.parametrize('runtime', ['tflite', 'onnxruntime'])
def test_an_empty_batch_gives_empty_outputs(trained, tmp_path, runtime, mode):  # noqa: F811
    path = export(trained, tmp_path, mode, FORMAT_OF[runtime])
    x = tfbnn.data.load_dataset('digits').x_test[:0]
    got = consume(tmp_path, runtime, path, x, k=None if mode == 'mean' else 3)
    want = {'mean_probs': (1, 0, 10)}
    if mode == 'sample':
        want.update(probs=(1, 0, 10), entropy=(1, 0), mutual_information=(1, 0))
    assert {n: v.shape for n, v in got.items()} == want


@pytest.mark.parametrize('runtime', ['tflite', 'onnxruntime'])
def test_the_regression_mean_graph_serves_any_batch(trained_regression, tmp_path, runtime):
    """TF 1.15's converter once turned the model's squeeze into a reshape to [1]."""
    path = export(trained_regression, tmp_path, 'mean', FORMAT_OF[runtime])
    x = tfbnn.data.load_dataset('toy_regression').x_test
    for batch in (7, 1, 0):
        got = consume(tmp_path, runtime, path, x[:batch])
        assert got['mean_prediction'].shape == (1, batch)
        np.testing.assert_allclose(got['mean_prediction'][0],
                                   regression_reference(trained_regression, x[:batch]),
                                   atol=1e-4)


def test_an_onnx_that_fails_to_import_is_one_line_not_a_traceback(tmp_path, monkeypatch):
    """onnx >= 1.19 beside TensorFlow 2.16's ml_dtypes raises AttributeError
    on import; the export refuses in one ConfigError before writing."""
    fake = tmp_path / 'onnx'
    fake.mkdir()
    (fake / '__init__.py').write_text("raise AttributeError(\"module 'ml_dtypes' has no "
                                      "attribute 'float4_e2m1fn'\")\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, 'onnx', raising=False)
    with pytest.raises(ValueError) as err:
        export_formats.check_available(['onnx'], 'mean')
    assert str(err.value) == (
        "--format onnx: tf2onnx or onnx is installed but fails to import (AttributeError: module "
        "'ml_dtypes' has no attribute 'float4_e2m1fn'); see docs/export.md for the versions that "
        "work together")
