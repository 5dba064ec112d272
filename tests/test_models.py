"""tfbnn.models: shapes, layer inventory, sample axes, heads and errors."""
import math
import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import models


def spec(model='mlp', task='classification', norm='none', estimator='flipout', units=3,
         hidden=(8, 8)):
    return models.ModelSpec(model, hidden, estimator, tfbnn.priors.normal(), norm, 1e-3, task,
                            units)


SHAPES = {'mlp': [5, 4, 4, 1], 'lenet5': [5, 8, 8, 1], 'conv3d': [5, 6, 6, 6, 1]}
LAYERS = {'mlp': ['fc1', 'fc2', 'output'], 'lenet5': ['conv1', 'conv2', 'fc1', 'fc2', 'output'],
          'conv3d': ['conv1', 'conv2', 'fc1', 'output']}


@pytest.mark.parametrize('model', sorted(SHAPES))  # lstm: tests/test_recurrent.py
@pytest.mark.parametrize('norm', models.NORMS)
def test_networks_build_with_and_without_sample_axes(sess, model, norm):
    x = np.random.RandomState(0).rand(*SHAPES[model]).astype(np.float32)
    s = spec(model, norm=norm)
    plain = models.build_network(s, tf.constant(x), training=True)
    tiled = models.build_network(s, tfbnn.predictive.tile_samples(tf.constant(x), 4),
                                 num_samples=4)
    shared = models.build_network(s, tf.constant(x), num_samples=4, shared_input=True)
    assert plain.outputs.shape.as_list() == [5, 3] and plain.noise_std is None
    assert tiled.outputs.shape.as_list() == shared.outputs.shape.as_list() == [4, 5, 3]
    kls = tfbnn.losses.get_kl_losses()
    assert [k.name for k in kls] == ['model/%s/kl_divergence:0' % n for n in LAYERS[model]]
    sess.run(tf.global_variables_initializer())
    a, b, c = sess.run([plain.outputs, tiled.outputs, shared.outputs])
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.all(np.isfinite(c))
    if norm == 'batch':  # two normalised layers, moving mean and variance each
        assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 4


@pytest.mark.parametrize('channels,positions,groups', [
    (100, 1, 4), (400, 1, 8), (64, 1, 4), (16, 1, 1), (8, 1, 1), (7, 1, 1), (2, 1, 1),
    (6, 784, 2), (8, 216, 8), (16, 4, 4), (6, None, 2), (8, None, 8)])
def test_group_count_leaves_at_least_16_values_per_group(channels, positions, groups):
    assert models.group_count(channels, positions) == groups


@pytest.mark.parametrize('channels,groups', [(8, 8), (16, 8), (100, 4), (6, 2), (7, 1)])
def test_group_count_0_is_the_rule_of_older_runs(channels, groups):
    assert models.group_count(channels, 1, 0) == groups == math.gcd(channels, 8)


def test_group_norm_of_a_one_unit_layer_is_refused():
    with pytest.raises(ValueError, match=r'^--norm group: a layer of 1 unit\(s\) at 1 '
                                         r'position\(s\) has one value per example'):
        models.group_count(1, 1)


@pytest.mark.parametrize('hidden', [(8, 8), (4,), (16, 16)])
def test_a_narrow_mlp_with_group_norm_still_tells_its_inputs_apart(sess, hidden):
    """8 groups of 8 units (the old gcd(C, 8)) left each unit at beta: every
    input gave the same logits. Now the groups hold 16 units, or all of them."""
    x = np.random.RandomState(3).rand(5, 4, 4, 1).astype(np.float32)
    out = models.build_network(spec(norm='group', hidden=hidden), tf.constant(x), sample=False)
    sess.run(tf.global_variables_initializer())
    logits = sess.run(out.outputs)
    assert np.ptp(logits, axis=0).max() > 1e-3


def test_regression_head_learns_a_noise_scale(sess):
    net = models.build_network(spec(task='regression', units=1), tf.zeros([6, 2]))
    assert net.outputs.shape.as_list() == [6]
    sess.run(tf.global_variables_initializer())
    assert math.isclose(sess.run(net.noise_std), 0.5, rel_tol=1e-6)
    assert 'model/log_noise_std:0' in [v.name for v in tf.trainable_variables()]


