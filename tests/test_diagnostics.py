"""tfbnn.diagnostics against hand computation on a tiny network."""
import warnings

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import diagnostics, layers
from tests.layers.reference import softplus


def build(sess):
    rng = np.random.RandomState(0)
    x = rng.randn(5, 4)
    h = layers.dense(tf.constant(x), 3, sample=False, prior=tfbnn.priors.normal(0.5),
                     posterior_init_scale=0.1, name='fc1')
    out = layers.dense(tf.nn.tanh(h), 2, sample=False, bayesian_bias=False, name='fc2')
    nll_term = tf.reduce_mean(tf.reduce_sum(out, 1))
    coef = tf.constant(0.01, tf.float64)
    diag = diagnostics.layer_diagnostics(nll_term, coef)
    sess.run(tf.global_variables_initializer())
    return x, nll_term, coef, diag


def test_finds_the_layers_through_the_kl_collection(sess):
    _, _, _, diag = build(sess)
    assert list(diag) == ['fc1', 'fc2']
    values = sess.run(diag)
    assert values['fc1'].num_params == 4 * 3 + 3 and values['fc2'].num_params == 3 * 2
    kls = sess.run(tfbnn.losses.get_kl_losses())
    np.testing.assert_allclose([values['fc1'].kl, values['fc2'].kl], kls, rtol=1e-6)
    np.testing.assert_allclose(values['fc1'].kl_per_param, kls[0] / 15, rtol=1e-6)


def test_a_layer_counts_its_own_variables_not_those_of_a_layer_nested_in_its_name(sess):
    x = tf.ones([2, 4])
    layers.dense(x, 3, name='enc')
    with tf.variable_scope('enc'):
        layers.dense(x, 5, name='fc')
    diag = diagnostics.layer_diagnostics(tf.constant(1.0), tf.constant(0.1))
    sess.run(tf.global_variables_initializer())
    values = sess.run(diag)
    assert values['enc'].num_params == 4 * 3 + 3 and values['enc/fc'].num_params == 4 * 5 + 5


def test_a_scope_that_matches_no_layer_warns_and_gives_nothing():
    layers.dense(tf.ones([2, 4]), 3, name='net/fc')
    with pytest.warns(UserWarning) as caught:
        assert diagnostics.layer_diagnostics(tf.constant(1.0), 0.1, scope='nett') == {}
    assert str(caught[0].message).startswith(
        "tfbnn.diagnostics.layer_diagnostics: the collection 'tfbnn_kl_losses' has no layer's "
        "KL in scope 'nett' (scope= is a variable scope")
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert list(diagnostics.layer_diagnostics(tf.constant(1.0), 0.1, scope='net')) == [
            'net/fc']


def test_statistics_and_gradient_norms_match_hand_computation(sess):
    x, nll_term, coef, diag = build(sess)
    by_name = {v.op.name: v for v in tf.global_variables()}
    names = ['fc1/kernel_loc', 'fc1/kernel_rho', 'fc1/bias_loc', 'fc1/bias_rho']
    values, v = sess.run([diag, {n: by_name[n] for n in names}])
    mu = np.concatenate([v['fc1/bias_loc'].ravel(), v['fc1/kernel_loc'].ravel()])
    rho = np.concatenate([v['fc1/bias_rho'].ravel(), v['fc1/kernel_rho'].ravel()])
    sigma = softplus(rho) + 1e-6
    np.testing.assert_allclose(values['fc1'].mean_sigma, sigma.mean(), rtol=1e-5)
    snr = np.sort(np.abs(mu) / sigma)
    np.testing.assert_allclose(values['fc1'].snr_median, snr[int(round(0.5 * 14))], rtol=1e-5)
    # Normal prior sigma_p = 0.5: dKL/dmu = mu / sigma_p^2,
    # dKL/drho = (sigma / sigma_p^2 - 1 / sigma) * sigmoid(rho).
    g_mu = mu / 0.25
    g_rho = (sigma / 0.25 - 1 / sigma) / (1 + np.exp(-rho))
    expected_kl = 0.01 * np.sqrt(np.sum(g_mu ** 2) + np.sum(g_rho ** 2))
    np.testing.assert_allclose(values['fc1'].kl_grad_norm, expected_kl, rtol=1e-5)
    # The NLL part against tf.gradients taken separately.
    grad_ops = tf.gradients(nll_term, [by_name[n] for n in names])
    # sample=False: rho gets no data gradient at all.
    assert grad_ops[1] is None and grad_ops[3] is None
    grads = sess.run([g for g in grad_ops if g is not None])
    expected_nll = np.sqrt(sum(np.sum(np.square(g)) for g in grads))
    np.testing.assert_allclose(values['fc1'].nll_grad_norm, expected_nll, rtol=1e-5)
    np.testing.assert_allclose(values['fc1'].kl_to_nll_grad_ratio, expected_kl / expected_nll,
                               rtol=1e-5)


