"""tfbnn.losses: the KL collection, the ELBO schemes and their equivalence."""
import math

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import layers, losses


def small_net(x, estimator='reparameterization'):
    h = layers.dense(x, 8, activation=tf.nn.tanh, estimator=estimator, name='fc1')
    return layers.dense(h, 3, estimator=estimator, name='fc2')


def test_kl_divergence_sums_the_collection(sess):
    x = tf.constant(np.random.RandomState(0).randn(4, 5))
    small_net(x)
    kl, parts = losses.kl_divergence(), losses.get_kl_losses()
    assert len(parts) == 2
    sess.run(tf.global_variables_initializer())
    a, b, total = sess.run([parts[0], parts[1], kl])
    np.testing.assert_allclose(total, a + b, rtol=1e-12)
    assert len(losses.get_kl_losses(scope='fc2')) == 1
    np.testing.assert_allclose(sess.run(losses.kl_divergence(scope='fc2')), b, rtol=1e-12)


def test_empty_collection_warns_and_gives_zero(sess):
    with pytest.warns(UserWarning, match="the collection 'tfbnn_kl_losses' has no KL terms"):
        kl = losses.kl_divergence()
    assert sess.run(kl) == 0.0
    with pytest.warns(UserWarning, match="'other' has no KL terms in scope 'x' "
                      r"\(scope= is a variable scope, matched at a '/'; a tf.name_scope, a "
                      r"tower's, renames neither the variables nor their KL\); the KL is 0"):
        losses.kl_divergence(scope='x', collection='other')


def run_elbo(sess, scheme, nll_values, num_examples, batch_size, step=0, **kw):
    tf.add_to_collection(tfbnn.GraphKeys.KL_LOSSES, tf.constant(300.0, tf.float64))
    terms = losses.elbo(tf.constant(nll_values, tf.float64), num_examples, batch_size=batch_size,
                        scheme=scheme, step=tf.constant(step), **kw)
    return sess.run(terms._asdict())


@pytest.mark.parametrize('scheme,nll_term,coef', [
    ('per_example', 2.0, 1.0 / 1000),
    ('per_batch', 8.0, 1.0 / 250),
    ('blundell', 8.0, 2.0 ** 249 / (2.0 ** 250 - 1)),
])
def test_elbo_parts_by_hand(sess, scheme, nll_term, coef):
    out = run_elbo(sess, scheme, [1.0, 2.0, 3.0, 2.0], 1000, 4)
    assert out['kl'] == 300.0
    np.testing.assert_allclose(out['nll_term'], nll_term, rtol=1e-12)
    np.testing.assert_allclose(out['kl_coefficient'], coef, rtol=1e-12)
    np.testing.assert_allclose(out['scaled_kl'], 300.0 * coef, rtol=1e-12)
    np.testing.assert_allclose(out['loss'], nll_term + 300.0 * coef, rtol=1e-12)


def test_nll_with_a_sample_axis_is_averaged_over_samples(sess):
    out = run_elbo(sess, 'per_batch', [[1.0, 2.0], [3.0, 6.0]], 10, 2)
    np.testing.assert_allclose(out['nll_term'], 6.0)  # mean over samples of per-sample sums
    np.testing.assert_allclose(out['kl_coefficient'], 1 / 5.0)


def test_per_batch_with_a_short_last_batch_uses_ceil(sess):
    out = run_elbo(sess, 'per_batch', [1.0] * 3, 10, 3)
    np.testing.assert_allclose(out['kl_coefficient'], 1 / 4.0)  # M = ceil(10 / 3)


@pytest.mark.parametrize('step,expected', [(0, 0.0), (25, 0.25), (100, 1.0), (1000, 1.0)])
def test_warmup_and_kl_weight(sess, step, expected):
    out = run_elbo(sess, 'per_example', [1.0], 50, None, step=step, kl_weight=0.1,
                   warmup_steps=100)
    np.testing.assert_allclose(out['kl_coefficient'], 0.1 * expected / 50, rtol=1e-12)


def test_kl_weight_tensor(sess):
    beta = tf.placeholder(tf.float64, [])
    tf.add_to_collection(tfbnn.GraphKeys.KL_LOSSES, tf.constant(10.0, tf.float64))
    terms = losses.elbo(tf.zeros([2], tf.float64), 100, kl_weight=beta)
    np.testing.assert_allclose(sess.run(terms.scaled_kl, {beta: 0.5}), 0.05)


