"""tfbnn/recurrent.py: the job's Bayesian LSTM (the getter path), trained and exported."""
import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import models
from tfbnn.cli.export import main as export_main
from tfbnn.cli.train import main as train_main
from tfbnn.errors import ConfigError
from tests.test_export import run_loader


def _spec(**kw):
    options = dict(model='lstm', hidden=(8,), estimator='reparameterization',
                   prior=tfbnn.priors.normal(), norm='none', posterior_init_scale=0.1,
                   task='classification', output_units=3)
    options.update(kw)
    return models.ModelSpec(**options)


def test_k_samples_are_k_draws_and_the_kl_is_added_once(sess):
    x = tf.constant(np.random.RandomState(0).rand(4, 5, 6, 1).astype(np.float32))
    out = models.build_network(_spec(), x, sample=True, num_samples=3, shared_input=True)
    tiled = models.build_network(_spec(), tfbnn.predictive.tile_samples(x, 2), num_samples=2)
    mean = models.build_network(_spec(), x, sample=False).outputs
    assert out.outputs.shape.as_list() == [3, 4, 3]
    assert tiled.outputs.shape.as_list() == [2, 4, 3]
    kls = tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)
    assert sorted(k.op.name for k in kls) == ['model/lstm/output/kernel/kl_divergence',
                                              'model/lstm/rnn/cell/kernel/kl_divergence']
    sess.run(tf.global_variables_initializer())
    draws = sess.run(out.outputs)
    assert not np.allclose(draws[0], draws[1])
    np.testing.assert_array_equal(sess.run(mean), sess.run(mean))


@pytest.mark.parametrize('kw,match', [
    (dict(task='regression', output_units=1), 'model lstm is a classifier'),
    (dict(norm='batch'), 'model lstm takes no --norm'),
    (dict(hidden=()), r'model lstm takes its units from hidden\[0\]'),
])
def test_refusals(kw, match):
    with pytest.raises(ConfigError, match=match):
        models.build_network(_spec(**kw), tf.zeros([2, 5, 6, 1]))


def test_flat_inputs_are_refused():
    with pytest.raises(ConfigError, match='reads images'):
        models.build_network(_spec(), tf.zeros([2, 30]))


def test_images_of_unknown_height_are_refused():
    with pytest.raises(ConfigError, match=r'of known size row by row, got examples of shape '
                                          r'\(None, 6, 1\)'):
        models.build_network(_spec(), tf.placeholder(tf.float32, [None, None, 6, 1]))


@pytest.mark.slow
def test_the_job_learns_the_digits_row_by_row_and_exports(tmp_path):
    out = str(tmp_path / 'run')
    assert train_main(['--model', 'lstm', '--hidden', '32', '--epochs', '20', '--eval-samples',
                       '8', '--progress', 'never', '--output-dir', out]) == 0
    with open(os.path.join(out, 'metrics.json')) as f:
        metrics = json.load(f)
    assert metrics['test_error'] < 0.25  # 12.5% measured; chance is 90%
    assert metrics['mean_mutual_information'] > 1e-3
    x = tfbnn.data.load_digits().x_test[:7]
    for mode in ('mean', 'sample'):
        folder = str(tmp_path / mode)
        assert export_main([out, '--mode', mode, '--output-dir', folder]) == 0
    mean = run_loader(tmp_path, 'pb', str(tmp_path / 'mean' / 'frozen_mean.pb'), x,
                      ['mean_probs'], repeats=2)['mean_probs']
    np.testing.assert_array_equal(mean[0], mean[1])
    np.testing.assert_allclose(mean[0].sum(1), 1.0, rtol=1e-5)
    sampled = run_loader(tmp_path, 'pb', str(tmp_path / 'sample' / 'frozen_sample.pb'), x,
                         ['probs', 'mean_probs'], repeats=2)
    assert not np.allclose(sampled['probs'][0], sampled['probs'][1])  # fresh draws per run
    np.testing.assert_allclose(sampled['mean_probs'][0], mean[0], rtol=1e-5, atol=1e-6)
    # Its K is static (no serving loop); seeded, two exports loaded in two
    # processes draw the same sequence, which still changes from run to run.
    seeded = []
    for copy in ('a', 'b'):
        folder = str(tmp_path / ('seeded_' + copy))
        assert export_main([out, '--seed', '5', '--output-dir', folder, '--no-saved-model']) == 0
        seeded.append(run_loader(tmp_path, 'pb', os.path.join(folder, 'frozen_sample.pb'), x,
                                 ['probs'], repeats=2)['probs'])
    np.testing.assert_array_equal(seeded[0], seeded[1])
    assert not np.allclose(seeded[0][0], seeded[0][1])



def test_the_log_mean_exp_is_the_closed_form():
    log_p = np.log(np.random.RandomState(0).dirichlet(np.ones(4), size=(5, 3)))  # [K, B, C]
    log_p[:, 0] -= 800.0  # exp underflows in float64: only the shift keeps it
    want = np.log(np.mean(np.exp(log_p - log_p.max(0)), axis=0)) + log_p.max(0)
    with tf.Session(graph=tf.Graph()) as sess:
        got = sess.run(tfbnn.predictive._log_mean_exp(tf.constant(log_p), 5))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_the_sampled_onnx_graph_serves_an_empty_batch(tmp_path):
    """Its K is static, so it takes `tfbnn.predictive`'s log-mean-exp, whose
    shift once went through a reshape that onnxruntime failed on batch 0."""
    from tests.test_export_formats import consume, export, skip_without_tf2onnx
    skip_without_tf2onnx()
    out = str(tmp_path / 'run')
    assert train_main(['--model', 'lstm', '--hidden', '8', '--epochs', '1', '--eval-samples',
                       '2', '--progress', 'never', '--output-dir', out]) == 0
    path = export(out, tmp_path, 'sample', 'onnx')
    x = tfbnn.data.load_digits().x_test[:3]
    for batch in (3, 0):
        got = consume(tmp_path, 'onnxruntime', path, x[:batch])
        assert got['probs'].shape == (1, batch, 10) and got['entropy'].shape == (1, batch)
        np.testing.assert_allclose(got['probs'][0].sum(-1), np.ones(batch), rtol=1e-5)