def test_a_plain_bias_is_not_in_the_layers_norms(sess):
    """fc2 has a plain bias: its NLL gradient norm is over fc2's mu and rho
    only, as for a layer built under bayesian_scope."""
    _, nll_term, _, diag = build(sess)
    by_name = {v.op.name: v for v in tf.global_variables()}
    assert 'fc2/bias' in by_name
    posterior = [by_name['fc2/kernel_loc'], by_name['fc2/kernel_rho']]
    grads = sess.run([g for g in tf.gradients(nll_term, posterior) if g is not None])
    expected = np.sqrt(sum(np.sum(np.square(g)) for g in grads))
    np.testing.assert_allclose(sess.run(diag['fc2'].nll_grad_norm), expected, rtol=1e-5)


def test_a_negative_coefficient_tensor_gives_a_norm_not_a_negative(sess):
    layers.dense(tf.ones([2, 4]), 3, name='fc')
    nll = tf.reduce_sum(tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)[0]) * 0 + 1.0
    plus = diagnostics.layer_diagnostics(nll, tf.constant(0.5))['fc']
    minus = diagnostics.layer_diagnostics(nll, tf.constant(-0.5))['fc']
    sess.run(tf.global_variables_initializer())
    a, b = sess.run([plus.kl_grad_norm, minus.kl_grad_norm])
    assert a > 0 and a == b


@pytest.mark.parametrize('nll,coef,match', [
    (None, 0.1, 'nll_term must be a float scalar'),
    ('x', 0.1, "nll_term must be a float scalar \\(a Tensor or a number\\), got 'x'"),
    ('vector', 0.1, r'nll_term must be a scalar, got shape \(2,\)'),
    ('scalar', 'x', "kl_coefficient must be a float scalar"),
    ('scalar', -1.0, 'kl_coefficient must be a finite number >= 0, got -1.0'),
    ('scalar', float('nan'), 'kl_coefficient must be a finite number >= 0, got nan'),
    ('scalar', True, 'kl_coefficient must be a float scalar'),
    ('scalar', tf.constant([0.1, 0.2]), r'kl_coefficient must be a scalar, got shape \(2,\)'),
    (np.zeros((30, 30), np.int64), 0.1,
     r'nll_term must be a float scalar \(a Tensor or a number\), got an array of int64, shape '
     r'\(30, 30\)$'),
    ('scalar', ['x' * 50] * 3, r"kl_coefficient must be a float scalar \(a Tensor or a number\), "
     r"got \['xxx.{72}\.\.\.$"),
])
def test_bad_terms_are_one_line(nll, coef, match):
    layers.dense(tf.ones([2, 4]), 3, name='fc')
    if isinstance(nll, str):
        nll = {'vector': tf.ones([2]), 'scalar': tf.constant(1.0)}.get(nll, nll)
    with pytest.raises(ValueError, match='^tfbnn.diagnostics.layer_diagnostics: ' + match):
        diagnostics.layer_diagnostics(nll, coef)


def test_an_int_coefficient_is_a_number(sess):
    layers.dense(tf.ones([2, 4]), 3, name='fc')
    one = diagnostics.layer_diagnostics(tf.constant(1.0), 1)['fc']
    sess.run(tf.global_variables_initializer())
    assert sess.run(one.kl_grad_norm) > 0


def test_table_summaries_and_dominated_layers(sess):
    _, _, _, diag = build(sess)
    values = sess.run(diag)
    table = diagnostics.format_table(values)
    lines = table.splitlines()
    assert len(lines) == 3 and lines[0].split()[0] == 'layer' and 'KL/NLL' in lines[0]
    assert lines[1].startswith('fc1') and lines[2].startswith('fc2')
    ratios = {k: d.kl_to_nll_grad_ratio for k, d in values.items()}
    assert diagnostics.dominated_layers(values, 0.0) == ['fc1', 'fc2']
    top = max(ratios, key=ratios.get)
    assert diagnostics.dominated_layers(values, ratios[top] * 0.999) == [top]
    summary = sess.run(diagnostics.add_summaries(diag))
    parsed = tf.Summary.FromString(summary)
    assert {v.tag for v in parsed.value} >= {'diagnostics/fc1/kl', 'diagnostics/fc2/snr_median'}
