"""Internal: what every Bayesian layer shares.

A layer kind (dense, conv) supplies its linear map, a kernel shape and its
checked keywords as one `_options.LayerOptions`; this module creates the
mean-field posterior variables, runs the chosen gradient estimator, and
registers the layer's KL once. Keeping the estimators here, written against
that one map, means dense and conv cannot drift apart.

The linear map a layer kind supplies:
  linear(x, w):     x with or without leading sample axes, one kernel `w`
                    for all of it.
With K weight samples the estimators run the map once per sample in an
in-graph loop, which keeps each iteration's kernel in cache.
"""
import collections
import contextlib

import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError, TfbnnError, cause_line
from tfbnn.graph_keys import GraphKeys
from tfbnn.internal import kl_record
from tfbnn.internal.compat import TF2, nested_graph
from tfbnn.internal.own_variables import making_posterior
from tfbnn.internal.posterior_scale import mark_rho, rho_initializer, scale_from_rho
from tfbnn.internal.pruned_kl import layer_kl
from tfbnn.internal.random_normal import standard_normal
from tfbnn.internal.sample_axis import tile_samples

__all__ = []

# tf.map_fn's output dtype: TF 2.x deprecates `dtype` (a warning in every
# user's log); TF 1.15 has no `fn_output_signature`.
_MAP_DTYPE = 'fn_output_signature' if TF2 else 'dtype'

# Added to the local-reparameterisation variance before the square root, whose
# gradient is infinite at 0 (an all-zero input row, e.g. after a ReLU).
_VARIANCE_EPS = {tf.float32: 1e-12, tf.float64: 1e-24}

Posterior = collections.namedtuple('Posterior', ['loc', 'rho', 'scale'])


def check_inputs(options, inputs, min_rank, max_rank):
    """Converts `inputs` and checks rank, dtype and a defined last dimension.

    Args:
      options: the layer's `LayerOptions` (for its label, `num_samples` and
        `shared_inputs`).
      inputs: what the user passed as the layer's inputs.
      min_rank, max_rank: the allowed rank without a sample axis (max_rank
        None: no upper bound).

    Returns:
      `inputs` as a `Tensor`.

    Raises:
      ConfigError: a wrong dtype or rank, a sample axis of the wrong size or
        an undefined last dimension.
    """
    layer = options.label
    # Shared inputs carry no sample axis.
    num_samples = None if options.shared_inputs else options.num_samples
    inputs = tf.convert_to_tensor(inputs)
    if inputs.dtype.base_dtype not in (tf.float32, tf.float64):
        raise ConfigError('%s: inputs must be float32 or float64, got %s'
                          % (layer, inputs.dtype.name))
    extra = 0 if num_samples is None else 1
    rank = inputs.shape.ndims
    lo, hi = min_rank + extra, (None if max_rank is None else max_rank + extra)
    if rank is None or rank < lo or (hi is not None and rank > hi):
        allowed = ('%d' % lo) if hi == lo else ('%d or more' % lo if hi is None else '%d..%d' % (lo, hi))
        axis_note = (' ([num_samples, batch, ...] because num_samples=%d)' % num_samples
                     if num_samples is not None else '')
        raise ConfigError('%s: inputs must have rank %s%s, got shape %s'
                          % (layer, allowed, axis_note, inputs.shape))
    if num_samples is not None and tf.dimension_value(inputs.shape[0]) not in (None, num_samples):
        raise ConfigError('%s: num_samples=%d but the inputs\' leading (sample) axis has size %d'
                          % (layer, num_samples, tf.dimension_value(inputs.shape[0])))
    if num_samples is not None and tf.dimension_value(inputs.shape[0]) is None:
        # Known only at run time: checked there (a wrong size would broadcast).
        check = tf.debugging.assert_equal(
            tf.shape(inputs)[0], num_samples,
            message='%s: num_samples=%d but the inputs\' leading (sample) axis has another size'
            % (layer, num_samples))
        with tf.control_dependencies([check]):
            inputs = tf.identity(inputs)
    if tf.dimension_value(inputs.shape[-1]) is None:
        raise ConfigError('%s: the last dimension of the inputs must be defined, got shape %s'
                          % (layer, inputs.shape))
    return inputs