@pytest.mark.parametrize('num_batches', [1, 2, 7, 60, 5000])
@pytest.mark.parametrize('dtype', [tf.float32, tf.float64])
def test_blundell_pi_sums_to_one_decreases_and_stays_finite(sess, num_batches, dtype):
    step = tf.placeholder(tf.int64, [])
    pi = losses.blundell_pi(step, num_batches, dtype)
    # One epoch, then the first minibatch of the next epoch starts over.
    values = np.array([sess.run(pi, {step: s}) for s in range(num_batches + 1)], np.float64)
    assert np.all(np.isfinite(values))
    np.testing.assert_allclose(values[:num_batches].sum(), 1.0,
                               rtol=1e-6 if dtype == tf.float32 else 1e-12)
    assert np.all(np.diff(values[:num_batches]) <= 0)
    assert values[num_batches] == values[0]
    if num_batches < 100:
        expected = 2.0 ** (num_batches - np.arange(1, num_batches + 1)) / (2.0 ** num_batches - 1)
        np.testing.assert_allclose(values[:num_batches], expected, rtol=1e-6)


@pytest.mark.parametrize('estimator', layers.ESTIMATORS)
def test_per_example_gradients_equal_per_batch_gradients_over_b(estimator):
    """The two schemes are one objective up to the factor B (here B | N), in float64,
    for the same weight noise: both losses are built on the same sampled outputs."""
    rng = np.random.RandomState(0)
    n, b = 120, 8
    x = tf.constant(rng.randn(b, 5))
    labels = tf.constant(rng.randint(0, 3, size=b))
    logits = small_net(x, estimator)
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    ex = losses.elbo(nll, n, scheme='per_example')
    ba = losses.elbo(nll, n, batch_size=b, scheme='per_batch')
    params = tf.trainable_variables()
    g_ex, g_ba = tf.gradients(ex.loss, params), tf.gradients(ba.loss, params)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out = sess.run([ex.loss, ba.loss, g_ex, g_ba])
    np.testing.assert_allclose(out[1], b * out[0], rtol=1e-12)
    for ge, gb in zip(out[2], out[3]):
        np.testing.assert_allclose(ge, gb / b, rtol=1e-10, atol=1e-15)


def test_blundell_pi_over_an_epoch_gives_the_full_kl_once(sess):
    """sum_i pi_i KL = KL: an epoch of 'blundell' minibatches adds up to -ELBO,
    as an epoch of 'per_batch' minibatches does."""
    n, b = 40, 5
    step = tf.placeholder(tf.int64, [])
    tf.add_to_collection(tfbnn.GraphKeys.KL_LOSSES, tf.constant(123.0, tf.float64))
    nll = tf.constant([0.5] * b, tf.float64)
    blundell = losses.elbo(nll, n, batch_size=b, scheme='blundell', step=step)
    per_batch = losses.elbo(nll, n, batch_size=b, scheme='per_batch', step=step)
    m = n // b
    for terms in (blundell, per_batch):
        total = sum(sess.run(terms.loss, {step: s}) for s in range(m))
        np.testing.assert_allclose(total, 0.5 * n + 123.0, rtol=1e-12)


def test_global_step_is_used_when_step_is_none(sess):
    gs = tf.train.get_or_create_global_step()
    tf.add_to_collection(tfbnn.GraphKeys.KL_LOSSES, tf.constant(1.0))
    terms = losses.elbo(tf.zeros([4]), 8, batch_size=4, scheme='blundell')
    sess.run(tf.global_variables_initializer())
    assert math.isclose(sess.run(terms.kl_coefficient), 2.0 / 3.0, rel_tol=1e-6)
    sess.run(gs.assign(1))
    assert math.isclose(sess.run(terms.kl_coefficient), 1.0 / 3.0, rel_tol=1e-6)


