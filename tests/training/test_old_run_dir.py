"""A run directory written before the typed configuration and the shared
lifecycle (tfbnn 0.1.0 at commit 73ae99b) still resumes and exports.

tests/fixtures/run_v0_1_0/ is such a run, as that code wrote it:
`scripts/train.py --hidden 8 --epochs 2 --eval-samples 2 --progress never
--keep-checkpoints 2 --output-dir /tmp/oldrun` on the built-in digits. Kept:
config.json, dataset.json, history.json, metrics.json, train.log, the
checkpoint state file and both checkpoints' index and data; left out (1.2 MB
of outputs that nothing reads back): the .meta graphs, TensorBoard events and
the plots.
"""
import os
import shutil

import numpy as np
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn.cli.export import main as export_main
from tfbnn.cli.train import main as train_main
from tfbnn.internal.jsonio import read_json

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures',
                       'run_v0_1_0')


def _copy(tmp_path):
    run = str(tmp_path / 'old_run')
    shutil.copytree(FIXTURE, run)
    return run


def _mean_network(checkpoint, x):
    """softmax(relu(x W1 + b1) W2 + b2) from the checkpoint's posterior means, in numpy."""
    reader = tf.train.NewCheckpointReader(checkpoint)

    def layer(name):
        return (reader.get_tensor('model/%s/kernel_loc' % name),
                reader.get_tensor('model/%s/bias_loc' % name))
    (w1, b1), (w2, b2) = layer('fc1'), layer('output')
    flat = x.reshape(x.shape[0], -1).astype(np.float64)
    logits = np.maximum(flat @ w1 + b1, 0.0) @ w2 + b2
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_the_fixture_is_an_old_run():
    config = read_json(os.path.join(FIXTURE, 'config.json'))
    assert config['tfbnn_version'] == '0.1.0' and config['output_dir'] == '/tmp/oldrun'
    assert read_json(os.path.join(FIXTURE, 'history.json'))['step'] == [12, 24]


def test_an_old_run_resumes_where_it_stopped(tmp_path, capsys):
    run = _copy(tmp_path)
    # The job's default --kl-weight has changed since (1 -> 0.1): a resume that
    # asks for it would switch objectives half-way, so it is refused, saying how.
    assert train_main(['--output-dir', run, '--resume', '--epochs', '3', '--hidden', '8',
                       '--kl-weight', '0.1', '--progress', 'never']) == 2
    assert capsys.readouterr().err.strip().endswith(
        'cannot resume: --kl-weight was 1.0 in the saved run, now 0.1; a resumed run keeps its '
        'objective: give --kl-weight 1.0, or start a new run')
    assert read_json(os.path.join(run, 'history.json')) == read_json(
        os.path.join(FIXTURE, 'history.json'))  # nothing touched
    # As any resume: the flags not given are the saved ones (--kl-weight 1 here).
    assert train_main(['--output-dir', run, '--resume', '--epochs', '3', '--eval-samples', '2',
                       '--progress', 'never']) == 0
    assert "--resume keeps the saved run's --hidden 8, --kl-weight 1.0," in capsys.readouterr().out
    metrics = read_json(os.path.join(run, 'metrics.json'))
    assert metrics['resumed_from_step'] == 24 and metrics['steps'] == 36 and metrics['completed']
    history = read_json(os.path.join(run, 'history.json'))
    old = read_json(os.path.join(FIXTURE, 'history.json'))
    assert history['step'] == [12, 24, 36] and history['epoch'] == [1, 2, 3]
    assert history['loss'][:2] == old['loss']  # the old epochs are kept as they were
    config = read_json(os.path.join(run, 'config.json'))
    assert config['kl_weight'] == 1.0 and config['hidden'] == [8] and config['epochs'] == 3
    log = open(os.path.join(run, 'train.log')).read()
    assert log.startswith(open(os.path.join(FIXTURE, 'train.log')).read())


def test_an_old_run_exports_its_checkpoint(tmp_path):
    run = _copy(tmp_path)
    assert export_main([run, '--mode', 'mean']) == 0
    x = tfbnn.data.load_dataset('digits').x_test[:16]
    graph = tf.Graph()
    with graph.as_default():
        graph_def = tf.GraphDef()
        with open(os.path.join(run, 'export', 'frozen_mean.pb'), 'rb') as f:
            graph_def.ParseFromString(f.read())
        tf.import_graph_def(graph_def, name='')
        with tf.Session(graph=graph) as sess:
            probs = sess.run('mean_probs:0', {'input:0': x})
    np.testing.assert_allclose(probs, _mean_network(os.path.join(run, 'model.ckpt-24'), x),
                               atol=1e-5)
