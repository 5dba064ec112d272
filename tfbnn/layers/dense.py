"""Bayesian fully connected layer, `tf.layers.dense`-style."""
import tensorflow.compat.v1 as tf

from tfbnn.internal.arg_checks import check_positive_int
from tfbnn.layers import _bayesian, _options

__all__ = ['dense']


def _matmul_last_axis(x, w):
    """x [..., in] @ w [in, out] -> [..., out], for any rank >= 2."""
    if x.shape.ndims == 2:
        return tf.matmul(x, w)
    out = tf.tensordot(x, w, [[x.shape.ndims - 1], [0]])
    out.set_shape(x.shape[:-1].concatenate(w.shape[-1:]))
    return out


def _sign_shape(x, channels):
    """One sign per example and unit: the positions of an example `[batch,
    ..., in]` (a sequence's steps) share them, as they share the kernel, so
    each example sees one posterior draw of the weights."""
    if x.shape.ndims == 2:
        return tf.shape(x)
    return tf.concat([tf.shape(x)[:1], tf.ones([x.shape.ndims - 2], tf.int32), [channels]],
                     axis=0)


@_options.not_converted
def dense(inputs, units, activation=None, use_bias=True, estimator='reparameterization',
          prior=None, sample=True, kl_collection=None, num_samples=None, shared_inputs=False,
          bayesian_bias=True,
          kernel_loc_initializer=None, bias_loc_initializer=None, posterior_init_scale=0.01,
          trainable=True, name=None, reuse=None):
    """Bayesian dense layer: y = activation(x W + b) with W, b ~ q, a mean-field Normal.

    The posterior is q(W) = prod_j N(w_j; mu_j, s_j^2) with s_j = softplus(rho_j)
    + 1e-6; the variables `kernel_loc`, `kernel_rho` (and `bias_loc`,
    `bias_rho`, or a plain `bias`) are made with `tf.get_variable` in
    `tf.variable_scope(name, default_name='bayesian_dense', reuse=reuse)`.
    When the variables are created, one scalar KL(q || prior) for the layer
    (kernel plus Bayesian bias) is added to `kl_collection`; a reuse call adds
    nothing and draws a fresh sample. Nothing is added to
    `REGULARIZATION_LOSSES`.

    Mathematical details:
      'reparameterization' (Blundell et al. 2015): W = mu + s * eps, eps ~
        N(0, I), one draw per call shared by the whole batch; y = x W.
      'flipout' (Wen et al. 2018): one shared perturbation dW = s * eps,
        decorrelated across examples with random signs r_in, r_out in
        {-1, 1}: y = x mu + ((x * r_in) dW) * r_out. Each example sees a
        weight with the exact posterior marginal (the positions of an input
        `[batch, time, in]` share their example's signs, so its steps see
        one draw); gradients have lower variance than the shared draw.
      'local_reparameterization' (Kingma et al. 2015): draws each
        pre-activation from its exact marginal N(x mu, x^2 s^2) (plus the
        bias's), independently per row. Same per-unit mean and variance as
        'reparameterization', no kernel-sized noise, two matmuls. Rows are
        also the positions of `[batch, ..., in]`: each step of a sequence
        is drawn by itself, whereas one weight draw makes them correlated
        (a sum over T steps then has about 1/T of its variance); use
        'flipout' or 'reparameterization' where that matters.
      With `num_samples=K` the inputs are [K, batch, ..., in] and slice k gets
      its own weight sample (reparameterization: K kernel draws, each with its
      own matmul, all in one graph), so a K-sample predictive is one
      `sess.run`.

    Args:
      inputs: float32 or float64 `Tensor` of shape `[batch, ..., in]`, or
        `[num_samples, batch, ..., in]` when `num_samples` is set; `in` must be
        statically known.
      units: positive int, output size.
      activation: callable or None.
      use_bias: Python bool.
      estimator: one of 'reparameterization', 'flipout',
        'local_reparameterization'.
      prior: a `tfbnn.priors` prior (default `tfbnn.priors.normal(1.0)`).
      sample: Python bool or scalar bool `Tensor`. False uses the posterior
        means and draws no noise (deterministic); a `Tensor` chooses at run time.
      kl_collection: collection name for the KL (default
        `tfbnn.GraphKeys.KL_LOSSES`).
      num_samples: None (no sample axis) or positive int K (leading sample axis
        of size K on inputs and outputs).
      shared_inputs: with `num_samples=K`, True means the inputs have no
        sample axis and are the same for all K slices (a network's input in a
        K-sample predictive); the outputs still get the sample axis. Work that
        does not depend on the weight sample is then done once: x mu for
        flipout, x mu and x^2 s^2 for local reparameterisation.
      bayesian_bias: Python bool; False makes the bias a plain variable with no KL.
      kernel_loc_initializer: initializer of mu (default Glorot uniform).
      bias_loc_initializer: initializer of the bias mean (default zeros).
      posterior_init_scale: initial posterior stddev s (> 1e-6), the same for
        every weight; or a pair (low, high): each weight's rho is drawn
        uniformly between softplus^-1(low) and softplus^-1(high), as the
        per-weight random rho of Blundell et al. (2015) implementations.
      trainable: Python bool.
      name: variable scope name.
      reuse: as in `tf.variable_scope`.

    Returns:
      `Tensor` of shape `[batch, ..., units]` (or `[num_samples, batch, ...,
      units]`), dtype of `inputs`.

    Raises:
      ConfigError (a ValueError): for invalid arguments, naming the layer and
        the allowed values.

    References:
      Blundell et al. (2015), Weight Uncertainty in Neural Networks, sec. 3.2.
      Kingma, Salimans, Welling (2015), Variational Dropout and the Local
        Reparameterization Trick, sec. 2.3.
      Wen, Vicol, Ba, Tran, Grosse (2018), Flipout, sec. 3.
    """
    layer = _options.layer_label('dense', name)
    units = check_positive_int(layer, 'units', units)
    options = _options.layer_options('dense', **_options.builder_keywords(locals()))
    inputs = _bayesian.check_inputs(options, inputs, 2, None)
    kernel_shape = [tf.dimension_value(inputs.shape[-1]), units]
    return _bayesian.build_layer(inputs, kernel_shape, _matmul_last_axis, _sign_shape, options)
