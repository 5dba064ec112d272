"""Behaviour every Bayesian layer shares (tfbnn/layers/_bayesian.py), over all kinds."""
import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import layers
from tests.layers import reference

ESTIMATORS = layers.ESTIMATORS

# kind -> (builder(inputs, **kw), input shape without a sample axis)
KINDS = {
    'dense': (lambda x, **kw: layers.dense(x, 3, **kw), [6, 5]),
    'conv1d': (lambda x, **kw: layers.conv1d(x, 3, 2, **kw), [4, 6, 2]),
    'conv2d': (lambda x, **kw: layers.conv2d(x, 3, 2, **kw), [3, 4, 4, 2]),
    'conv3d': (lambda x, **kw: layers.conv3d(x, 2, 2, **kw), [2, 3, 3, 3, 2]),
    'conv2d_transpose': (lambda x, **kw: layers.conv2d_transpose(
        x, 3, 3, strides=reference.TRANSPOSE_STRIDE, **kw), [3, 3, 3, 2]),
    'conv3d_transpose': (lambda x, **kw: layers.conv3d_transpose(
        x, 2, 2, strides=reference.TRANSPOSE_STRIDE, **kw), [2, 2, 2, 2, 2]),
}


def normal_kl_half(v):
    """KL(q || N(0, 0.5^2)) of a layer's kernel and bias, by the closed form."""
    return sum(
        np.sum(np.log(0.5 / v[p + '_scale']) + (v[p + '_scale'] ** 2 + v[p + '_loc'] ** 2) / 0.5
               - 0.5) for p in ('kernel', 'bias'))


def build(kind, x, **kw):
    return KINDS[kind][0](x, **kw)


def inputs(kind, dtype=np.float64, seed=0):
    return np.random.RandomState(seed).randn(*KINDS[kind][1]).astype(dtype)


def variables(sess, scope):
    """name -> value of the layer's variables, and its posterior scales."""
    values = {v.op.name.split('/')[-1]: sess.run(v)
              for v in tf.global_variables() if v.op.name.startswith(scope + '/')}
    for p in ('kernel', 'bias'):
        if p + '_rho' in values:
            values[p + '_scale'] = reference.softplus(values[p + '_rho']) + 1e-6
    return values


@pytest.mark.parametrize('kind', sorted(KINDS))
@pytest.mark.parametrize('estimator', ESTIMATORS)
def test_sampled_moments_match_the_closed_form(sess, kind, estimator):
    """Every estimator's per-unit mean and variance equal the exact ones."""
    x = inputs(kind)
    y = build(kind, tf.constant(x), estimator=estimator, posterior_init_scale=0.3,
              bias_loc_initializer=tf.constant_initializer(0.2), name='layer')
    sess.run(tf.global_variables_initializer())
    v = variables(sess, 'layer')
    mean, var = reference.moments(x, v['kernel_loc'], v['kernel_scale'], v['bias_loc'],
                                  v['bias_scale'], kind)
    draws = np.stack([sess.run(y) for _ in range(2000)])
    n = draws.shape[0]
    z_mean = (draws.mean(0) - mean) / np.sqrt(var / n)
    var_ratio = draws.var(0, ddof=1) / var
    # Gaussian outputs: the sample mean is within 6.5 standard errors, the
    # sample variance within 6.5 x sqrt(2 / (n - 1)) relative, for every unit
    # (about 2,700 checks over the estimators: with new seeds a correct layer
    # fails with a chance of about 1e-6); averaged over units the ratio is within
    # 0.05 of 1.
    assert np.abs(z_mean).max() < 6.5
    assert np.abs(var_ratio - 1).max() < 6.5 * np.sqrt(2.0 / (n - 1))
    assert abs(var_ratio.mean() - 1) < 0.05


