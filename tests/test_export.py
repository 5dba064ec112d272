"""tfbnn.export: frozen graphs and SavedModels that run without tfbnn."""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import saved_model_pb2

import tfbnn
from tfbnn import export, models, run_config, serving
from tfbnn.cli.export import main as export_main
from tfbnn.cli.train import main as train_main
from tfbnn.internal import compat
from tfbnn.training import rundir

# Runs in a fresh interpreter that imports only tensorflow and numpy.
LOADER = r'''
import sys, json
import numpy as np
import tensorflow.compat.v1 as tf
kind, path, x_path, names, repeats = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(','), int(sys.argv[5])
k = int(sys.argv[7]) if len(sys.argv) > 7 else None
x = np.load(x_path)
graph = tf.Graph()
with graph.as_default():
    sess = tf.Session(graph=graph)
    if kind == 'pb':
        gd = tf.GraphDef()
        with open(path, 'rb') as f:
            gd.ParseFromString(f.read())
        tf.import_graph_def(gd, name='')
        inp = graph.get_tensor_by_name('input:0')
        outs = [graph.get_tensor_by_name(n + ':0') for n in names]
        k_in = graph.get_tensor_by_name('num_samples:0') if k is not None else None
    else:
        meta = tf.saved_model.loader.load(sess, ['serve'], path)
        sig = meta.signature_def['serving_default' if k is None else 'serving_k']
        inp = graph.get_tensor_by_name(sig.inputs['input'].name)
        outs = [graph.get_tensor_by_name(sig.outputs[n].name) for n in names]
        k_in = graph.get_tensor_by_name(sig.inputs['num_samples'].name) if k is not None else None
    feed = {inp: x} if k is None else {inp: x, k_in: k}
    runs = [sess.run(outs, feed) for _ in range(repeats)]
assert not any(m == 'tfbnn' or m.startswith('tfbnn.') for m in sys.modules), 'tfbnn was imported'
np.savez(sys.argv[6], **{n: np.stack([r[i] for r in runs]) for i, n in enumerate(names)})
'''


# TF 2.x in its default (eager) mode, as a TF 2 serving client calls a SavedModel.
EAGER_SIGNATURE = r'''
import sys
import numpy as np
import tensorflow as tf
assert tf.executing_eagerly()
x = tf.constant(np.load(sys.argv[1]))
serve = tf.saved_model.load(sys.argv[2]).signatures['serving_default']
runs = [serve(input=x) for _ in range(3)]
one = tf.saved_model.load(sys.argv[2]).signatures['serving_k'](input=x, num_samples=tf.constant(1))
assert float(tf.reduce_max(one['mutual_information'])) == 0.0
assert not any(m == 'tfbnn' or m.startswith('tfbnn.') for m in sys.modules), 'tfbnn was imported'
np.savez(sys.argv[3], **{n: np.stack([r[n].numpy() for r in runs]) for n in runs[0]})
'''

# Feeds batches of several shapes the way the C API runs a graph (CallableOptions: no
# Python check of the fed shape against the placeholder's); on TF 2.x also through the
# SavedModel's signature in eager mode. Writes, per route and shape, the outputs'
# shapes or the error.
SHAPE_CHECK = r'''
import sys, json
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import config_pb2
v1 = tf.compat.v1
kind, path, out_path, shapes = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
def outcome(run, shape):
    try:
        return {n: list(v.shape) for n, v in run(np.zeros(shape, np.float32)).items()}
    except Exception as err:
        return ' '.join(str(err).split())
results = {}
graph = tf.Graph()
with graph.as_default():
    sess = v1.Session(graph=graph)
    if kind == 'pb':
        gd = v1.GraphDef()
        with open(path, 'rb') as f:
            gd.ParseFromString(f.read())
        v1.import_graph_def(gd, name='')
        names = [n.name for n in gd.node if n.name in sys.argv[5].split(',')]
    else:
        sig = v1.saved_model.loader.load(sess, ['serve'], path).signature_def['serving_default']
        names = sorted(sig.outputs)
    call = sess._make_callable_from_options(config_pb2.CallableOptions(
        feed=['input:0'], fetch=[n + ':0' for n in names]))
    results['session'] = {str(s): outcome(lambda x: dict(zip(names, call(x))), s) for s in shapes}
if kind == 'saved_model' and tf.__version__.startswith('2'):
    serve = tf.saved_model.load(path).signatures['serving_default']
    results['signature'] = {str(s): outcome(lambda x: {n: v.numpy() for n, v in serve(
        input=tf.constant(x)).items()}, s) for s in shapes}
assert not any(m == 'tfbnn' or m.startswith('tfbnn.') for m in sys.modules), 'tfbnn was imported'
json.dump(results, open(out_path, 'w'))
'''

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stack_python(stack):
    """The interpreter of `stack`: this one, TFBNN_<STACK>_PYTHON, or its venv here.

    Skips the test when the other stack's environment is not set up (CI sets
    up both before running the suite).
    """
    if stack == compat.stack_name():
        return sys.executable
    python = os.environ.get('TFBNN_%s_PYTHON' % stack.upper(),
                            os.path.join(ROOT, compat.STACK_VENVS[stack], 'bin', 'python'))
    if not os.path.exists(python):
        pytest.skip('the %s stack is not set up here (TFBNN_STACK=%s bash scripts/run.sh setup, '
                    'or TFBNN_%s_PYTHON)' % (stack, stack, stack.upper()))
    return python