@pytest.mark.parametrize('kwargs,match', [
    (dict(scheme='per_minibatch'), r"elbo: scheme must be one of \('per_example', 'per_batch', "
                                   r"'blundell'\), got 'per_minibatch'"),
    (dict(num_examples=0), 'elbo: num_examples must be an integer >= 1, got 0'),
    (dict(num_examples=10.5), 'num_examples must be an integer >= 1, got 10.5'),
    (dict(kl_weight=-1.0), 'kl_weight must be a finite number >= 0'),
    (dict(warmup_steps=-5), 'warmup_steps must be an integer >= 0'),
    (dict(scheme='per_batch', batch_size=0), 'batch_size must be an integer >= 1'),
    (dict(scheme='blundell'), "scheme 'blundell' and warmup_steps > 0 need step="),
    (dict(warmup_steps=10), "need step= or a global step"),
    (dict(warmup_steps=10, step=tf.constant([1, 2])),
     r'^elbo: step must be an integer scalar \(the global step\), got a Tensor of int32, shape '
     r'\(2,\)$'),
    (dict(scheme='blundell', batch_size=10, step=tf.constant(1.5)),
     'step must be an integer scalar .* got a Tensor of float32, shape'),
    (dict(warmup_steps=10, step=1.5), r'^elbo: step must be an integer >= 0 \(or an integer '
                                      r'scalar Tensor\), got 1.5$'),
])
def test_elbo_argument_errors(kwargs, match):
    args = dict(nll=tf.zeros([4]), num_examples=100)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        losses.elbo(**args)


def test_elbo_nll_shape_errors():
    with pytest.raises(ValueError, match=r'nll must have shape \[batch\] or \[num_samples, '
                                         r'batch\].*got shape \(2, 3, 4\)'):
        losses.elbo(tf.zeros([2, 3, 4]), 10)
    with pytest.raises(ValueError, match='nll must be a float Tensor, got int32'):
        losses.elbo(tf.zeros([4], tf.int32), 10)
    with pytest.raises(ValueError, match=r"scheme 'per_batch' needs the nominal minibatch size"):
        losses.elbo(tf.placeholder(tf.float32, [None]), 10, scheme='per_batch')


@pytest.mark.parametrize('shape,batch_size,match', [
    ([None, 50], None, r'nll of shape \(\?, 50\)|nll of shape \(None, 50\)'),
    ([4, 50], 4, r'has the batch size \(4\) in front'),
    ([8, 4096], 128, r'^elbo: nll of shape \(8, 4096\) has more examples than batch_size 128; '),
])
def test_a_per_position_nll_of_rank_2_is_refused(shape, batch_size, match):
    """[batch, positions] (a per-timestep or flattened per-voxel NLL) is not [samples, batch]."""
    nll = tf.placeholder(tf.float32, shape)
    for scheme in ('per_example', 'per_batch'):
        with pytest.raises(ValueError, match=match) as info:
            losses.elbo(nll, 100, batch_size=batch_size, scheme=scheme)
        assert 'tf.reduce_sum(nll, axis=1)' in str(info.value)


def test_a_short_last_batch_of_static_shape_is_accepted():
    losses.elbo(tf.placeholder(tf.float32, [3, 29]), 1437, batch_size=128, scheme='per_batch')


def test_a_sample_axis_with_an_unknown_batch_is_accepted(sess):
    nll = tf.placeholder(tf.float32, [3, None])
    terms = losses.elbo(nll, 10, batch_size=2, scheme='per_batch')
    out = sess.run(terms.nll_term, {nll: [[1.0, 2.0], [3.0, 6.0], [2.0, 4.0]]})
    np.testing.assert_allclose(out, 6.0)


def test_a_per_voxel_nll_of_unknown_size_is_refused_when_run(sess):
    """[batch, voxels] with the voxels known only at run time: the shape
    cannot tell it from [num_samples, batch], the run can (more examples
    than batch_size); a true sample axis with a short batch still runs."""
    nll = tf.placeholder(tf.float32, [2, None])
    terms = losses.elbo(nll, 100, batch_size=2)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r'elbo: nll has more examples on its second axis than batch_size 2'):
        sess.run(terms.loss, {nll: np.ones((2, 512))})
    np.testing.assert_allclose(sess.run(terms.nll_term, {nll: [[1.0], [3.0]]}), 2.0)


