"""tfbnn.custom_getter / bayesian_scope: existing get_variable code made Bayesian."""
import warnings

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import diagnostics, pruning
from tfbnn.errors import ConfigError
from tests import legacy_layers
from tests.layers.reference import softplus


def _mlp(x, reuse=None):
    """Plain TF1 code: get_variable weights, tf.nn ops, a bias and a scalar."""
    with tf.variable_scope('net', reuse=reuse):
        w1 = tf.get_variable('w1', [3, 4], tf.float64)
        b1 = tf.get_variable('b1', [4], tf.float64, tf.zeros_initializer())
        w2 = tf.get_variable('w2', [4, 2], tf.float64)
        steps = tf.get_variable('steps', [], tf.int64, tf.zeros_initializer(), trainable=False)
        return tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2), steps


def _by_name():
    return {v.op.name: v for v in tf.global_variables()}


def test_kernels_become_posteriors_with_the_closed_form_kl(sess):
    x = tf.constant(np.random.RandomState(0).randn(5, 3))
    with tfbnn.bayesian_scope('bnn', prior=tfbnn.priors.normal(0.5),
                              posterior_init_scale=(0.05, 0.2)):
        out, _ = _mlp(x)
    names = sorted(_by_name())
    assert names == ['bnn/net/b1', 'bnn/net/steps', 'bnn/net/w1', 'bnn/net/w1_rho',
                     'bnn/net/w2', 'bnn/net/w2_rho']
    kls = tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)
    assert [k.op.name for k in kls] == ['bnn/net/w1/kl_divergence', 'bnn/net/w2/kl_divergence']
    sess.run(tf.global_variables_initializer())
    v = sess.run(_by_name())
    for name, kl in zip(('w1', 'w2'), sess.run(kls)):
        mu, s = v['bnn/net/' + name], softplus(v['bnn/net/%s_rho' % name]) + 1e-6
        want = np.sum(np.log(0.5 / s) + (s ** 2 + mu ** 2) / (2 * 0.25) - 0.5)
        np.testing.assert_allclose(kl, want, rtol=1e-10)
    # Gradients of the KL and of the output reach both mean and rho.
    loss = tf.reduce_sum(out) + tf.add_n(kls)
    grads = tf.gradients(loss, [_by_name()[n] for n in ('bnn/net/w1', 'bnn/net/w1_rho')])
    assert all(np.all(np.isfinite(g)) and np.any(g != 0) for g in sess.run(grads))


def test_a_reuse_asking_for_another_prior_is_refused():
    # The KL is made once, by the build that creates the posterior: a reuse
    # with another prior would be ignored without a word.
    x = tf.constant(np.ones([2, 3]))
    with tfbnn.bayesian_scope('bnn', prior=tfbnn.priors.normal(0.5)):
        _mlp(x)
    with tfbnn.bayesian_scope('bnn', reuse=True):  # the default prior: "as made"
        _mlp(x, reuse=True)
    with tfbnn.bayesian_scope('bnn', prior=tfbnn.priors.normal(0.5), reuse=True):
        _mlp(x, reuse=True)
    with pytest.raises(ConfigError) as err:
        with tfbnn.bayesian_scope('bnn', prior=tfbnn.priors.normal(3.0), reuse=True):
            _mlp(x, reuse=True)
    assert str(err.value) == (
        "bayesian_scope/custom_getter (variable 'bnn/net/w1'): this call reuses the posterior "
        "with prior=normal(stddev=3, mean=0), but its KL was made, once, by the call that "
        "created it, with prior=normal(stddev=0.5, mean=0): give the prior to that call")
    assert len(tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)) == 2