def run_python(python, args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONPATH='')
    proc = subprocess.run([python] + args, env=env, cwd=str(cwd), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def run_loader(tmp_path, kind, path, x, names, repeats=1, python=sys.executable, k=None):
    x_path, out_path = str(tmp_path / 'x.npy'), str(tmp_path / 'out.npz')
    np.save(x_path, x)
    run_python(python, ['-c', LOADER, kind, path, x_path, ','.join(names), str(repeats),
                        out_path] + ([] if k is None else [str(k)]), tmp_path)
    return dict(np.load(out_path))


def _seed_random_ops(nodes, first):
    for node in nodes:
        if node.op in export.RANDOM_OP_TYPES:
            node.attr['seed'].i, node.attr['seed2'].i = 1, first
            first += 1
        elif node.op == 'Enter':  # the draws' loop: iterations in turn, in a fixed order
            node.attr['parallel_iterations'].i = 1
    return first


def seeded_copy(kind, path, dest):
    """A copy of an exported graph (.pb or SavedModel) whose random ops carry op seeds.

    An export without --seed leaves its random ops unseeded, so a statistic of
    its draws changes from one run of the suite to the next (a 5-standard-error
    bound then fails now and then); on the copy the draws are fixed, and the
    graph is otherwise the one exported (the unseeded export's draws, not the
    one-at-a-time draws of --seed), its sampling loop's iterations run in turn
    so that they take the draws in a fixed order. Successive runs of a session
    still draw anew.
    """
    if kind == 'pb':
        message, source, target = tf.GraphDef(), path, dest
    else:
        shutil.copytree(path, dest)
        message, source = saved_model_pb2.SavedModel(), os.path.join(dest, 'saved_model.pb')
        target = source
    with open(source, 'rb') as f:
        message.ParseFromString(f.read())
    graph_defs = [message] if kind == 'pb' else [m.graph_def for m in message.meta_graphs]
    first = 1
    for graph_def in graph_defs:
        first = _seed_random_ops(graph_def.node, first)
        for function in graph_def.library.function:
            first = _seed_random_ops(function.node_def, first)
    assert first > 1, 'no random op in %s' % path
    with open(target, 'wb') as f:
        f.write(message.SerializeToString())
    return str(dest)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('run') / 'digits')
    assert train_main(['--output-dir', out, '--epochs', '3', '--hidden', '32',
                       '--eval-samples', '5', '--progress', 'never',
                       '--posterior-init-scale', '0.05']) == 0
    return out


def reference(run_dir, x, sample, num_samples=None):
    """The training graph's network on x, restored from the run's checkpoint
    (its draws seeded: the same in every run of the suite)."""
    run = export.load_run(run_dir)
    spec = run_config.model_spec(run.config, run.meta['task'], run.meta['num_classes'])
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        if sample:
            out = tfbnn.predictive.classification_predictive(spec, tf.constant(x), num_samples,
                                                             'reparameterization').mean_probs
        else:
            out = tf.nn.softmax(models.build_network(spec, tf.constant(x), sample=False).outputs)
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, run.checkpoint)
            return sess.run(out)


def reference_draws(run_dir, x, runs):
    """`runs` single-sample predictions of the training graph's network on x,
    `[runs, batch, classes]` (seeded, as `reference`)."""
    run = export.load_run(run_dir)
    spec = run_config.model_spec(run.config, run.meta['task'], run.meta['num_classes'])
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        probs = tf.nn.softmax(models.build_network(spec, tf.constant(x), sample=True).outputs)
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, run.checkpoint)
            return np.stack([sess.run(probs) for _ in range(runs)])


def test_frozen_sample_graph_is_a_bayesian_predictive(trained, tmp_path):
    assert export_main([trained, '--samples', '5']) == 0
    pb = os.path.join(trained, 'export', 'frozen_sample.pb')
    x = tfbnn.data.load_dataset('digits').x_test[:12]
    got = run_loader(tmp_path, 'pb', seeded_copy('pb', pb, str(tmp_path / 'seeded.pb')), x,
                     ['probs', 'mean_probs', 'entropy', 'mutual_information'], repeats=200)
    # The deterministic output equals the training graph's sample=False output.
    np.testing.assert_allclose(got['mean_probs'][0], reference(trained, x, False), atol=1e-5)
    assert np.all(got['mean_probs'] == got['mean_probs'][0])
    # The sampled output changes from run to run (not frozen into a constant) ...
    assert np.abs(got['probs'][0] - got['probs'][1]).max() > 1e-4
    # ... and its Monte Carlo mean over 200 runs x 5 samples matches the training
    # graph's 2000-sample predictive within 5 combined standard errors.
    runs = got['probs']
    ref = reference(trained, x, True, 2000)
    se_runs = runs.std(0) / np.sqrt(runs.shape[0])
    se_ref = runs.std(0) * np.sqrt(5.0 / 2000)
    assert np.all(np.abs(runs.mean(0) - ref) <= 5 * np.sqrt(se_runs ** 2 + se_ref ** 2) + 1e-4)
    assert np.all(got['mutual_information'] >= 0)
    assert np.all(got['mutual_information'] <= got['entropy'] + 1e-6)