def test_a_rank_1_nll_larger_than_batch_size_is_accepted_and_a_bad_batch_size_is_not():
    """A validation set fed whole through the training's ELBO; a [batch *
    voxels] NLL cannot be told from it (the docs say so)."""
    losses.elbo(tf.zeros([16]), 100, batch_size=8)
    with pytest.raises(ValueError, match=r'^elbo: batch_size must be an integer >= 1, got 2.5'):
        losses.elbo(tf.zeros([2]), 100, batch_size=2.5)


def test_a_negative_kl_weight_tensor_is_refused_when_run(sess):
    weight = tf.placeholder(tf.float32, [])
    terms = losses.elbo(tf.zeros([4]), 100, kl_weight=weight)
    np.testing.assert_allclose(sess.run(terms.kl_coefficient, {weight: 0.5}), 0.005)
    for bad in (-1.0, float('nan')):
        with pytest.raises(tf.errors.InvalidArgumentError, match='elbo: kl_weight must be >= 0'):
            sess.run(terms.kl_coefficient, {weight: bad})


def test_a_float16_nll_scales_the_kl_in_float32(sess):
    """KL 165,131 and 1 / 60,000 are inf and subnormal in float16. The KL, its
    coefficient, the scaled KL and the loss are float32; the NLL term stays
    float16."""
    x = tf.placeholder(tf.float32, [None, 200])
    layers.dense(x, 200, name='big')
    nll = tf.placeholder(tf.float16, [None])
    terms = losses.elbo(nll, 60000)
    assert terms.nll_term.dtype == tf.float16
    assert (terms.loss.dtype == terms.scaled_kl.dtype == terms.kl.dtype
            == terms.kl_coefficient.dtype == tf.float32)
    sess.run(tf.global_variables_initializer())
    kl, scaled, loss = sess.run([terms.kl, terms.scaled_kl, terms.loss], {nll: np.ones(4)})
    assert kl > 65504  # float16's largest
    np.testing.assert_allclose(scaled, kl / 60000, rtol=1e-6)
    np.testing.assert_allclose(loss, 1 + kl / 60000, rtol=1e-6)


def test_a_float16_nll_keeps_a_scaled_kl_beyond_float16_finite(sess):
    """'blundell' at step 0 weights the KL by 2^(M-1) / (2^M - 1), about 1/2:
    a KL of 165,131 gives a scaled KL of about 82,566, beyond float16's 65,504.
    It used to be cast to float16 (inf); the loss is now that number."""
    x = tf.placeholder(tf.float32, [None, 200])
    layers.dense(x, 200, name='big')
    nll = tf.placeholder(tf.float16, [None])
    terms = losses.elbo(nll, 1437, batch_size=128, scheme='blundell', step=tf.constant(0))
    sess.run(tf.global_variables_initializer())
    kl, loss = sess.run([terms.kl, terms.loss], {nll: np.ones(128)})
    m = 12  # ceil(1437 / 128)
    expected = 128 + kl * 2.0 ** (m - 1) / (2.0 ** m - 1)
    assert expected - 128 > 65504
    np.testing.assert_allclose(loss, expected, rtol=1e-6)


def test_a_larger_batch_on_a_sample_axis_says_both_causes_and_numpy_sizes_work(sess):
    """The run-time check cannot tell positions from a batch larger than the
    training's; its message names both. A numpy batch_size builds it."""
    nll = tf.placeholder(tf.float32, [3, None])
    terms = losses.elbo(nll, 100, batch_size=np.int64(4))
    np.testing.assert_allclose(sess.run(terms.nll_term, {nll: np.ones((3, 4))}), 1.0)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r'A larger batch than in training \(a validation set fed whole\): '
                             'build its ELBO with that batch_size'):
        sess.run(terms.loss, {nll: np.ones((3, 8))})


def test_a_kl_weight_of_unknown_shape_fed_a_vector_is_refused_when_run(sess):
    weight = tf.placeholder(tf.float32)
    terms = losses.elbo(tf.zeros([4]), 100, kl_weight=weight)
    np.testing.assert_allclose(sess.run(terms.loss, {weight: 2.0}), 0.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match='elbo: kl_weight must be a scalar'):
        sess.run(terms.loss, {weight: [0.5, 0.5]})