def test_sample_false_is_deterministic_and_reuse_draws_afresh_without_kl(sess):
    x = tf.constant(np.ones([2, 3]))
    sample = tf.placeholder_with_default(True, [])
    with tfbnn.bayesian_scope('bnn', sample=sample, posterior_init_scale=0.3):
        first, _ = _mlp(x)
    with tfbnn.bayesian_scope('bnn', sample=sample, posterior_init_scale=0.3, reuse=True):
        second, _ = _mlp(x, reuse=True)
    assert len(tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)) == 2
    sess.run(tf.global_variables_initializer())
    a, b = sess.run([first, second])
    assert not np.allclose(a, b)  # two builds, two draws
    m1, m2 = sess.run([first, second], {sample: False})
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(m1, sess.run(first, {sample: False}))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _replay(cell, x, kernel, bias, units):
    """The cell's recurrence in numpy with ONE kernel for all steps."""
    h = np.zeros([x.shape[0], units])
    c = np.zeros_like(h)
    out = []
    for t in range(x.shape[1]):
        z = np.concatenate([x[:, t], h], 1) @ kernel + bias
        if cell == 'basic':
            h = np.tanh(z)
        else:  # LSTMCell: i, j, f, o with forget_bias 1
            i, j, f, o = np.split(z, 4, axis=1)
            c = _sigmoid(f + 1.0) * c + _sigmoid(i) * np.tanh(j)
            h = _sigmoid(o) * np.tanh(c)
        out.append(h)
    return np.stack(out, 1)


@pytest.mark.parametrize('cell', ['basic', 'lstm'])
def test_every_time_step_of_an_rnn_uses_one_weight_sample(sess, cell):
    steps, units = 7, 3
    x_value = np.random.RandomState(2).randn(2, steps, 2)
    x = tf.constant(x_value)
    make = tfbnn.rnn_cells.BasicRNNCell if cell == 'basic' else tfbnn.rnn_cells.LSTMCell
    with tfbnn.bayesian_scope('rnn', posterior_init_scale=0.5):
        outputs, _ = tf.nn.dynamic_rnn(make(units, dtype=tf.float64), x, dtype=tf.float64)
    draws = [op for op in tf.get_default_graph().get_operations()
             if op.name.endswith('kernel_draw/sample')]
    assert len(draws) == 1  # one draw op, built outside the while loop
    assert draws[0]._control_flow_context is None  # pylint: disable=protected-access
    bias = [v for v in tf.global_variables() if v.op.name.endswith('bias')][0]
    sess.run(tf.global_variables_initializer())
    sess.run(bias.assign(np.random.RandomState(3).randn(*bias.shape.as_list())))
    runs = []
    for _ in range(3):
        out, kernel, b = sess.run([outputs, draws[0].outputs[0], bias])
        # The whole sequence is reproduced by the one kernel of this pass.
        np.testing.assert_allclose(out, _replay(cell, x_value, kernel, b, units),
                                   rtol=1e-9, atol=1e-12)
        runs.append(out)
    assert not np.allclose(runs[0], runs[1])  # and each pass draws anew


def test_diagnostics_and_pruning_see_getter_posteriors(sess):
    x = tf.constant(np.random.RandomState(1).randn(4, 3))
    with tfbnn.bayesian_scope('bnn', posterior_init_scale=0.1):
        out, _ = _mlp(x)
    diag = diagnostics.layer_diagnostics(tf.reduce_mean(out), tf.constant(0.01))
    assert list(diag) == ['bnn/net/w1', 'bnn/net/w2']
    assert list(diagnostics.kernel_posteriors()) == ['bnn/net/w1', 'bnn/net/w2']
    sess.run(tf.global_variables_initializer())
    values = sess.run(diag)
    assert values['bnn/net/w1'].num_params == 12
    pruned, total, _ = pruning.prune_by_snr(sess, 0.5)
    assert total == 12 + 8 and abs(pruned - 10) <= 1
    assert pruning.pruned_fraction(sess) == pytest.approx(pruned / 20.0)