def test_k_is_chosen_at_serving_time(trained, tmp_path):
    """num_samples: K = 1 has a mutual information of exactly 0 and draws anew
    each run; a large K in one run is the predictive; K = 0 is refused."""
    out = tmp_path / 'exp'
    assert export_main([trained, '--samples', '5', '--output-dir', str(out)]) == 0
    report = json.load(open(str(out / 'export_sample.json')))
    assert report['inputs'] == {'input': 'input:0', 'num_samples': 'num_samples:0'}
    assert report['default_num_samples'] == 5
    x = tfbnn.data.load_dataset('digits').x_test[:12]
    names = ['probs', 'mutual_information', 'entropy']
    for kind, path in (('pb', str(out / 'frozen_sample.pb')),
                       ('saved_model', str(out / 'saved_model_sample'))):
        path = seeded_copy(kind, path, str(tmp_path / ('seeded_' + kind)))
        one = run_loader(tmp_path, kind, path, x, names, repeats=200, k=1)
        assert np.all(one['mutual_information'] == 0)
        assert np.abs(one['probs'][0] - one['probs'][1]).max() > 1e-4
        many = run_loader(tmp_path, kind, path, x, names, k=400)
        ref = reference(trained, x, True, 4000)
        # Within 5 standard errors of the difference of two Monte Carlo means,
        # the per-draw spread measured by the 200 K = 1 runs.
        se = one['probs'].std(0) * np.sqrt(1 / 400 + 1 / 4000)
        assert np.all(np.abs(many['probs'][0] - ref) <= 5 * se + 1e-4)
        assert np.all(many['mutual_information'][0] > 0)
    with pytest.raises(AssertionError, match='num_samples must be a positive integer'):
        run_loader(tmp_path, 'pb', str(out / 'frozen_sample.pb'), x, names, k=0)


def test_mean_mode_has_no_random_op_and_matches(trained, tmp_path):
    assert export_main([trained, '--mode', 'mean', '--no-saved-model']) == 0
    pb = os.path.join(trained, 'export', 'frozen_mean.pb')
    gd = tf.GraphDef()
    with open(pb, 'rb') as f:
        gd.ParseFromString(f.read())
    ops = {n.op for n in gd.node}
    assert not ops & export.RANDOM_OP_TYPES and 'VariableV2' not in ops
    # A plain feed-forward graph: constant reshape targets, no shape arithmetic,
    # no assertion (OpenCV makes a layer of every node).
    assert not ops & {'Shape', 'ConcatV2', 'Pack', 'StridedSlice', 'Assert'}, ops
    assert {n.name for n in gd.node} >= {'input', 'mean_probs'}
    x = tfbnn.data.load_dataset('digits').x_test[:50]
    got = run_loader(tmp_path, 'pb', pb, x, ['mean_probs'])
    np.testing.assert_allclose(got['mean_probs'][0], reference(trained, x, False), atol=1e-5)


def test_saved_model_serves_the_same_outputs(trained, tmp_path):
    assert export_main([trained, '--samples', '5', '--output-dir', str(tmp_path / 'exp')]) == 0
    x = tfbnn.data.load_dataset('digits').x_test[:20]
    got = run_loader(tmp_path, 'saved_model', str(tmp_path / 'exp' / 'saved_model_sample'), x,
                     ['mean_probs', 'probs'], repeats=3)
    np.testing.assert_allclose(got['mean_probs'][0], reference(trained, x, False), atol=1e-5)
    assert np.abs(got['probs'][0] - got['probs'][1]).max() > 1e-4
    report = json.load(open(str(tmp_path / 'exp' / 'export_sample.json')))
    assert report['random_ops'] and report['outputs']['probs'] == 'probs:0'


def test_a_seeded_export_draws_the_same_sequence_in_every_session(trained, tmp_path, capsys):
    x = tfbnn.data.load_dataset('digits').x_test[:12]
    names = ['probs', 'mutual_information']
    got = {}
    for copy in ('a', 'b'):  # two exports, each loaded in its own process
        out = tmp_path / copy
        assert export_main([trained, '--samples', '5', '--seed', '7', '--output-dir',
                            str(out)]) == 0
        assert json.load(open(str(out / 'export_sample.json')))['seed'] == 7
        for kind, path in (('pb', str(out / 'frozen_sample.pb')),
                           ('saved_model', str(out / 'saved_model_sample'))):
            got[copy, kind] = run_loader(tmp_path, kind, path, x, names, repeats=3)
    assert ', seed 7' in capsys.readouterr().out
    first = got['a', 'pb']
    for kind in ('pb', 'saved_model'):  # each format: the same three draws in every process
        for name in names:
            np.testing.assert_array_equal(got['b', kind][name], got['a', kind][name])
            # ... and the two formats the same draws (up to rounding)
            np.testing.assert_allclose(got['a', kind][name], first[name], rtol=1e-5, atol=1e-6)
    # Successive runs of one session still draw anew.
    assert np.abs(first['probs'][0] - first['probs'][1]).max() > 1e-4
    assert np.abs(first['probs'][1] - first['probs'][2]).max() > 1e-4
    # Without a seed, two sessions draw differently.
    out = tmp_path / 'unseeded'
    assert export_main([trained, '--samples', '5', '--output-dir', str(out),
                        '--no-saved-model']) == 0
    assert json.load(open(str(out / 'export_sample.json')))['seed'] is None
    one, two = (run_loader(tmp_path, 'pb', str(out / 'frozen_sample.pb'), x, names)
                for _ in range(2))
    assert np.abs(one['probs'][0] - two['probs'][0]).max() > 1e-4