def make_posterior(prefix, shape, dtype, loc_initializer, init_scale, trainable):
    """Creates `<prefix>_loc` and `<prefix>_rho`; scale = softplus(rho) + floor.

    Marked as a posterior's own (`making_posterior`), so that a
    `tfbnn.bayesian_scope` around the layer leaves them as they are."""
    with making_posterior():
        loc = tf.get_variable(prefix + '_loc', shape=shape, dtype=dtype,
                              initializer=loc_initializer, trainable=trainable)
        rho = mark_rho(tf.get_variable(prefix + '_rho', shape=shape, dtype=dtype,
                                       initializer=rho_initializer(init_scale),
                                       trainable=trainable))
    with tf.init_scope():  # beside the variables, so a KL outside any loop can use it
        scale = scale_from_rho(rho, name=prefix + '_scale')
    return Posterior(loc, rho, scale)


def _noise(post, num_samples):
    """scale * eps with eps ~ N(0, 1); shape [K] + loc.shape when K is set."""
    shape = tf.shape(post.loc) if num_samples is None else tf.concat(
        [[num_samples], tf.shape(post.loc)], axis=0)
    return post.scale * standard_normal(shape, post.loc.dtype.base_dtype)


def _draw(post, num_samples):
    """Reparameterised weight draw(s) loc + scale * eps."""
    return post.loc + _noise(post, num_samples)


def _rademacher(shape, dtype):
    return 2.0 * tf.cast(tf.random.uniform(shape, maxval=2, dtype=tf.int32), dtype) - 1.0


def _broadcast_per_sample(values, out_rank):
    """[K, C] -> [K, 1, ..., 1, C] so it adds to outputs of rank `out_rank`."""
    k_and_c = tf.shape(values)
    return tf.reshape(values, tf.concat([k_and_c[:1], tf.ones([out_rank - 2], tf.int32),
                                         k_and_c[1:]], axis=0))


def _add_bias(outputs, bias, num_samples):
    if bias is None:
        return outputs
    if num_samples is not None and bias.shape.ndims == 2:
        bias = _broadcast_per_sample(bias, outputs.shape.ndims)
    return outputs + bias


# How a call samples: the layer kind's linear map, the sample count K (None: no
# sample axis) and whether the inputs lack the sample axis although K is set
# (`shared`: the same inputs for all K slices, e.g. a network's input).
Sampling = collections.namedtuple('Sampling', ['linear', 'sign_shape', 'num_samples', 'shared',
                                               'keep_draws'])


def _mean_outputs(x, kernel, bias, how):
    out = _add_bias(how.linear(x, kernel.loc),
                    bias.loc if isinstance(bias, Posterior) else bias, None)
    return tile_samples(out, how.num_samples) if how.shared else out


def _over_samples(chain, x, how):
    """Runs `chain(x_k) -> (output_k, weight_draw_k)` for the K weight samples.

    An in-graph loop (`tf.map_fn`), so the graph does not grow with K and
    each iteration's kernel draw stays in cache: measured faster than one
    [K, in, out] draw with a batched product, and than K `sess.run` calls
    (benchmarks/bench_predictive.py). The draws are stacked only when the
    prior's Monte Carlo KL needs them.
    """
    if how.shared:
        elems, body = tf.range(how.num_samples), lambda _: chain(x)
    else:
        elems, body = x, chain
    dtype = x.dtype.base_dtype
    # One iteration at a time: stateful random ops in concurrent iterations
    # would draw in a varying order and break seeded repeatability.
    if how.keep_draws:
        return tf.map_fn(body, elems, parallel_iterations=1, **{_MAP_DTYPE: (dtype, dtype)})
    return tf.map_fn(lambda e: body(e)[0], elems, parallel_iterations=1,
                     **{_MAP_DTYPE: dtype}), None


def _reparameterization(x, kernel, bias, how):
    k = how.num_samples

    def chain(xk):
        w = _draw(kernel, None)
        return how.linear(xk, w), w

    out, w = chain(x) if k is None else _over_samples(chain, x, how)
    b = _draw(bias, k) if isinstance(bias, Posterior) else bias
    return _add_bias(out, b, k), w, (b if isinstance(bias, Posterior) else None)