def test_bad_options_and_an_include_that_matches_nothing():
    with pytest.raises(ConfigError, match='include must be None, a regular expression'):
        tfbnn.custom_getter(include=3)
    with pytest.raises(ConfigError, match=r"^custom_getter: include='dense\(' is not a valid "
                                          r"regular expression \(missing \), unterminated"):
        tfbnn.custom_getter(include='dense(')
    with pytest.raises(ConfigError, match='posterior_init_scale must be a finite number'):
        tfbnn.custom_getter(posterior_init_scale=-1.0)
    with pytest.raises(ConfigError, match='prior must be an object with a kl_divergence'):
        tfbnn.custom_getter(prior='normal')
    x = tf.constant(np.ones([1, 3]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with tfbnn.bayesian_scope('plain', include='nothing_here'):
            _mlp(x)
    assert any("bayesian_scope 'plain': include='nothing_here' matched none" in str(w.message)
               for w in caught)
    assert not tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)
    with pytest.raises(ConfigError, match='include selects sel/counts, a int32 variable'):
        with tfbnn.bayesian_scope('sel', include='counts'):
            tf.get_variable('counts', [2, 2], tf.int32, tf.zeros_initializer(), trainable=True)


def test_the_guides_tf_layers_model_in_three_lines(sess):
    """docs/bring-your-own-model.md's first example, as written there."""
    def model(x):
        h = legacy_layers.dense(x, 40, tf.nn.relu, name='fc1')
        h = legacy_layers.dense(h, 40, tf.nn.relu, name='fc2')
        return legacy_layers.dense(h, 10, name='out')
    x = tf.constant(np.random.RandomState(0).rand(16, 784).astype(np.float32))
    y = tf.constant(np.random.RandomState(1).randint(0, 10, 16).astype(np.int64))
    with tfbnn.bayesian_scope('model'):
        logits = model(x)
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
    terms = tfbnn.losses.elbo(nll, num_examples=60000)
    train_op = tf.train.AdamOptimizer(3e-3).minimize(terms.loss)
    assert [k.op.name for k in tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)] == [
        'model/fc1/kernel/kl_divergence', 'model/fc2/kernel/kl_divergence',
        'model/out/kernel/kl_divergence']
    assert not tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    sess.run(tf.global_variables_initializer())
    before = sess.run(terms.loss)
    for _ in range(30):
        sess.run(train_op)
    assert sess.run(terms.loss) < before  # it trains
    # The K-sample predictive of the guide: K reuse builds, K draws.
    with tfbnn.bayesian_scope('model', reuse=True):
        draws = [tf.nn.softmax(model(x)) for _ in range(3)]
    a, b, _ = sess.run(draws)
    assert not np.allclose(a, b)
    assert len(tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)) == 3


def test_a_tfbnn_layer_inside_a_bayesian_scope_keeps_its_own_posterior(sess):
    x = tf.constant(np.random.RandomState(0).randn(4, 5).astype(np.float32))
    with tfbnn.bayesian_scope('model'):
        h = tfbnn.layers.dense(x, 3, name='fc1')
        tf.matmul(h, tf.get_variable('w2', [3, 2]))
    assert sorted(_by_name()) == ['model/fc1/bias_loc', 'model/fc1/bias_rho',
                                  'model/fc1/kernel_loc', 'model/fc1/kernel_rho', 'model/w2',
                                  'model/w2_rho']
    assert [k.op.name for k in tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)] == [
        'model/fc1/kl_divergence', 'model/w2/kl_divergence']


def test_nested_scopes_make_one_posterior_per_variable_in_the_innermost(sess):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with tfbnn.bayesian_scope('a', posterior_init_scale=0.5):
            with tfbnn.bayesian_scope('b', posterior_init_scale=0.1):
                w = tf.get_variable('w', [5, 2])
    assert not caught  # the outer scope made nothing itself, but its content is Bayesian
    assert sorted(_by_name()) == ['a/b/w', 'a/b/w_rho']
    assert [k.op.name for k in tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)] == [
        'a/b/w/kl_divergence']
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(softplus(sess.run(_by_name()['a/b/w_rho'])) + 1e-6, 0.1,
                               rtol=1e-5)  # the inner scope's
    assert not np.allclose(sess.run(w), sess.run(w))  # a draw


def test_a_variable_outside_the_global_collection_gets_one_kl(sess):
    collections = ['tower', tf.GraphKeys.TRAINABLE_VARIABLES]
    with tfbnn.bayesian_scope('m') as scope:
        tf.get_variable('w', [5, 2], collections=collections)
        scope.reuse_variables()
        tf.get_variable('w', [5, 2], collections=collections)
    assert [k.op.name for k in tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)] == [
        'm/w/kl_divergence']


def test_a_posterior_of_local_variables_is_seen_by_diagnostics_pruning_and_moped(sess):
    collections = [tf.GraphKeys.LOCAL_VARIABLES, tf.GraphKeys.TRAINABLE_VARIABLES]
    with tfbnn.bayesian_scope('m'):
        w = tf.get_variable('w', [5, 2], collections=collections)
    assert not tf.global_variables()
    diag = tfbnn.diagnostics.layer_diagnostics(tf.reduce_sum(w), tf.constant(0.1))
    assert list(diag) == ['m/w'] and list(tfbnn.diagnostics.kernel_posteriors()) == ['m/w']
    sess.run(tf.local_variables_initializer())
    assert sess.run(diag)['m/w'].num_params == 10
    assert tfbnn.pruning.prune_by_snr(sess, 0.5)[:2] == (5, 10)
    with pytest.raises(tfbnn.errors.CheckpointError, match='cannot read'):  # not a KeyError
        tfbnn.moped.init_from_checkpoint('/no/such/checkpoint')