@pytest.mark.parametrize('mode', ['mean', 'sample'])
def test_tensorflow_refuses_examples_of_another_shape(trained, tmp_path, mode):
    """The models flatten with a reshape to [-1, 64]: unchecked, a [3, 8, 8, 2]
    batch would come back as 6 rows and a [4, 4, 4, 1] one as 1."""
    out = tmp_path / 'exp'
    assert export_main([trained, '--mode', mode, '--output-dir', str(out)]
                       + (['--samples', '3'] if mode == 'sample' else [])) == 0
    report = json.load(open(str(out / ('export_%s.json' % mode))))
    assert report['files']['savedmodel']['checks_input']
    # The mean graph's .pb stays plain for OpenCV, and says so.
    assert report['files']['graphdef']['checks_input'] == (mode == 'sample')
    good = [[5, 8, 8, 1], [0, 8, 8, 1]]
    bad = [[3, 8, 8, 2], [4, 4, 4, 1], [3, 64], [2, 8, 8, 1, 1]]
    paths = [('saved_model', out / ('saved_model_%s' % mode))]
    if mode == 'sample':
        paths.append(('pb', out / 'frozen_sample.pb'))
    for kind, path in paths:
        run_python(sys.executable, ['-c', SHAPE_CHECK, kind, str(path), str(tmp_path / 'r.json'),
                                    json.dumps(good + bad), ','.join(report['outputs'])], tmp_path)
        results = json.load(open(str(tmp_path / 'r.json')))
        assert len(results) == (2 if kind == 'saved_model' and compat.TF2 else 1)
        for route, got in results.items():
            for shape in good:
                assert {n: rows[0] for n, rows in got[str(shape)].items()} == dict.fromkeys(
                    report['outputs'], shape[0]), (kind, route, shape)
            for shape in bad:
                assert 'input must have shape [batch, 8, 8, 1], got] [%s]' % ' '.join(
                    map(str, shape)) in got[str(shape)], (kind, route, got[str(shape)])


INFO_LINE = re.compile(r'^I\d{4} [^\]]*\] (.*)$| I tensorflow/[^\]]*\] (.*)$', re.M)


def info_messages(stderr):
    """The messages of TensorFlow's C++ INFO lines in `stderr`, without their
    times and thread ids."""
    return {a or b for a, b in INFO_LINE.findall(stderr)}