def _flipout(x, kernel, bias, how):
    """Wen et al. 2018: one shared perturbation, decorrelated per example by signs."""
    k = how.num_samples
    mean = how.linear(x, kernel.loc)  # once, also when K slices share x

    def chain(xk):
        delta = _noise(kernel, None)
        sign_in = _rademacher(how.sign_shape(xk, tf.shape(xk)[-1]), xk.dtype)
        pert = how.linear(xk * sign_in, delta)
        sign_out = _rademacher(how.sign_shape(pert, tf.shape(pert)[-1]), xk.dtype)
        return pert * sign_out, kernel.loc + delta

    pert, w = chain(x) if k is None else _over_samples(chain, x, how)
    b = _draw(bias, k) if isinstance(bias, Posterior) else bias
    return _add_bias(mean + pert, b, k), w, (b if isinstance(bias, Posterior) else None)


def _local_reparameterization(x, kernel, bias, how):
    """Kingma et al. 2015: sample each pre-activation from its exact marginal.

    With shared inputs the mean and variance are computed once and only the
    K noise draws differ: the K-sample predictive of a first layer costs two
    matrix products, not 2K. With a sample axis, the slices go through the
    in-graph loop like the other estimators' (cache-sized working sets).
    """
    def moments(xk):
        mean = how.linear(xk, kernel.loc)
        var = how.linear(tf.square(xk), tf.square(kernel.scale))
        if isinstance(bias, Posterior):
            mean += bias.loc
            var += tf.square(bias.scale)
        elif bias is not None:
            mean += bias
        # var / sqrt(var + eps) = sqrt(var) (1 + O(eps / var)): a finite
        # gradient at var = 0 (sqrt's is infinite: an all-zero input row) and
        # an exactly zero std there (that row, or only pruned weights).
        return mean, var * tf.rsqrt(var + _VARIANCE_EPS[xk.dtype.base_dtype])

    def chain(xk):
        mean, std = moments(xk)
        return mean + std * standard_normal(tf.shape(mean), xk.dtype.base_dtype), mean

    if how.num_samples is None:
        return chain(x)[0], None, None
    if how.shared:
        mean, std = moments(x)
        shape = tf.concat([[how.num_samples], tf.shape(mean)], axis=0)
        return mean + std * standard_normal(shape, x.dtype.base_dtype), None, None
    return _over_samples(chain, x, how._replace(keep_draws=False))[0], None, None


def _sampled_outputs(estimator, x, kernel, bias, how):
    if estimator == 'reparameterization':
        return _reparameterization(x, kernel, bias, how)
    if estimator == 'flipout':
        return _flipout(x, kernel, bias, how)
    return _local_reparameterization(x, kernel, bias, how)


def _as_samples(draw, num_samples):
    return tf.expand_dims(draw, 0) if num_samples is None else draw


def _layer_kl(prior, kernel, bias, kernel_draw, bias_draw, num_samples):
    """Scalar KL of the layer: kernel plus (Bayesian) bias, over the weights
    that are not pruned (`tfbnn.internal.pruned_kl`)."""
    def one(post, draw):
        samples = None
        if getattr(prior, 'requires_samples', False):
            samples = (_as_samples(draw, num_samples) if draw is not None
                       else tf.expand_dims(_draw(post, None), 0))
        return layer_kl(prior, post.loc, post.scale, post.rho, samples)
    kl = one(kernel, kernel_draw)
    if isinstance(bias, Posterior):
        kl += one(bias, bias_draw)
    return tf.identity(kl, name='kl_divergence')


def _or(initializer, default):
    return default() if initializer is None else initializer


def _make_variables(kernel_shape, dtype, options):
    """The kernel posterior and the bias (a posterior, a plain variable or
    None); TensorFlow's refusal (an initializer of the wrong shape, a layer
    built again without reuse) as one line naming the layer."""
    try:
        return _new_variables(kernel_shape, dtype, options)
    except TfbnnError:
        raise
    except ValueError as err:
        raise ConfigError('%s: cannot make its variables (kernel %s%s): %s'
                          % (options.label, kernel_shape, ', bias [%d]' % kernel_shape[-1]
                             if options.use_bias else '',
                             cause_line(err).split(' Originally defined at:')[0])) from err


def _new_variables(kernel_shape, dtype, options):
    kernel = make_posterior('kernel', kernel_shape, dtype,
                            _or(options.kernel_loc_initializer, tf.glorot_uniform_initializer),
                            options.posterior_init_scale, options.trainable)
    if not options.use_bias:
        return kernel, None
    units = kernel_shape[-1]
    bias_init = _or(options.bias_loc_initializer, tf.zeros_initializer)
    if options.bayesian_bias:
        return kernel, make_posterior('bias', [units], dtype, bias_init,
                                      options.posterior_init_scale, options.trainable)
    return kernel, tf.get_variable('bias', shape=[units], dtype=dtype, initializer=bias_init,
                                   trainable=options.trainable)