def test_an_enclosing_getter_that_returns_a_tensor_changes_no_name(sess):
    def identity_getter(getter, *args, **kwargs):
        return tf.identity(getter(*args, **kwargs))
    with tf.variable_scope('outer', custom_getter=identity_getter):
        with tfbnn.bayesian_scope('m'):
            out = tf.reduce_sum(tf.get_variable('w', [5, 2]))
    assert [k.op.name for k in tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)] == [
        'outer/m/w/kl_divergence']
    assert [v.op.name for v in tf.get_collection(tfbnn.GraphKeys.GETTER_POSTERIORS)] == [
        'outer/m/w']
    assert list(diagnostics.layer_diagnostics(out, 0.1)) == ['outer/m/w']


def test_the_shape_and_dtype_may_come_from_a_constant_initializer(sess):
    with tfbnn.bayesian_scope('m', posterior_init_scale=1e-3):
        a = tf.get_variable('a', initializer=np.full([3, 2], 0.5))  # numpy's float64
        b = tf.get_variable('b', initializer=tf.ones([2, 4]))
        c = tf.get_variable('c', initializer=[[1.0, 2.0]])  # TensorFlow's float32
    assert (a.shape.as_list(), b.shape.as_list(), c.shape.as_list()) == ([3, 2], [2, 4], [1, 2])
    assert (a.dtype, b.dtype, c.dtype) == (tf.float64, tf.float32, tf.float32)
    assert _by_name()['m/a_rho'].dtype.base_dtype == tf.float64
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(a), 0.5, atol=0.02)
    with pytest.raises(ConfigError, match='include selects i/n, a int64 variable'):
        with tfbnn.bayesian_scope('i', include='n'):
            tf.get_variable('n', initializer=np.arange(6).reshape(2, 3))


@pytest.mark.parametrize('build,match', [
    (lambda: tf.get_variable('w', [6, 4], partitioner=tf.fixed_size_partitioner(2)),
     'custom_getter: m/w is partitioned'),
    (lambda: tf.get_variable('w', validate_shape=False, initializer=lambda *a, **k: tf.ones(
        [2, 2])), r'custom_getter: m/w has no static shape; a posterior needs one \(pass '
                  r'shape= to tf.get_variable\)')])
def test_variables_that_cannot_be_posteriors_are_named(build, match):
    with pytest.raises(ConfigError, match=match):
        with tfbnn.bayesian_scope('m'):
            build()


def test_a_regulariser_on_the_draw_is_warned_of_and_one_on_the_mean_is_added_once(sess):
    l2 = lambda w: tf.reduce_sum(tf.square(w))  # noqa: E731
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with tfbnn.bayesian_scope('ok') as scope:
            tf.get_variable('w', [3, 2], regularizer=l2)
            scope.reuse_variables()
            tf.get_variable('w', [3, 2], regularizer=l2)
    assert not caught
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert len(losses) == 1
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(losses[0]), np.sum(sess.run(_by_name()['ok/w']) ** 2),
                               rtol=1e-6)  # the mean's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with tfbnn.bayesian_scope('means', sample=False):  # it returns the mean: no draw
            w = tf.get_variable('w', [3, 2])
            tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, l2(w))
    assert not caught
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with tfbnn.bayesian_scope('drawn'):
            w = tf.get_variable('w', [3, 2])
            tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, l2(w))  # as tf.layers does
    assert any("bayesian_scope 'drawn': a regulariser was applied to the posterior draw of "
               "drawn/w" in str(c.message) for c in caught)