def test_gaussian_nll_matches_the_formula(sess):
    y, m, s = np.array([1.0, -2.0]), np.array([0.5, 0.0]), 0.7
    got = sess.run(models.gaussian_nll(tf.constant(y), tf.constant(m), tf.constant(s, tf.float64)))
    np.testing.assert_allclose(got, 0.5 * np.log(2 * np.pi * s ** 2) + (y - m) ** 2 / (2 * s ** 2))


def test_make_prior():
    assert isinstance(models.make_prior('normal', 0.1), tfbnn.priors.NormalPrior)
    mix = models.make_prior('scale_mixture', pi=0.25, sigma1=1.0, sigma2=0.01)
    assert (mix.pi, mix.sigma1, mix.sigma2) == (0.25, 1.0, 0.01)
    assert isinstance(models.make_prior('empirical_bayes'),
                      tfbnn.priors.EmpiricalBayesNormalPrior)
    with pytest.raises(ValueError, match="unknown prior 'laplace': choose one of normal, "
                                         "scale_mixture, empirical_bayes"):
        models.make_prior('laplace')


@pytest.mark.parametrize('model,shape,match', [
    ('lenet5', [2, 16],
     r'model lenet5 needs image \[height, width, channels\] \(or \[height, width\]\) inputs'),
    ('conv3d', [2, 8, 8, 1], r'model conv3d needs volume \[depth, height, width, channels\] '
                             r'\(or \[depth, height, width\]\) inputs, got examples of shape '
                             r'\(8, 8, 1\); volumes of width 4 or less without a channel axis '
                             r'are taken for images: add the axis, x\[..., None\]$'),
    ('conv3d', [2, 8, 8], r'got examples of shape \(8, 8\)$'),
    ('resnet', [2, 4], "unknown model 'resnet'"),
])
def test_model_input_errors(model, shape, match):
    with pytest.raises(ValueError, match=match):
        models.build_network(spec(model), tf.zeros(shape))


@pytest.mark.parametrize('model', ['lenet5', 'lstm', 'conv3d'])
@pytest.mark.parametrize('num_samples', [None, 2])
def test_one_channel_may_come_without_its_axis(sess, model, num_samples):
    """Images [batch, height, width] (Keras' mnist.npz) are one-channel
    images, and volumes [batch, depth, height, width] one-channel volumes,
    with or without a sample axis: the same outputs as with the channel axis
    stored. (A volume [d, h, w] of w <= 4 could be an image: refused above.)"""
    x = np.random.RandomState(0).rand(*((5, 6, 6, 6, 1) if model == 'conv3d' else (5, 8, 8, 1)))
    if model == 'conv3d':  # (TensorFlow's conv3d has no float64 kernel on CPU)
        x = x.astype(np.float32)
    if num_samples:
        x = np.stack([x, 1 - x])
    stored = models.build_network(spec(model), tf.constant(x), sample=False,
                                  num_samples=num_samples).outputs
    bare = models.build_network(spec(model), tf.constant(x[..., 0]), sample=False,
                                num_samples=num_samples).outputs
    sess.run(tf.global_variables_initializer())
    got, want = sess.run([bare, stored])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_shared_input_needs_num_samples():
    with pytest.raises(ValueError, match='shared_input=True needs num_samples'):
        models.build_network(spec(), tf.zeros([2, 4]), shared_input=True)


def test_noise_log_prior_is_the_gamma_log_density_over_log_precision(sess):
    from tfbnn.models import noise_log_prior
    std = tf.constant([0.5, 1.0, 2.0], tf.float64)
    got = sess.run(noise_log_prior(std, 6.0, 3.0))
    tau = 1.0 / np.array([0.5, 1.0, 2.0]) ** 2
    # log Gamma(tau; a, b) + log tau (the Jacobian of tau -> log tau), up to
    # the constant a log b - log Gamma(a).
    want = (6.0 - 1.0) * np.log(tau) - 3.0 * tau + np.log(tau)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # Its maximum over log tau is at tau = a / b.
    grid = np.linspace(-3, 3, 6001)
    best = grid[np.argmax(6.0 * grid - 3.0 * np.exp(grid))]
    assert abs(np.exp(best) - 2.0) < 0.01