def _outputs(inputs, kernel, bias, how, options):
    """(outputs, kernel draw, bias draw): sampled, mean, or chosen at run time."""
    if options.sample is True:
        return _sampled_outputs(options.estimator, inputs, kernel, bias, how)
    if options.sample is False:
        return _mean_outputs(inputs, kernel, bias, how), None, None
    return tf.cond(options.sample,
                   lambda: _sampled_outputs(options.estimator, inputs, kernel, bias, how)[0],
                   lambda: _mean_outputs(inputs, kernel, bias, how)), None, None


def _kl_context(prior):
    """Where a layer's KL is built: outside any control flow (a `tf.while_loop`
    or `tf.cond` around the layer, or a TF 2.x function graph), unless the
    prior's KL is estimated from the layer's own draws, which live there."""
    if getattr(prior, 'requires_samples', False):
        return contextlib.nullcontext()
    return tf.init_scope()


def _check_kl_reachable(options):
    """Refuses a sampled KL (built from the layer's own draws) inside control
    flow or a function, where the ELBO outside could not fetch it."""
    inside = nested_graph()
    if inside and getattr(options.prior, 'requires_samples', False):
        raise ConfigError('%s: its prior\'s KL is estimated from the layer\'s own draws, which '
                          'would live inside %s, where the ELBO cannot fetch them; create the '
                          'layer outside it (a later call with reuse=True may be inside), or use '
                          'a closed-form prior such as tfbnn.priors.normal()'
                          % (options.label, inside))


def build_layer(inputs, kernel_shape, linear, sign_shape, options):
    """Creates or reuses a Bayesian layer's variables and returns its outputs.

    Args:
      inputs: the inputs, already checked by `check_inputs`.
      kernel_shape: list of ints, the kernel's shape; its last entry is the
        number of output units (channels).
      linear: the layer kind's linear map `linear(x, w)` (module docstring).
      sign_shape: `sign_shape(x, channels)`, the shape of flipout's random
        signs for `x` (one per example and channel).
      options: the layer's `LayerOptions` from `_options.layer_options`; see
        `tfbnn.layers.dense` for the meaning of each field.

    Returns:
      The layer's outputs, `activation` applied.
    """
    dtype = inputs.dtype.base_dtype
    with tf.variable_scope(options.name, default_name=options.default_name, values=[inputs],
                           reuse=options.reuse) as vs:
        # Variables alone do not say it: a first call that failed after making
        # them (a bias_loc_initializer of the wrong shape) left the layer without its KL.
        creating = not kl_record.kl_made(vs.name)
        if creating:
            _check_kl_reachable(options)
            if vs.partitioner is not None:
                raise ConfigError('%s: its variable scope has a partitioner; a posterior of a '
                                  'partitioned variable is not supported: build the layer in a '
                                  'scope without one' % options.label)
        else:
            kl_record.check_same_prior(vs.name, options.prior, options.label)
        kernel, bias = _make_variables(kernel_shape, dtype, options)
        how = Sampling(linear, sign_shape, options.num_samples, options.shared_inputs,
                       keep_draws=creating and getattr(options.prior, 'requires_samples', False))
        outputs, kernel_draw, bias_draw = _outputs(inputs, kernel, bias, how, options)
        if creating:
            with _kl_context(options.prior), tf.name_scope(vs.name + '/'):
                kl = _layer_kl(options.prior, kernel, bias, kernel_draw, bias_draw,
                               options.num_samples)
            with tf.init_scope():  # the graph's collection, not a tf.function's
                tf.add_to_collection(options.kl_collection, kl)
                kl_record.record(vs.name, options.prior)
                if options.kind.endswith('_transpose'):
                    tf.add_to_collection(GraphKeys.TRANSPOSED_KERNELS, kernel.loc)
        # Its units, also where broadcasting could not tell (one unit, unknown signs).
        outputs.set_shape(outputs.shape[:-1].concatenate([kernel_shape[-1]]))
        if options.activation is not None:
            outputs = options.activation(outputs)
        return outputs