def test_the_installed_command_prints_no_tensorflow_info_lines(trained, tmp_path):
    """TF 1.15 logs `I tensorflow/...`; TF 2.x logs `I0000 ...` (absl), and
    reads its level when it is imported, before the command's code runs.

    Some TF 2.x builds print a line at import whatever the level (the oneDNN
    notice, on CPUs where oneDNN is on by default): the command may print
    what `import tensorflow` at level 1 prints on this machine, nothing else.
    """
    command = os.path.join(os.path.dirname(sys.executable), 'tfbnn-export')
    if not os.path.exists(command):
        pytest.skip('tfbnn is not installed in this environment (scripts/run.sh installs it)')
    env = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
    proc = subprocess.run([command, trained, '--mode', 'mean', '--output-dir',
                           str(tmp_path / 'exp')], env=env, cwd=str(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    bare = subprocess.run([sys.executable, '-c', 'import tensorflow'],
                          env=dict(env, TF_CPP_MIN_LOG_LEVEL='1'), cwd=str(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert bare.returncode == 0, bare.stderr[-2000:]
    assert not info_messages(proc.stderr) - info_messages(bare.stderr), proc.stderr
    assert proc.stdout.startswith('tfbnn-export: mean, checkpoint'), proc.stdout


OTHER_STACK = {'tf1': 'tf2', 'tf2': 'tf1'}[compat.stack_name()]


@pytest.mark.parametrize('mode', ['mean', 'sample'])
def test_a_graph_frozen_on_this_stack_runs_on_the_other(trained, tmp_path, mode):
    other = stack_python(OTHER_STACK)
    out = str(tmp_path / 'exp')
    assert export_main([trained, '--mode', mode, '--output-dir', out]
                       + (['--samples', '5'] if mode == 'sample' else [])) == 0
    x = tfbnn.data.load_dataset('digits').x_test[:20]
    ref = reference(trained, x, False)
    for kind, path in (('pb', os.path.join(out, 'frozen_%s.pb' % mode)),
                       ('saved_model', os.path.join(out, 'saved_model_%s' % mode))):
        got = run_loader(tmp_path, kind, path, x, ['mean_probs'], python=other)
        np.testing.assert_allclose(got['mean_probs'][0], ref, atol=1e-5)


def test_a_graph_frozen_on_the_other_stack_runs_on_this_one(trained, tmp_path):
    """The other stack's tfbnn-export reads this stack's checkpoint, and its
    frozen graph runs here."""
    other = stack_python(OTHER_STACK)
    out = str(tmp_path / 'exp')
    run_python(other, ['-m', 'tfbnn.cli.export', trained, '--mode', 'mean', '--output-dir', out,
                       '--no-saved-model'], ROOT)
    x = tfbnn.data.load_dataset('digits').x_test[:20]
    got = run_loader(tmp_path, 'pb', os.path.join(out, 'frozen_mean.pb'), x, ['mean_probs'])
    np.testing.assert_allclose(got['mean_probs'][0], reference(trained, x, False), atol=1e-5)


def test_the_saved_model_signature_is_callable_from_tf2_eager(trained, tmp_path):
    python = stack_python('tf2')
    out = tmp_path / 'exp'
    assert export_main([trained, '--samples', '5', '--output-dir', str(out)]) == 0
    x = tfbnn.data.load_dataset('digits').x_test[:20]
    np.save(str(tmp_path / 'x.npy'), x)
    run_python(python, ['-c', EAGER_SIGNATURE, str(tmp_path / 'x.npy'),
                        str(out / 'saved_model_sample'), str(tmp_path / 'out.npz')], tmp_path)
    got = dict(np.load(str(tmp_path / 'out.npz')))
    assert {'probs', 'mean_probs', 'entropy', 'mutual_information'} <= set(got)
    np.testing.assert_allclose(got['mean_probs'][0], reference(trained, x, False), atol=1e-5)
    assert np.abs(got['probs'][0] - got['probs'][1]).max() > 1e-4


def test_snr_pruning_zeroes_the_weights_and_reports_the_error(trained, tmp_path, capsys):
    out = str(tmp_path / 'pruned')
    assert export_main([trained, '--mode', 'mean', '--prune-snr', '0.75', '--output-dir', out,
                        '--no-saved-model']) == 0
    report = json.load(open(os.path.join(out, 'export_mean.json')))
    assert report['pruned_weights'] == pytest.approx(0.75 * report['kernel_weights'], abs=2)
    assert 0 <= report['test_error_before_pruning'] <= 1
    assert 0 <= report['test_error_after_pruning'] <= 1
    assert 'posterior-mean test_error' in capsys.readouterr().out
    assert report['input_scaling'] == ("not scaled in the graph: feed scikit-learn's digit "
                                       'images (counts 0 to 16) divided by 16, as the run was '
                                       'trained')
    gd = tf.GraphDef()
    with open(os.path.join(out, 'frozen_mean.pb'), 'rb') as f:
        gd.ParseFromString(f.read())
    zeros = total = 0
    for node in gd.node:
        if node.op == 'Const' and node.name.endswith('kernel_loc'):
            values = tf.make_ndarray(node.attr['value'].tensor)
            zeros += int(np.sum(values == 0))
            total += values.size
    assert total == report['kernel_weights'] and zeros >= report['pruned_weights']


def test_pruning_a_run_whose_data_is_gone_says_what_it_did_not_measure(trained, tmp_path,
                                                                       capsys):
    copy = str(tmp_path / 'copy')
    shutil.copytree(trained, copy)
    config = json.load(open(os.path.join(copy, 'config.json')))
    config.update(dataset='npz', data_dir=str(tmp_path / 'gone.npz'))
    json.dump(config, open(os.path.join(copy, 'config.json'), 'w'))
    out = str(tmp_path / 'pruned')
    assert export_main([copy, '--mode', 'mean', '--prune-snr', '0.5', '--output-dir', out,
                        '--no-saved-model']) == 0
    report = json.load(open(os.path.join(out, 'export_mean.json')))
    assert 'pruned_weights' in report and 'test_error_before_pruning' not in report
    said = capsys.readouterr().out
    assert "(the run's data cannot be loaded, so its test error before and after pruning is " \
        'not measured: ' in said and 'gone.npz' in said


def test_an_mnist_runs_export_says_how_to_scale_its_pixels():
    meta = {'name': 'mnist', 'input_mean': None, 'task': 'classification'}
    assert serving.input_scaling(meta, 126.0) == (
        "not scaled in the graph: feed the IDX files' pixel bytes divided by 126 "
        "(--pixel-scale), as the run was trained (EMNIST's images turned upright, as "
        "dataset.json's description says)")
    assert serving.input_scaling(dict(meta, name='npz')) is None


def test_regression_outputs_are_in_original_units(tmp_path):
    out = str(tmp_path / 'toy')
    assert train_main(['--output-dir', out, '--dataset', 'toy_regression', '--epochs', '2',
                       '--hidden', '16', '--eval-samples', '5', '--progress', 'never',
                       '--batch-size', '32']) == 0
    assert export_main([out, '--samples', '20']) == 0
    ds = tfbnn.data.load_dataset('toy_regression')
    got = run_loader(tmp_path, 'pb', os.path.join(out, 'export', 'frozen_sample.pb'),
                     ds.x_test[:10], ['mean', 'stddev', 'mean_prediction'])
    run = export.load_run(out)
    spec = run_config.model_spec(run.config, 'regression')
    graph = tf.Graph()
    with graph.as_default():
        pred = models.build_network(spec, tf.constant(ds.x_test[:10]), sample=False).outputs
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, run.checkpoint)
            ref = sess.run(pred) * ds.target_std + ds.target_mean
    np.testing.assert_allclose(got['mean_prediction'][0], ref, atol=1e-4)
    assert np.all(got['stddev'][0] > 0)


@pytest.mark.parametrize('validation', [[], ['--validation-size', '0.25']])
def test_a_uci_runs_graph_takes_the_raw_features(tmp_path, validation):
    """The run standardised the features (and re-standardised them on the
    rows left after the validation split); the exported graph does it
    itself, so a pipeline feeds the table's own values."""
    from tests.training.test_train_job import uci_fixture
    folder = uci_fixture(str(tmp_path / 'uci'))
    table = np.loadtxt(os.path.join(folder, 'data.txt'))
    table[:, :3] = table[:, :3] * [1000.0, 0.01, 3.0] + [500.0, -2.0, 40.0]  # far from N(0, 1)
    np.savetxt(os.path.join(folder, 'data.txt'), table)
    out = str(tmp_path / 'run')
    assert train_main(['--output-dir', out, '--dataset', 'uci', '--data-dir', folder,
                       '--epochs', '3', '--hidden', '8', '--progress', 'never'] + validation) == 0
    assert export_main([out, '--mode', 'mean', '--output-dir', str(tmp_path / 'exp')]) == 0
    ds = tfbnn.data.load_dataset('uci', data_dir=folder)
    if validation:
        ds = tfbnn.data.hold_out_validation(ds, 0.25)
    raw = (ds.x_test * ds.input_std + ds.input_mean).astype(np.float32)
    test_rows = np.loadtxt(os.path.join(folder, 'index_test_0.txt'), dtype=int)
    np.testing.assert_allclose(raw, table[test_rows, :3], rtol=1e-5)
    got = run_loader(tmp_path, 'pb', str(tmp_path / 'exp' / 'frozen_mean.pb'), raw,
                     ['mean_prediction'])['mean_prediction'][0]
    run = export.load_run(out)
    graph = tf.Graph()
    with graph.as_default():
        pred = models.build_network(run_config.model_spec(run.config, 'regression'),
                                    tf.constant(ds.x_test), sample=False).outputs
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, run.checkpoint)
            want = sess.run(pred) * ds.target_std + ds.target_mean
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_a_uci_run_from_before_the_scaling_record_exports_as_it_was_trained(tmp_path):
    """Its dataset.json has no input_mean: its graph takes standardised
    features, as before, the report says so, and the pruning report maps
    nothing back."""
    from tests.training.test_train_job import uci_fixture
    folder = uci_fixture(str(tmp_path / 'uci'))
    out = str(tmp_path / 'run')
    assert train_main(['--output-dir', out, '--dataset', 'uci', '--data-dir', folder,
                       '--epochs', '3', '--hidden', '8', '--progress', 'never']) == 0
    reports = []
    for name in ('now', 'old'):
        if name == 'old':
            meta = json.load(open(os.path.join(out, 'dataset.json')))
            del meta['input_mean'], meta['input_std']
            json.dump(meta, open(os.path.join(out, 'dataset.json'), 'w'))
        folder_out = str(tmp_path / name)
        assert export_main([out, '--mode', 'mean', '--prune-snr', '0.1', '--output-dir',
                            folder_out]) == 0
        reports.append(json.load(open(os.path.join(folder_out, 'export_mean.json'))))
    assert reports[0]['input_scaling'].startswith('standardised in the graph')
    assert 'predates the record of input scaling' in reports[1]['input_scaling']
    assert reports[1]['rmse_before_pruning'] == pytest.approx(reports[0]['rmse_before_pruning'],
                                                              rel=1e-4)
    ds = tfbnn.data.load_dataset('uci', data_dir=folder)
    got = run_loader(tmp_path, 'pb', str(tmp_path / 'old' / 'frozen_mean.pb'), ds.x_test,
                     ['mean_prediction'])['mean_prediction'][0]
    assert np.sqrt(np.mean((got - (ds.y_test * ds.target_std + ds.target_mean)) ** 2)) == \
        pytest.approx(reports[1]['rmse_after_pruning'], rel=1e-4)


@pytest.mark.parametrize('setup,args,message', [
    (None, ['/nonexistent/run'], 'run directory /nonexistent/run does not exist'),
    ('no_ckpt', [], 'no checkpoint in'),
    ('broken_ckpt', [], 'is missing or incomplete'),
    ('index_only', [], 'model.ckpt-7.data-00000-of-00001; No such file or directory'),
    ('corrupt_ckpt', [], 'Checksum does not match'),  # the cause, not TF 2.x's preamble
    ('old_format', [], 'has config format 0; this tfbnn'),
    ('a_file', [], 'notes.txt is a file, not a folder'),
    ('meta_list', [], 'dataset.json is damaged (not a JSON object): the job writes it when a '
                      'run starts; restore it from a copy, or retrain'),
    ('meta_part', [], "dataset.json is damaged (input_shape None, not a list of positive "
                      "sizes)"),
    (None, ['--mode', 'bayes'], "argument --mode: invalid choice: 'bayes' (choose from 'sample', "
                                "'mean') (see tfbnn-export --help)"),
    (None, ['--no-saved-model', '--format', 'graphdef,savedmodel'],
     '--no-saved-model contradicts --format graphdef,savedmodel: give --format alone'),
    (None, ['--prune-snr', '1.5'], '--prune-snr must be a fraction in [0, 1)'),
    (None, ['--seed', '-1'], '--seed must be an integer in [0, 2147483647), got -1'),
    (None, ['--seed', '2147483647'], 'got 2147483647'),  # TensorFlow would take it as 0
    (None, ['--mode', 'mean', '--seed', '3'], '--seed needs --mode sample: the mean graph has '
                                              'no random op'),
    (None, ['--mode', 'mean', '--samples', '7'], '--samples needs --mode sample: the mean graph '
                                                 'draws no weights'),
    (None, ['--output-dir', '/dev/null/x'], 'cannot create the export folder /dev/null/x'),
])
def test_export_user_errors(trained, tmp_path, capsys, setup, args, message):
    run_dir = trained
    if setup:
        run_dir = str(tmp_path / 'copy')
        os.makedirs(run_dir)
        for name in ('config.json', 'dataset.json'):
            with open(os.path.join(trained, name)) as src, \
                    open(os.path.join(run_dir, name), 'w') as dst:
                dst.write(src.read())
        if setup == 'broken_ckpt':  # a data file without its index
            open(os.path.join(run_dir, 'model.ckpt-99.data-00000-of-00001'), 'w').close()
            args = ['--checkpoint', os.path.join(run_dir, 'model.ckpt-99')]
        if setup == 'index_only':  # an index whose data file is gone
            latest = tf.train.latest_checkpoint(trained)
            with open(latest + '.index', 'rb') as src, \
                    open(os.path.join(run_dir, 'model.ckpt-7.index'), 'wb') as dst:
                dst.write(src.read())
            args = ['--checkpoint', os.path.join(run_dir, 'model.ckpt-7')]
        if setup == 'corrupt_ckpt':  # index and data, 64 bytes of the data overwritten
            latest = tf.train.latest_checkpoint(trained)
            for suffix in ('.index', '.data-00000-of-00001'):
                with open(latest + suffix, 'rb') as src:
                    data = bytearray(src.read())
                if suffix != '.index':
                    data[100:164] = b'\xff' * 64
                with open(os.path.join(run_dir, 'model.ckpt-7' + suffix), 'wb') as dst:
                    dst.write(bytes(data))
            args = ['--checkpoint', os.path.join(run_dir, 'model.ckpt-7')]
        if setup == 'a_file':  # a file given where the run's folder goes
            open(str(tmp_path / 'notes.txt'), 'w').close()
            args = [str(tmp_path / 'notes.txt')]
        if setup in ('meta_list', 'meta_part'):
            with open(os.path.join(run_dir, 'dataset.json'), 'w') as f:
                f.write('[]' if setup == 'meta_list' else '{"task": "classification"}')
        if setup == 'old_format':
            cfg = json.load(open(os.path.join(run_dir, 'config.json')))
            cfg['config_format'] = 0
            json.dump(cfg, open(os.path.join(run_dir, 'config.json'), 'w'))
    argv = ([] if args and args[0].startswith('/') else [run_dir]) + args
    try:
        code = export_main(argv)
    except SystemExit as exit_:  # argparse's refusals
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith('tfbnn-export: error: ') and message in err and err.count('\n') == 1
    if setup:  # nothing was written, not even the export folder
        assert not os.path.exists(os.path.join(run_dir, 'export'))


def test_a_checkpoint_with_a_layer_the_run_lacks_is_refused(trained, tmp_path, capsys):
    # A batch-norm run's checkpoint holds every variable the plain run needs and
    # more: restoring it would drop the norms' weights and export another model.
    norm_run = str(tmp_path / 'norm')
    assert train_main(['--output-dir', norm_run, '--epochs', '1', '--hidden', '32',
                       '--norm', 'batch', '--eval-samples', '2', '--progress', 'never']) == 0
    out = str(tmp_path / 'export')
    assert export_main([trained, '--checkpoint', tf.train.latest_checkpoint(norm_run),
                        '--output-dir', out]) == 2
    err = capsys.readouterr().err
    assert err.startswith('tfbnn-export: error: %s holds model/' % tf.train.latest_checkpoint(
        norm_run)) and err.count('\n') == 1
    assert 'which this model has not: it was written by another model (same --model, ' \
        '--hidden, --norm and prior family needed)' in err
    assert not os.path.exists(out)


def test_a_checkpoint_rotated_away_while_read_exports_the_newest(trained, tmp_path,
                                                                 monkeypatch):
    """A run still training deletes its old checkpoints (--keep-checkpoints): the
    export follows the newest instead of failing, and says so."""
    import shutil
    run_dir = str(tmp_path / 'live')
    shutil.copytree(trained, run_dir)
    os.remove(os.path.join(run_dir, 'metrics.json'))
    old = tf.train.latest_checkpoint(run_dir)
    newer = os.path.join(run_dir, 'model.ckpt-999')
    real_reader = export.checkpoint_reader.reader

    def rotating_reader(path, *args):
        if path == old:  # the trainer saves step 999 and deletes this one meanwhile
            for suffix in ('.index', '.data-00000-of-00001'):
                shutil.copy(old + suffix, newer + suffix)
            tf.train.update_checkpoint_state(run_dir, newer)
            raise export.CheckpointError('cannot read checkpoint %s: not found' % path)
        return real_reader(path, *args)
    monkeypatch.setattr(export.checkpoint_reader, 'reader', rotating_reader)
    lines = []
    report = export.export_run(run_dir, str(tmp_path / 'exp'), mode='mean', log=lines.append)
    assert report['checkpoint'] == newer
    assert '  (%s was deleted while it was read: the run is still training; exporting %s)' % (
        old, newer) in lines
    assert '  (the run has no metrics.json yet: this is the checkpoint of an unfinished run)' \
        in lines
    # With --checkpoint named, nothing is followed: the one line stays.
    monkeypatch.setattr(export.checkpoint_reader, 'reader', rotating_reader)
    with pytest.raises(export.CheckpointError, match='not found'):
        export.export_run(run_dir, str(tmp_path / 'exp2'), mode='mean', checkpoint=old,
                          log=lines.append)


def test_a_newest_checkpoint_without_its_index_is_said_before_an_older_one_is_exported(
        trained, tmp_path, capfd):
    run_dir = str(tmp_path / 'run')
    shutil.copytree(trained, run_dir)
    newest = tf.train.latest_checkpoint(run_dir)
    for suffix in ('.index', '.data-00000-of-00001'):  # an older one, whatever the run kept
        shutil.copy(newest + suffix, os.path.join(run_dir, 'model.ckpt-1' + suffix))
    os.remove(newest + '.index')
    older = rundir.checkpoints_on_disk(run_dir)[-1]
    assert older != newest
    lines = []
    report = export.export_run(run_dir, str(tmp_path / 'exp'), mode='mean', log=lines.append)
    assert report['checkpoint'] == older
    assert lines[0] == ('tfbnn-export: %s, which the checkpoint state names, has no .index file '
                        '(incomplete or deleted): the newest complete one, %s, is taken'
                        % (os.path.basename(newest), os.path.basename(older)))
    assert "Couldn't match files" not in capfd.readouterr().err  # TensorFlow's own ERROR line


@pytest.mark.parametrize('suffix', ['.index', '.data-00000-of-00001', ''])
def test_checkpoint_may_name_one_of_its_files(trained, tmp_path, suffix):
    """Shell completion gives model.ckpt-12.index: it names the checkpoint
    model.ckpt-12 ('missing or incomplete (no .index file)' before)."""
    newest = tf.train.latest_checkpoint(trained)
    report = export.export_run(trained, str(tmp_path / 'exp'), mode='mean',
                               checkpoint=newest + suffix, log=lambda line: None)
    assert report['checkpoint'] == newest


def test_a_full_disk_in_the_saved_model_is_one_line_and_leaves_no_half_model(
        trained, tmp_path, capsys, monkeypatch):
    def full(self, *args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, 'save/SaveV2; No space left on device')
    monkeypatch.setattr(tf.saved_model.builder.SavedModelBuilder, 'save', full)
    out = tmp_path / 'exp'
    assert export_main([trained, '--mode', 'mean', '--output-dir', str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'Traceback' not in err
    assert 'cannot write the export in %s: save/SaveV2; No space left on device' % out in err
    assert 'the run is untouched: free space, then export again' in err
    assert not out.exists()  # made for this export, and left empty: removed
    out.mkdir()
    (out / 'notes.txt').write_text('mine')
    assert export_main([trained, '--mode', 'mean', '--output-dir', str(out)]) == 2
    assert os.listdir(str(out)) == ['notes.txt']  # a folder of the user's stays as it was


def test_a_full_disk_writing_a_file_names_it(trained, tmp_path, capsys, monkeypatch):
    """A write's OSError carries no file name: the line says which file."""
    import builtins
    import errno
    real_open = builtins.open

    class Full(object):
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fake_open(path, mode='r', *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        return Full(f) if str(path).endswith('export_mean.json.tmp') else f
    monkeypatch.setattr(builtins, 'open', fake_open)
    out = tmp_path / 'exp'
    assert export_main([trained, '--mode', 'mean', '--no-saved-model',
                        '--output-dir', str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert 'cannot write the export in %s: No space left on device' % (
        out / 'export_mean.json') in err
    assert not os.path.exists(str(out / 'export_mean.json.tmp'))