@pytest.mark.parametrize('kind', sorted(KINDS))
@pytest.mark.parametrize('estimator', ESTIMATORS)
def test_sample_false_is_the_deterministic_posterior_mean(sess, kind, estimator):
    x = inputs(kind)
    y = build(kind, tf.constant(x), estimator=estimator, sample=False, posterior_init_scale=0.3,
              bias_loc_initializer=tf.constant_initializer(0.1), name='layer')
    sess.run(tf.global_variables_initializer())
    v = variables(sess, 'layer')
    first, second = sess.run(y), sess.run(y)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, reference.linear(x, v['kernel_loc'], kind) + v['bias_loc'],
                               rtol=1e-10)
    random_ops = [op for op in tf.get_default_graph().get_operations()
                  if op.type.startswith('Random') and op.name.startswith('layer/')
                  and 'Initializer' not in op.name]
    assert not random_ops


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_sample_tensor_switches_at_run_time(sess, kind):
    x = inputs(kind)
    flag = tf.placeholder_with_default(True, [])
    y = build(kind, tf.constant(x), sample=flag, posterior_init_scale=0.3, name='layer')
    sess.run(tf.global_variables_initializer())
    v = variables(sess, 'layer')
    mean = reference.linear(x, v['kernel_loc'], kind) + v['bias_loc']
    np.testing.assert_allclose(sess.run(y, {flag: False}), mean, rtol=1e-10)
    assert np.abs(sess.run(y) - mean).max() > 1e-3


@pytest.mark.parametrize('kind', sorted(KINDS))
@pytest.mark.parametrize('estimator', ESTIMATORS)
def test_one_kl_per_layer_equal_to_the_normal_formula(sess, kind, estimator):
    y = build(kind, tf.constant(inputs(kind)), estimator=estimator, posterior_init_scale=0.05,
              prior=tfbnn.priors.normal(0.5), name='layer')
    kls = tfbnn.losses.get_kl_losses()
    assert len(kls) == 1 and kls[0].shape.ndims == 0
    assert kls[0].name == 'layer/kl_divergence:0'
    assert not tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    sess.run(tf.global_variables_initializer())
    v = variables(sess, 'layer')
    expected = normal_kl_half(v)
    np.testing.assert_allclose(sess.run(kls[0]), expected, rtol=1e-10)
    assert y.dtype == tf.float64


@pytest.mark.parametrize('kind', sorted(KINDS))
@pytest.mark.parametrize('reuse', [True, tf.AUTO_REUSE])
def test_reuse_draws_a_fresh_sample_and_adds_no_kl(sess, kind, reuse):
    x = tf.constant(inputs(kind))
    first = build(kind, x, posterior_init_scale=0.3, name='shared')
    n_vars = len(tf.global_variables())
    second = build(kind, x, posterior_init_scale=0.3, name='shared', reuse=reuse)
    assert len(tf.global_variables()) == n_vars
    assert len(tfbnn.losses.get_kl_losses()) == 1
    sess.run(tf.global_variables_initializer())
    a, b = sess.run([first, second])
    assert np.abs(a - b).max() > 1e-3


class FailsOnce(tfbnn.priors.Prior):
    """A prior whose first KL raises, as a bug in a user's prior would."""

    def __init__(self):
        self.calls = 0

    def kl_divergence(self, loc, scale, samples=None, name=None):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError('the first KL fails')
        return tfbnn.priors.normal(0.5).kl_divergence(loc, scale)


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_a_retry_after_a_failed_first_call_makes_the_kl_once(sess, kind):
    """The failed call left the variables without a KL: the retry (reuse, as
    TensorFlow's message advises) makes it, and a later reuse adds none."""
    x = tf.constant(inputs(kind))
    prior = FailsOnce()
    with pytest.raises(RuntimeError, match='the first KL fails'):
        build(kind, x, prior=prior, name='layer')
    build(kind, x, prior=prior, name='layer', reuse=tf.AUTO_REUSE)
    build(kind, x, prior=prior, name='layer', reuse=True)
    kls = tfbnn.losses.get_kl_losses()
    assert len(kls) == 1
    sess.run(tf.global_variables_initializer())
    v = variables(sess, 'layer')
    expected = normal_kl_half(v)
    np.testing.assert_allclose(sess.run(kls[0]), expected, rtol=1e-10)


