"""Exports of `--model lstm`, whose sampled graph fixes K: ONNX files of an
unseeded export keep one random node per TensorFlow random op (tf2onnx's
optimizer merges random nodes of equal attributes and inputs, which made the
K unrolled draws one draw, mutual information 0), and the report gives K."""
import json

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import export_formats
from tfbnn.cli.export import main as export_main
from tfbnn.cli.train import main as train_main
from tests.test_export_formats import consume, onnx_seeds, skip_without_tf2onnx


@pytest.fixture(scope='module')
def trained_lstm(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('run') / 'lstm')
    assert train_main(['--output-dir', out, '--model', 'lstm', '--hidden', '16', '--epochs', '1',
                       '--eval-samples', '5', '--progress', 'never']) == 0
    return out


def tf_random_ops(path):
    graph_def = tf.GraphDef()
    with open(str(path), 'rb') as f:
        graph_def.ParseFromString(f.read())
    nodes = list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]
    return [n for n in nodes if n.op.startswith('Random') or n.op == 'TruncatedNormal']


def test_unseeded_lstm_onnx_keeps_k_independent_draws(trained_lstm, tmp_path):
    skip_without_tf2onnx()
    onnx = pytest.importorskip('onnx')
    out = tmp_path / 'exp'
    assert export_main([trained_lstm, '--samples', '5', '--format', 'graphdef,onnx',
                        '--output-dir', str(out)]) == 0
    want = len(tf_random_ops(out / export_formats.file_name('graphdef', 'sample')))
    path = out / export_formats.file_name('onnx', 'sample')
    seeds = onnx_seeds(onnx.load(str(path)).graph)
    assert want >= 5 and len(seeds) == want  # K = 5 draws of every kernel, none merged
    assert set(seeds) == {None}  # still unseeded: the runtime seeds each node
    x = tfbnn.data.load_dataset('digits').x_test[:12]
    first = consume(tmp_path, 'onnxruntime', path, x, repeats=2)
    assert np.all(first['mutual_information'] > 1e-7)  # the K draws disagree
    assert np.abs(first['probs'][0] - first['probs'][1]).max() > 1e-5  # fresh draws per call
    other = consume(tmp_path, 'onnxruntime', path, x)  # and per process
    assert np.abs(first['probs'][0] - other['probs'][0]).max() > 1e-5


def test_the_report_of_a_static_k_graph_gives_its_k(trained_lstm, tmp_path, capsys):
    out = tmp_path / 'exp'
    assert export_main([trained_lstm, '--samples', '3', '--output-dir', str(out)]) == 0
    report = json.loads((out / 'export_sample.json').read_text())
    assert report['fixed_num_samples'] == 3 and 'default_num_samples' not in report
    assert sorted(report['inputs']) == ['input']
    assert '(K = 3 draws, fixed in the graph: no num_samples input)' in capsys.readouterr().out