def test_a_constant_kl_weight_tensor_is_checked_when_built():
    with pytest.raises(ValueError, match=r'^elbo: kl_weight must be a finite number >= 0, got a '
                                         r'constant Tensor of -1.0$'):
        losses.elbo(tf.zeros([4]), 100, kl_weight=tf.constant(-1.0))


def test_the_kl_keeps_a_float32_nll_s_dtype_beside_a_float64_kl():
    """Only a half-precision NLL moves the KL term to the KL's dtype."""
    layers.dense(tf.zeros([2, 3], tf.float64), 4, name='fc64')
    terms = losses.elbo(tf.zeros([4]), 100)
    assert {t.dtype for t in terms} == {tf.float32}


def _models_net_and_net_1():
    """Two models, as a loop of `variable_scope(None, default_name='net')`
    makes them: 'net' and 'net_1', each with its layer 'fc1'."""
    x = tf.constant(np.random.RandomState(0).randn(2, 3))
    for _ in range(2):
        with tf.variable_scope(None, default_name='net'):
            layers.dense(x, 2, name='fc1')


@pytest.mark.parametrize('scope,names', [
    ('net', ['net/fc1/kl_divergence']),
    ('net/', ['net/fc1/kl_divergence']),
    ('net_1', ['net_1/fc1/kl_divergence']),
    ('net/fc', []),
    ('net(_1)?', ['net/fc1/kl_divergence', 'net_1/fc1/kl_divergence']),
])
def test_a_scope_takes_its_own_model_s_kl_and_not_that_of_net_1(sess, scope, names):
    _models_net_and_net_1()
    assert [t.op.name for t in losses.get_kl_losses(scope)] == names
    if not names:
        return
    sess.run(tf.global_variables_initializer())
    by_name = {t.op.name: t for t in losses.get_kl_losses()}
    want = sum(sess.run(by_name[n]) for n in names)
    kl, terms = sess.run([losses.kl_divergence(scope),
                          losses.elbo(tf.zeros([2], tf.float64), 10, scope=scope)])
    np.testing.assert_allclose(kl, want, rtol=1e-12)
    np.testing.assert_allclose(terms.kl, want, rtol=1e-12)
    np.testing.assert_allclose(terms.loss, want / 10, rtol=1e-12)


@pytest.mark.parametrize('scheme', ['per_batch', 'blundell'])
def test_an_nll_of_shape_batch_by_1_without_batch_size_is_refused_when_built(scheme):
    """[8, 1] (labels [batch, 1]) would be 8 samples of a batch of 1: M = N, the KL 8x."""
    with pytest.raises(ValueError, match=(
            r"^elbo: nll of shape \(8, 1\) would be read as \[num_samples=8, batch=1\] \(no "
            r"batch_size=\): for one value per example \(labels of shape \[batch, 1\]\) squeeze "
            r"the trailing axis, tf.squeeze\(nll, 1\); for 8 samples of a batch of 1, give "
            r"batch_size=1$")):
        losses.elbo(tf.zeros([8, 1]), 100, scheme=scheme, step=tf.constant(0))


def test_k_samples_of_a_batch_of_1_and_a_squeezed_nll_keep_working(sess):
    """[K, 1] with batch_size=1: the mean over samples, M = N; [8] after squeezing:
    the sum, M = ceil(100 / 8) = 13; per_example reads [8, 1] as before."""
    tf.add_to_collection(tfbnn.GraphKeys.KL_LOSSES, tf.constant(26.0))
    values = np.arange(1.0, 9.0, dtype=np.float32)[:, None]  # [8, 1]
    samples = losses.elbo(tf.constant(values), 100, batch_size=1, scheme='per_batch')
    squeezed = losses.elbo(tf.squeeze(tf.constant(values), 1), 100, scheme='per_batch')
    mean = losses.elbo(tf.constant(values), 100)
    out = sess.run([samples, squeezed, mean])
    np.testing.assert_allclose([out[0].nll_term, out[0].kl_coefficient], [4.5, 1 / 100.0])
    np.testing.assert_allclose([out[1].nll_term, out[1].kl_coefficient], [36.0, 1 / 13.0])
    np.testing.assert_allclose([out[2].nll_term, out[2].scaled_kl], [4.5, 0.26], rtol=1e-6)