def test_custom_collection_and_plain_bias(sess):
    x = tf.constant(inputs('dense'))
    layers.dense(x, 3, kl_collection='mine', bayesian_bias=False, name='a')
    layers.dense(x, 3, use_bias=False, name='b')
    assert len(tf.get_collection('mine')) == 1
    assert len(tfbnn.losses.get_kl_losses()) == 1
    names = sorted(v.op.name for v in tf.global_variables())
    assert names == ['a/bias', 'a/kernel_loc', 'a/kernel_rho', 'b/kernel_loc', 'b/kernel_rho']


class RecordingPrior(tfbnn.priors.Prior):
    """A mock prior: KL = 7 per variable, remembers the samples it was given."""

    def __init__(self, requires_samples):
        self.requires_samples = requires_samples
        self.seen = []

    def kl_divergence(self, loc, scale, samples=None, name=None):
        self.seen.append(None if samples is None else samples.shape.as_list())
        return tf.constant(7.0, loc.dtype.base_dtype)


@pytest.mark.parametrize('estimator', ESTIMATORS)
@pytest.mark.parametrize('num_samples', [None, 4])
def test_pluggable_prior_gets_the_weight_samples(sess, estimator, num_samples):
    prior = RecordingPrior(requires_samples=True)
    shape = ([num_samples] if num_samples else []) + [6, 5]
    layers.dense(tf.zeros(shape), 3, prior=prior, estimator=estimator, num_samples=num_samples)
    assert sess.run(tfbnn.losses.kl_divergence()) == 14.0
    # The layer's own draws when it has them (K of them), else one fresh draw.
    k = num_samples if (num_samples and estimator != 'local_reparameterization') else 1
    assert prior.seen == [[k, 5, 3], [k, 3]]
    analytic = RecordingPrior(requires_samples=False)
    layers.dense(tf.zeros([2, 5]), 3, prior=analytic)
    assert analytic.seen == [None, None]


@pytest.mark.parametrize('kind', sorted(KINDS))
@pytest.mark.parametrize('estimator', ESTIMATORS)
def test_gradients_reach_loc_and_rho(sess, kind, estimator):
    x = inputs(kind)
    y = build(kind, tf.constant(x), estimator=estimator, prior=tfbnn.priors.scale_mixture(),
              name='layer')
    loss = tf.reduce_sum(y) + tfbnn.losses.kl_divergence()
    params = [v for v in tf.trainable_variables()]
    assert sorted(p.op.name for p in params) == ['layer/bias_loc', 'layer/bias_rho',
                                                 'layer/kernel_loc', 'layer/kernel_rho']
    grads = tf.gradients(loss, params)
    sess.run(tf.global_variables_initializer())
    for p, g in zip(params, sess.run(grads)):
        assert np.all(np.isfinite(g)), p.op.name
        assert np.abs(g).max() > 0, p.op.name


@pytest.mark.parametrize('estimator', ESTIMATORS)
def test_data_gradient_wrt_loc_matches_hand_computation(sess, estimator):
    """d sum(x W + b) / d mu_ij = sum_b x_bi for every estimator (E[noise] enters linearly)."""
    x = inputs('dense')
    y = layers.dense(tf.constant(x), 3, estimator=estimator, name='layer')
    loc = [v for v in tf.global_variables() if v.op.name == 'layer/kernel_loc'][0]
    sess.run(tf.global_variables_initializer())
    g = sess.run(tf.gradients(tf.reduce_sum(y), loc)[0])
    np.testing.assert_allclose(g, np.repeat(x.sum(0)[:, None], 3, axis=1), rtol=1e-10)