def test_a_layer_inside_a_while_loop_puts_its_kl_outside(sess):
    x = tf.constant(np.random.RandomState(0).randn(2, 4).astype(np.float32))
    _, h = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, tfbnn.layers.dense(
        h, 4, tf.tanh, name='cell', reuse=tf.AUTO_REUSE)), [0, x])
    terms = tfbnn.losses.elbo(tf.reduce_sum(h, 1), 100)
    assert [k.op.name for k in tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)] == [
        'cell/kl_divergence']
    sess.run(tf.global_variables_initializer())
    want = 0.0
    for part in ('kernel', 'bias'):  # N(0, 1) prior
        loc, rho = sess.run([_by_name()['cell/%s_loc' % part], _by_name()['cell/%s_rho' % part]])
        scale = softplus(rho) + 1e-6
        want += np.sum(np.log(1.0 / scale) + (scale ** 2 + loc ** 2) / 2.0 - 0.5)
    np.testing.assert_allclose(sess.run(terms.kl), want, rtol=1e-4)


def test_a_layer_in_a_name_scope_is_found_by_the_diagnostics(sess):
    x = tf.constant(np.ones([2, 3], np.float32))
    with tf.name_scope('tower_0'):
        out = tfbnn.layers.dense(x, 2, name='fc1')
    assert [k.op.name for k in tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)] == [
        'fc1/kl_divergence']
    assert list(diagnostics.layer_diagnostics(tf.reduce_sum(out), 0.1)) == ['fc1']


def test_a_kl_that_names_no_posterior_is_one_clear_error():
    tf.add_to_collection(tfbnn.GraphKeys.KL_LOSSES, tf.identity(1.0, name='lost/kl_divergence'))
    with pytest.raises(ConfigError, match="diagnostics: the KL tensor 'lost/kl_divergence' names "
                                          "no posterior: found 0 means and 0 rhos under 'lost/'"):
        diagnostics.layer_diagnostics(tf.constant(0.0), 0.1)


def _float32_storage(getter, name, shape=None, dtype=None, *args, **kwargs):
    """The usual mixed-precision getter: float32 variables, float16 values."""
    half = dtype == tf.float16
    value = getter(name, shape, tf.float32 if half else dtype, *args, **kwargs)
    return tf.cast(value, tf.float16) if half else value


@pytest.mark.parametrize('storage', ['float32 under a float16 getter', 'float16'])
@pytest.mark.parametrize('centred', [False, True])
def test_a_float16_weight_gets_its_kl_in_float32_by_the_closed_form(sess, storage, centred):
    """A 784 x 400 kernel's KL (~1.8e6) overflowed float16 (largest 65504) to NaN."""
    outer = _float32_storage if storage.startswith('float32') else None
    x = tf.placeholder(tf.float16, [None, 784])
    with tf.variable_scope('fp32_vars', custom_getter=outer):
        with tfbnn.bayesian_scope('model', prior=tfbnn.priors.normal(0.5),
                                  posterior_init_scale=(0.005, 0.05), centred_prior=centred):
            kernel = tf.get_variable('fc1/kernel', [784, 400], tf.float16,
                                     tf.random_normal_initializer(stddev=0.3, seed=3))
            logits = tf.matmul(x, kernel)
    (kl,) = tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)
    assert kernel.dtype == tf.float16 and kl.dtype == tf.float32
    terms = tfbnn.losses.elbo(tf.reduce_sum(tf.cast(logits, tf.float32), 1), 60000)
    sess.run(tf.global_variables_initializer())
    v = sess.run(_by_name())
    mu = v['fp32_vars/model/fc1/kernel'].astype(np.float64)
    s = softplus(v['fp32_vars/model/fc1/kernel_rho'].astype(np.float64)) + 1e-6
    want = np.sum(np.log(0.5 / s) + (s ** 2 + mu ** 2) / (2 * 0.25) - 0.5)
    got, loss = sess.run([kl, terms.loss], {x: np.zeros([1, 784])})
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(loss, want / 60000, rtol=1e-5)
    grads = sess.run(tf.gradients(terms.loss, tf.trainable_variables()), {x: np.ones([1, 784])})
    assert all(np.all(np.isfinite(g)) for g in grads)
    # The KL's own gradient: exact when the variables are float32 (not through
    # float16 casts, where the KL / N gradients of ~1e-6 are subnormal).
    by_name = _by_name()
    d_mu, d_rho = sess.run(tf.gradients(kl, [by_name['fp32_vars/model/fc1/kernel'],
                                             by_name['fp32_vars/model/fc1/kernel_rho']]))
    rho = v['fp32_vars/model/fc1/kernel_rho'].astype(np.float64)
    tol = dict(rtol=1e-4) if outer else dict(rtol=2e-3, atol=1e-4)
    np.testing.assert_allclose(d_mu, mu / 0.25, **tol)
    np.testing.assert_allclose(d_rho, (s / 0.25 - 1 / s) / (1 + np.exp(-rho)), **tol)