def test_the_job_adds_the_noise_prior_to_the_loss(tmp_path):
    import json
    import os
    from tfbnn.cli.train import main
    runs = {}
    for prior in ('none', 'gamma'):
        out = str(tmp_path / prior)
        assert main(['--dataset', 'toy_regression', '--epochs', '1', '--eval-samples', '2',
                     '--progress', 'never', '--output-dir', out, '--noise-prior', prior,
                     '--noise-prior-shape', '50', '--noise-prior-rate', '1']) == 0
        with open(os.path.join(out, 'history.json')) as f:
            runs[prior] = json.load(f)
    # Same seed, same batches: the loss differs by the scaled prior term alone,
    # here large (a = 50 pulls the precision up), the NLL term by the drift.
    gap = runs['gamma']['loss'][0] - runs['none']['loss'][0]
    assert abs(gap) > 1e-3
    assert runs['gamma']['kl'][0] == pytest.approx(runs['none']['kl'][0], rel=0.05)


@pytest.mark.parametrize('name,variance', [('glorot_uniform', 2.0 / (400 + 300)),
                                           ('he_normal', 2.0 / 400), ('lecun_normal', 1.0 / 400)])
def test_mean_initializers_have_their_variance(sess, name, variance):
    w = tf.get_variable('w', [400, 300], tf.float64, initializer=models.mean_initializer(name))
    sess.run(tf.global_variables_initializer())
    values = sess.run(w)
    # 120000 draws: the sample variance within 3% of the design (truncated
    # normals are rescaled by TF to keep it).
    assert np.var(values) == pytest.approx(variance, rel=0.03)
    assert abs(values.mean()) < 5 * np.sqrt(variance / values.size)


@pytest.mark.parametrize('limit', [0.03, 0.5])
def test_uniform_mean_initializer_stays_within_its_limit_with_its_variance(sess, limit):
    assert models.uniform_mean_limit('uniform:%g' % limit) == limit
    w = tf.get_variable('w', [400, 300], tf.float64,
                        initializer=models.mean_initializer('uniform:%g' % limit))
    sess.run(tf.global_variables_initializer())
    values = sess.run(w)
    assert np.abs(values).max() <= limit and np.abs(values).max() > 0.999 * limit
    # U(-A, A): variance A^2 / 3; 120000 draws keep the sample variance within 2%.
    assert np.var(values) == pytest.approx(limit ** 2 / 3, rel=0.02)


def test_named_mean_initializers_have_no_limit():
    assert [models.uniform_mean_limit(n) for n in models.NAMED_MEAN_INITIALIZERS] == [None] * 3


@pytest.mark.parametrize('name,message', [
    ('zeros', "unknown posterior mean initializer 'zeros': choose one of glorot_uniform, "
              "he_normal, lecun_normal, uniform:A"),
    ('uniform', 'unknown posterior mean initializer'),
    ('uniform:', 'A in uniform:A must be a finite number > 0'),
    ('uniform:abc', 'A in uniform:A must be a finite number > 0'),
    ('uniform:0', 'A in uniform:A must be a finite number > 0'),
    ('uniform:-0.1', 'A in uniform:A must be a finite number > 0'),
    ('uniform:nan', 'A in uniform:A must be a finite number > 0'),
    ('uniform:inf', 'A in uniform:A must be a finite number > 0'),
    ('uniform: 0.03', 'A in uniform:A must be a finite number > 0'),
    ('uniform:1_0', 'A in uniform:A must be a finite number > 0'),
    (None, 'unknown posterior mean initializer None'),
])
def test_bad_mean_initializers_are_refused(name, message):
    with pytest.raises(tfbnn.errors.ConfigError, match=re.escape(message)):
        models.mean_initializer(name)