def test_kl_gradient_matches_hand_computation(sess):
    """Normal prior sigma: dKL/dmu = mu / sigma^2, dKL/drho = (s / sigma^2 - 1 / s) sigmoid(rho)."""
    layers.dense(tf.constant(inputs('dense')), 3, prior=tfbnn.priors.normal(0.7),
                 bayesian_bias=False, posterior_init_scale=0.2, name='layer')
    kl = tfbnn.losses.kl_divergence()
    loc, rho = [v for v in tf.global_variables() if 'kernel' in v.op.name]
    sess.run(tf.global_variables_initializer())
    g_loc, g_rho, mu, r = sess.run(tf.gradients(kl, [loc, rho]) + [loc, rho])
    s = reference.softplus(r) + 1e-6
    np.testing.assert_allclose(g_loc, mu / 0.49, rtol=1e-10)
    np.testing.assert_allclose(g_rho, (s / 0.49 - 1 / s) / (1 + np.exp(-r)), rtol=1e-8)


@pytest.mark.parametrize('kind', sorted(KINDS))
@pytest.mark.parametrize('estimator', ESTIMATORS)
def test_num_samples_slices_are_independent_draws(sess, kind, estimator):
    """K slices differ, and their spread matches the exact variance (= K separate calls)."""
    k = 300 if kind == 'dense' else 40
    x = inputs(kind)
    xk = np.repeat(x[None], k, axis=0)
    y = build(kind, tf.constant(xk), estimator=estimator, num_samples=k,
              posterior_init_scale=0.3, name='layer')
    single = build(kind, tf.constant(x), estimator=estimator, name='layer', reuse=True)
    assert y.shape.as_list()[0] == k
    sess.run(tf.global_variables_initializer())
    v = variables(sess, 'layer')
    _, var = reference.moments(x, v['kernel_loc'], v['kernel_scale'], v['bias_loc'],
                               v['bias_scale'], kind)
    slices = sess.run(y)
    separate = np.stack([sess.run(single) for _ in range(k)])
    assert np.abs(slices[0] - slices[1]).min() > 0
    for draws in (slices, separate):
        ratio = (draws.var(0, ddof=1) / var).mean()
        # Mean over units of a chi-square ratio with k - 1 dof; units are
        # correlated through shared weights, so allow 6 single-unit sigmas.
        assert abs(ratio - 1) < 6 * np.sqrt(2.0 / (k - 1)), ratio


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_reparameterization_shares_one_draw_across_the_batch(sess, kind):
    """Identical rows give identical outputs under one shared kernel draw,
    distinct ones under flipout and local reparameterisation."""
    x = np.repeat(inputs(kind)[:1], 8, axis=0)
    shared = build(kind, tf.constant(x), posterior_init_scale=0.3)
    flip = build(kind, tf.constant(x), estimator='flipout', posterior_init_scale=0.3)
    lrt = build(kind, tf.constant(x), estimator='local_reparameterization', posterior_init_scale=0.3)
    sess.run(tf.global_variables_initializer())
    a, b, c = sess.run([shared, flip, lrt])
    np.testing.assert_allclose(a, np.repeat(a[:1], 8, axis=0), rtol=1e-12)
    # Flipout signs can coincide for two rows (p = 2^-(channels in + out)), not for all 8.
    assert np.abs(b - b[:1]).max() > 1e-3
    assert np.abs(c - c[:1]).max() > 1e-3


@pytest.mark.parametrize('kind', sorted(KINDS))
@pytest.mark.parametrize('estimator', ESTIMATORS)
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_dtypes(sess, kind, estimator, dtype):
    y = build(kind, tf.constant(inputs(kind, dtype)), estimator=estimator,
              prior=tfbnn.priors.scale_mixture(), activation=tf.nn.relu)
    kl = tfbnn.losses.kl_divergence()
    assert y.dtype.as_numpy_dtype == dtype and kl.dtype.as_numpy_dtype == dtype
    sess.run(tf.global_variables_initializer())
    out, kl_value = sess.run([y, kl])
    assert np.all(np.isfinite(out)) and np.all(out >= 0) and np.isfinite(kl_value)