def test_a_float16_weight_with_a_sampled_kl_gets_it_in_float32(sess):
    """The scale mixture's Monte Carlo KL on the float16 draw, computed in float32."""
    with tf.variable_scope('fp32_vars', custom_getter=_float32_storage):
        with tfbnn.bayesian_scope('model', prior=tfbnn.priors.scale_mixture()):
            kernel = tf.get_variable('k', [784, 400], tf.float16)
    (kl,) = tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)
    assert kernel.dtype == tf.float16 and kl.dtype == tf.float32
    sess.run(tf.global_variables_initializer())
    assert np.isfinite(sess.run(kl)) and abs(sess.run(kl)) > 65504


def test_a_cell_object_keeps_its_first_draw_and_a_new_one_per_pass_draws_afresh(sess):
    """What docs/bring-your-own-model.md says of reusing a cell object: its
    kernel is the first pass's draw (a sample=False pass through it is not the
    mean); a new cell object per pass asks the getter again."""
    x = tf.constant(np.random.RandomState(4).randn(1, 4, 3))
    cell = tfbnn.rnn_cells.BasicRNNCell(2, dtype=tf.float64)
    with tfbnn.bayesian_scope('rnn', posterior_init_scale=0.5):
        tf.nn.dynamic_rnn(cell, x, dtype=tf.float64)
    with tfbnn.bayesian_scope('rnn', reuse=True, sample=False):
        same_cell = tf.nn.dynamic_rnn(cell, x, dtype=tf.float64)[0]
        new_cell = tf.nn.dynamic_rnn(tfbnn.rnn_cells.BasicRNNCell(2, dtype=tf.float64), x,
                                     dtype=tf.float64)[0]
    with tfbnn.bayesian_scope('rnn', reuse=True):
        passes = [tf.nn.dynamic_rnn(tfbnn.rnn_cells.BasicRNNCell(2, dtype=tf.float64), x,
                                    dtype=tf.float64)[0] for _ in range(3)]
    assert len(tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)) == 1
    assert len(tf.global_variables()) == 3  # kernel, kernel_rho, bias: shared by every pass
    sess.run(tf.global_variables_initializer())
    v = sess.run(_by_name())
    want = _replay('basic', sess.run(x), v['rnn/rnn/basic_rnn_cell/kernel'],
                   v['rnn/rnn/basic_rnn_cell/bias'], 2)
    np.testing.assert_allclose(sess.run(new_cell), want, rtol=1e-12)  # the posterior mean
    assert not np.allclose(sess.run(same_cell), want)  # the first pass's draw, run again
    assert not np.allclose(sess.run(same_cell), sess.run(same_cell))
    out = sess.run(passes)
    assert not np.allclose(out[0], out[1]) and not np.allclose(out[1], out[2])


@pytest.mark.skipif(tfbnn.internal.compat.TF2, reason='tf.layers objects need TF 1.x')
def test_a_tf_layers_object_keeps_its_first_draw_and_the_functional_form_does_not(sess):
    x = tf.constant(np.ones([1, 3]))
    with tfbnn.bayesian_scope('model'):
        layer = tf.layers.Dense(2, name='out')
        layer(x)
    with tfbnn.bayesian_scope('model', reuse=True):
        same = [layer(x) for _ in range(3)]
        functional = [tf.layers.dense(x, 2, name='out') for _ in range(3)]
    with tfbnn.bayesian_scope('model', reuse=True, sample=False):
        mean = tf.layers.dense(x, 2, name='out')
    sess.run(tf.global_variables_initializer())
    a, b, kernel = sess.run([same, functional, _by_name()['model/out/kernel']])
    np.testing.assert_array_equal(a[0], a[1])
    assert not np.allclose(b[0], b[1]) and not np.allclose(b[1], b[2])
    np.testing.assert_allclose(sess.run(mean), np.ones([1, 3]).dot(kernel), rtol=1e-12)