@pytest.mark.parametrize('kind', sorted(KINDS))
@pytest.mark.parametrize('estimator', ESTIMATORS)
def test_shared_inputs_give_k_independent_draws_of_the_exact_moments(sess, kind, estimator):
    """With shared_inputs the K slices of one call are draws of the same exact
    per-unit distribution as with tiled inputs."""
    k = 400 if kind == 'dense' else 200
    x = inputs(kind)
    y = build(kind, tf.constant(x), estimator=estimator, num_samples=k, shared_inputs=True,
              posterior_init_scale=0.3, name='layer')
    mean_only = build(kind, tf.constant(x), estimator=estimator, num_samples=k,
                      shared_inputs=True, sample=False, name='layer', reuse=True)
    assert y.shape.as_list()[:2] == [k, x.shape[0]]
    sess.run(tf.global_variables_initializer())
    v = variables(sess, 'layer')
    mean, var = reference.moments(x, v['kernel_loc'], v['kernel_scale'], v['bias_loc'],
                                  v['bias_scale'], kind)
    draws = sess.run(y)
    assert np.abs(draws[0] - draws[1]).min() > 0
    z_mean = (draws.mean(0) - mean) / np.sqrt(var / k)
    ratio = draws.var(0, ddof=1) / var
    assert np.abs(z_mean).max() < 5.5
    assert abs(ratio.mean() - 1) < 6 * np.sqrt(2.0 / (k - 1)), ratio.mean()
    fixed = sess.run(mean_only)
    np.testing.assert_array_equal(fixed, np.repeat(fixed[:1], k, axis=0))
    np.testing.assert_allclose(fixed[0], reference.linear(x, v['kernel_loc'], kind)
                               + v['bias_loc'], rtol=1e-10)


def test_shared_inputs_errors():
    with pytest.raises(ValueError, match='shared_inputs=True needs num_samples'):
        layers.dense(tf.zeros([2, 3]), 4, shared_inputs=True)
    with pytest.raises(ValueError, match=r"conv2d 'c': inputs must have rank 4, got shape "
                                         r"\(3, 2, 5, 5, 1\)"):
        layers.conv2d(tf.zeros([3, 2, 5, 5, 1]), 2, 3, num_samples=3, shared_inputs=True,
                      name='c')
    with pytest.raises(ValueError, match='shared_inputs must be a Python bool'):
        layers.dense(tf.zeros([2, 3]), 4, num_samples=2, shared_inputs='yes')


def test_tensorflows_refusal_to_make_the_variables_is_one_line_naming_the_layer():
    x = tf.zeros([2, 3])
    with pytest.raises(tfbnn.errors.ConfigError) as err:
        layers.dense(x, 2, bias_loc_initializer=tf.constant_initializer([1.0, 2.0, 3.0]),
                     name='d')
    assert str(err.value).startswith("dense 'd': cannot make its variables (kernel [3, 2], "
                                     "bias [2]): Too many elements provided.")
    layers.dense(x, 2, name='e')
    with pytest.raises(tfbnn.errors.ConfigError) as err:
        layers.dense(x, 2, use_bias=False, name='e')
    assert str(err.value) == (
        "dense 'e': cannot make its variables (kernel [3, 2]): Variable e/kernel_loc already "
        "exists, disallowed. Did you mean to set reuse=True or reuse=tf.AUTO_REUSE in VarScope?")


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_a_layer_built_in_a_tf_function_keeps_its_kl_in_the_graphs_collection(kind, sess):
    x = tf.constant(inputs(kind))

    @tf.function  # AutoGraph on: TF 1.15 converts what the function calls
    def model(x):
        return build(kind, x, posterior_init_scale=0.3, name='layer', reuse=tf.AUTO_REUSE)
    model(x)
    kls = tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)
    assert [k.name for k in kls] == ['layer/kl_divergence:0']
    sess.run(tf.global_variables_initializer())
    values = variables(sess, 'layer')
    # KL(N(mu, s^2) || N(0, 1)) summed: log(1 / s) + (s^2 + mu^2) / 2 - 1/2.
    want = sum(np.sum(-np.log(values[p + '_scale'])
                      + (values[p + '_scale'] ** 2 + values[p + '_loc'] ** 2) / 2 - 0.5)
               for p in ('kernel', 'bias'))
    np.testing.assert_allclose(sess.run(tfbnn.losses.kl_divergence()), want, rtol=1e-10)


@pytest.mark.parametrize('where', ['cond', 'function'])
def test_a_sampled_kl_inside_control_flow_is_refused_in_one_line(where):
    x = tf.constant(inputs('dense'))
    prior = tfbnn.priors.scale_mixture(0.5, 1.0, 0.002)

    def fc(x):
        return layers.dense(x, 3, prior=prior, name='fc', reuse=tf.AUTO_REUSE)
    with pytest.raises(tfbnn.errors.ConfigError, match=r"^dense 'fc': its prior's KL is "
                                                       r"estimated from the layer's own draws"):
        if where == 'cond':
            tf.cond(tf.constant(True), lambda: fc(x), lambda: x[:, :3])
        else:
            tf.function(fc, autograph=False)(x)
    assert not tf.global_variables()
    fc(x)  # created outside; a reuse inside is fine
    tf.cond(tf.constant(True), lambda: fc(x), lambda: x[:, :3])
    assert len(tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)) == 1


def test_a_partitioned_scope_is_refused_in_one_line():
    with tf.variable_scope('model', partitioner=tf.fixed_size_partitioner(2)):
        with pytest.raises(tfbnn.errors.ConfigError, match=r"^dense 'fc': its variable scope has "
                                                           r"a partitioner"):
            layers.dense(tf.constant(inputs('dense')), 4, name='fc')


def test_a_reuse_call_asking_for_another_prior_is_refused():
    x = tf.constant(inputs('dense'))
    with tf.variable_scope('model'):
        layers.dense(x, 4, name='fc', sample=False)  # the eval tower first: N(0, 1)
    with tf.variable_scope('model', reuse=True):
        with pytest.raises(tfbnn.errors.ConfigError, match=re.escape(
                "dense 'fc': this call reuses the layer with prior=normal(stddev=0.1, mean=0), "
                "but its KL was made, once, by the call that created it, with "
                "prior=normal(stddev=1, mean=0): give the prior to that call")):
            layers.dense(x, 4, name='fc', prior=tfbnn.priors.normal(0.1))
        layers.dense(x, 4, name='fc')  # the defaults: whatever made it
        layers.dense(x, 4, name='fc', kl_collection='elsewhere')  # a reuse adds no KL
        layers.dense(x, 4, name='fc', prior=tfbnn.priors.normal(1.0))  # the same prior
    with tf.variable_scope('other'):
        layers.dense(x, 4, name='fc', prior=tfbnn.priors.normal(0.1))
    with tf.variable_scope('other', reuse=True):
        layers.dense(x, 4, name='fc')  # the defaults: reuse what made it
        layers.dense(x, 4, name='fc', prior=tfbnn.priors.normal(0.1))
    assert len(tfbnn.losses.get_kl_losses()) == 2
    # The record is a string: a MetaGraph keeps it (bytes when imported).
    meta = tf.train.export_meta_graph()
    with tf.Graph().as_default():
        tf.train.import_meta_graph(meta)
        x = tf.constant(inputs('dense'))
        with tf.variable_scope('model', reuse=tf.AUTO_REUSE):
            layers.dense(x, 4, name='fc')
            with pytest.raises(tfbnn.errors.ConfigError, match='this call reuses the layer'):
                layers.dense(x, 4, name='fc', prior=tfbnn.priors.normal(0.1))


def test_a_reuse_call_with_a_prior_of_no_repr_of_its_own_is_not_compared():
    """A user's prior class reprs as its address: two equal ones differ."""
    class Mine(tfbnn.priors.Prior):
        def kl_divergence(self, loc, scale, samples=None, name=None):
            return tf.reduce_sum(tf.square(loc))
    x = tf.constant(inputs('dense'))
    for _ in range(2):
        layers.dense(x, 4, name='fc', prior=Mine(), reuse=tf.AUTO_REUSE)
    assert len(tfbnn.losses.get_kl_losses()) == 1
