"""The networks the training job builds from tfbnn layers: mlp, lenet5, conv3d.

Each builder takes inputs with an optional leading sample axis and returns
the network's outputs with the same leading axes. Variables live under one
variable scope ('model' by default) with fixed layer names, so the training,
evaluation and export graphs of one run share them by name (`reuse`).
"""
import collections
import math
import re

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import layers, priors, recurrent
from tfbnn.data.dataset import TASKS
from tfbnn.errors import ConfigError
from tfbnn.internal.sample_axis import fold_samples

__all__ = ['MODELS', 'NORMS', 'PRIORS', 'MEAN_INITIALIZERS', 'ModelSpec', 'NetworkOutputs',
           'build_network', 'gaussian_nll', 'noise_log_prior', 'make_prior', 'mean_initializer',
           'uniform_mean_limit', 'NAMED_MEAN_INITIALIZERS', 'UNIFORM_MEAN_PREFIX',
           'group_count', 'MIN_GROUP_VALUES']

MODELS = ('mlp', 'lenet5', 'conv3d', 'lstm')
NORMS = ('none', 'batch', 'group')
# `--norm group` leaves at least this many values per example in a group.
MIN_GROUP_VALUES = 16

ModelSpec = collections.namedtuple('ModelSpec', [
    'model', 'hidden', 'estimator', 'prior', 'norm', 'posterior_init_scale', 'task',
    'output_units', 'posterior_init_mean', 'group_values'])
ModelSpec.__new__.__defaults__ = ('glorot_uniform', MIN_GROUP_VALUES)
ModelSpec.__doc__ = """What to build.

Attributes:
  model: one of MODELS.
  hidden: tuple of positive ints, hidden widths of 'mlp'; 'lstm' takes its
    units from hidden[0]; ignored by 'lenet5' and 'conv3d'.
  estimator: one of tfbnn.layers.ESTIMATORS.
  prior: a tfbnn.priors prior.
  norm: one of NORMS: normalisation after each hidden Bayesian layer of
    'mlp', after each convolution of 'lenet5' and 'conv3d' (not their dense
    layers); 'lstm' takes none. Group norm takes `group_count` groups.
  posterior_init_scale: initial posterior stddev, or a (low, high) range
    (see `tfbnn.layers.dense`).
  task: 'classification' or 'regression'.
  output_units: number of classes, or 1 for regression.
  posterior_init_mean: the kernels' initial mu: one of
    NAMED_MEAN_INITIALIZERS, or 'uniform:A' (see `mean_initializer`).
  group_values: the least values per example in a group of group norm
    (`group_count`); 0 for gcd(channels, 8) groups, the rule before it.
"""

# The kernels' initial posterior means mu (Var(mu) = s / fan for the
# variance-scaling ones): Glorot & Bengio (2010) uniform, s = 2 over
# (fan_in + fan_out) / 2 ... as tf.layers' default; He et al. (2015) for
# ReLU, s = 2 / fan_in; LeCun (1998), s = 1 / fan_in. 'uniform:A' draws
# mu ~ U(-A, A) whatever the fan, Var(mu) = A^2 / 3 (a small A leaves the
# weights the data never move near 0, apart from the ones it does).
NAMED_MEAN_INITIALIZERS = ('glorot_uniform', 'he_normal', 'lecun_normal')
UNIFORM_MEAN_PREFIX = 'uniform:'
# What a mean initializer may be, as messages list it.
MEAN_INITIALIZERS = NAMED_MEAN_INITIALIZERS + (UNIFORM_MEAN_PREFIX + 'A',)
# A plain decimal or exponent number: no spaces, underscores or words.
_NUMBER = re.compile(r'^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$')


def uniform_mean_limit(name):
    """The A of a mean initializer 'uniform:A'.

    Args:
      name: one of NAMED_MEAN_INITIALIZERS, or 'uniform:A'.

    Returns:
      A as a float, or None for a named initializer.

    Raises:
      ConfigError: `name` is none of MEAN_INITIALIZERS, or A is not a finite
        number > 0.
    """
    if name in NAMED_MEAN_INITIALIZERS:
        return None
    if isinstance(name, str) and name.startswith(UNIFORM_MEAN_PREFIX):
        text = name[len(UNIFORM_MEAN_PREFIX):]
        limit = float(text) if _NUMBER.match(text) else math.nan
        if math.isfinite(limit) and limit > 0:
            return limit
        raise ConfigError('posterior mean initializer %r: A in uniform:A must be a finite '
                          'number > 0' % (name,))
    raise ConfigError('unknown posterior mean initializer %r: choose one of %s'
                      % (name, ', '.join(MEAN_INITIALIZERS)))


def mean_initializer(name):
    """The initializer of a kernel's means (a new object per call).

    Args:
      name: one of NAMED_MEAN_INITIALIZERS, or 'uniform:A' for U(-A, A).

    Raises:
      ConfigError: as `uniform_mean_limit`.
    """
    limit = uniform_mean_limit(name)
    if limit is not None:
        return tf.random_uniform_initializer(-limit, limit)
    if name == 'glorot_uniform':
        return tf.glorot_uniform_initializer()
    if name == 'he_normal':
        return tf.variance_scaling_initializer(2.0, 'fan_in', 'truncated_normal')
    if name == 'lecun_normal':
        return tf.variance_scaling_initializer(1.0, 'fan_in', 'truncated_normal')
    raise AssertionError('unreachable: %r' % (name,))

NetworkOutputs = collections.namedtuple('NetworkOutputs', ['outputs', 'noise_std'])
NetworkOutputs.__doc__ = """What a network returns.

Attributes:
  outputs: classification logits `[..., batch, classes]`, or regression means
    `[..., batch]`.
  noise_std: regression only: the learned homoscedastic observation noise
    stddev (scalar `Tensor`); None for classification.
"""


PRIORS = ('normal', 'scale_mixture', 'empirical_bayes')


def make_prior(name, sigma=1.0, pi=0.5, sigma1=1.0, sigma2=math.exp(-6.0)):
    """A prior from its command-line name (`PRIORS`): 'normal' (N(0, sigma^2)),
    'scale_mixture' (pi, sigma1, sigma2) or 'empirical_bayes' (N(0, s^2), s
    fitted to each weight tensor's posterior)."""
    if name == 'normal':
        return priors.normal(sigma)
    if name == 'scale_mixture':
        return priors.scale_mixture(pi, sigma1, sigma2)
    if name == 'empirical_bayes':
        return priors.empirical_bayes_normal()
    raise ConfigError('unknown prior %r: choose one of %s' % (name, ', '.join(PRIORS)))


_INPUT_KIND = {2: 'image [height, width, channels] (or [height, width])',
               3: 'volume [depth, height, width, channels] (or [depth, height, width])'}


def _fold(x, num_samples, fn):
    """Applies `fn` (which takes [batch, ...]) to x with an optional sample axis."""
    return fn(x) if num_samples is None else fold_samples(x, fn)


def _normalise(h, spec, training, num_samples, name):
    if spec.norm == 'batch':
        return layers.batch_normalization(h, training=training, name=name,
                                          batch_dims=1 if num_samples is None else 2)
    if spec.norm == 'group':
        lead = 1 if num_samples is None else 2
        spatial = h.shape.as_list()[lead:-1]
        positions = None if None in spatial else int(np.prod(spatial, dtype=np.int64))
        groups = group_count(tf.dimension_value(h.shape[-1]), positions, spec.group_values)
        return layers.group_norm(h, groups, batch_dims=lead, name=name)
    return h


def group_count(channels, positions, min_values=MIN_GROUP_VALUES):
    """The groups of `--norm group` on a layer of `channels` channels at
    `positions` positions (1 for a dense layer; None when unknown, taken as
    many): with `min_values` 0, gcd(channels, 8) (the rule of runs made
    before `--group-values`); otherwise the most groups, at most 8
    and dividing the channels, that leave each group at least `min_values`
    values per example; 1 (layer norm) when none does.
    (8 groups of one unit each would leave a dense layer's output at beta.)

    Raises:
      ConfigError: a layer of a single value per example, which any
        normalisation over it turns into a constant.
    """
    if min_values == 0:
        return math.gcd(channels, 8)
    positions = min_values if positions is None else positions
    if channels * positions < 2:
        raise ConfigError('--norm group: a layer of %d unit(s) at %d position(s) has one value per '
                          'example, which normalising sets to a constant; widen it, or use '
                          '--norm none' % (channels, positions))
    for groups in (8, 4, 2):
        if channels % groups == 0 and channels // groups * positions >= min_values:
            return groups
    return 1


def _flatten(h, num_samples):
    """Flattens the feature axes with a constant target shape.

    The shape is a constant (-1 stands for the batch), so a frozen graph holds
    no run-time shape arithmetic that simple importers cannot follow.
    """
    lead = 1 if num_samples is None else 2
    size = int(np.prod(h.shape.as_list()[lead:]))
    if num_samples is None:
        return tf.reshape(h, [-1, size])
    if tf.is_tensor(num_samples):
        return tf.reshape(h, tf.stack([num_samples, -1, size]))
    return tf.reshape(h, [int(num_samples), -1, size])


def build_network(spec, inputs, sample=True, num_samples=None, shared_input=False,
                  training=False, scope='model', reuse=tf.AUTO_REUSE, kl_collection=None):
    """Builds `spec` on `inputs` and returns `NetworkOutputs`.

    Args:
      spec: a `ModelSpec`.
      inputs: float `Tensor` `[batch] + input_shape`, or `[num_samples, batch] +
        input_shape` when `num_samples` is set.
      sample: Python bool or scalar bool `Tensor`, passed to every layer.
      num_samples: None or the static size of the leading sample axis.
      shared_input: with `num_samples=K`, `inputs` has no sample axis and all
        K weight samples see it; the first layer then does the work that does
        not depend on the weight sample once (see `tfbnn.layers.dense`).
      training: Python bool or bool `Tensor` for batch normalisation.
      scope: variable scope of the whole network.
      reuse: as in `tf.variable_scope`; the default creates on first use.
      kl_collection: where the layers' KLs go (default
        `tfbnn.GraphKeys.KL_LOSSES`).

    Returns:
      `NetworkOutputs`.

    Raises:
      ConfigError: for a model that cannot take these inputs.
    """
    if spec.model not in MODELS:
        raise ConfigError('unknown model %r: choose one of %s' % (spec.model, ', '.join(MODELS)))
    if spec.norm not in NORMS:
        raise ConfigError('unknown norm %r: choose one of %s' % (spec.norm, ', '.join(NORMS)))
    if spec.task not in TASKS:
        raise ConfigError('unknown task %r: choose one of %s' % (spec.task, ', '.join(TASKS)))
    if shared_input and num_samples is None:
        raise ConfigError('build_network: shared_input=True needs num_samples')
    example_rank = inputs.shape.ndims - (1 if num_samples is None or shared_input else 2)
    kw = dict(estimator=spec.estimator, prior=spec.prior, sample=sample, num_samples=num_samples,
              posterior_init_scale=(tuple(spec.posterior_init_scale)
                                    if isinstance(spec.posterior_init_scale, list)
                                    else spec.posterior_init_scale),
              kernel_loc_initializer=mean_initializer(spec.posterior_init_mean),
              kl_collection=kl_collection)
    first = dict(kw, shared_inputs=bool(shared_input))
    with tf.variable_scope(scope, reuse=reuse):
        if spec.model == 'lstm':
            return NetworkOutputs(recurrent.lstm_classifier(spec, inputs, sample, num_samples,
                                                            shared_input, kl_collection), None)
        if spec.model == 'mlp':
            h = _flatten(inputs, None if shared_input else num_samples)
            for i, width in enumerate(spec.hidden):
                h = layers.dense(h, width, name='fc%d' % (i + 1), **(kw if i else first))
                h = tf.nn.relu(_normalise(h, spec, training, num_samples, 'norm%d' % (i + 1)))
        else:
            # lenet5: two 5x5 conv2d blocks (6, 16 filters) then dense 120, 84;
            # conv3d: two 3x3x3 conv3d blocks (8, 16 filters) then dense 64.
            rank = 2 if spec.model == 'lenet5' else 3
            # One channel, not stored (Keras' mnist.npz; volumes saved as [N, D, H, W]).
            # A volume's last axis of a few voxels is more likely an image's channels.
            last = tf.compat.dimension_value(inputs.shape[-1]) or 0
            bare = example_rank == rank and (rank == 2 or last > 4)
            if bare:
                inputs, example_rank = tf.expand_dims(inputs, -1), rank + 1
            if example_rank != rank + 1:
                raise ConfigError(
                    'model %s needs %s inputs, got examples of shape %s%s'
                    % (spec.model, _INPUT_KIND[rank], inputs.shape[-example_rank:],
                       '; volumes of %s without a channel axis are taken for images: add the '
                       'axis, x[..., None]' % ('width 4 or less' if last else 'unknown width')
                       if example_rank == rank else ''))
            conv, pool = ((layers.conv2d, tf.nn.max_pool2d) if rank == 2
                          else (layers.conv3d, tf.nn.max_pool3d))
            filters, kernel, widths = ((6, 16), 5, (120, 84)) if rank == 2 else ((8, 16), 3, (64,))
            h = inputs
            for i, f in enumerate(filters):
                h = conv(h, f, kernel, padding='same', name='conv%d' % (i + 1),
                         **(kw if i else first))
                h = tf.nn.relu(_normalise(h, spec, training, num_samples, 'norm%d' % (i + 1)))
                h = _fold(h, num_samples, lambda t: pool(t, 2, 2, 'SAME'))
            h = _flatten(h, num_samples)
            for i, width in enumerate(widths):
                h = tf.nn.relu(layers.dense(h, width, name='fc%d' % (i + 1), **kw))
        # (an mlp without hidden layers: the output layer is the first)
        out = layers.dense(h, spec.output_units, name='output',
                           **(first if spec.model == 'mlp' and not spec.hidden else kw))
        if spec.task == 'classification':
            return NetworkOutputs(out, None)
        log_noise = tf.get_variable('log_noise_std', [], out.dtype,
                                    tf.constant_initializer(math.log(0.5)))
        return NetworkOutputs(tf.squeeze(out, -1), tf.exp(log_noise))


def noise_log_prior(noise_std, shape, rate, name=None):
    """log p(log tau) of a Gamma(shape, rate) prior on the noise precision.

    Mathematical details:
      tau = 1 / noise_std^2 ~ Gamma(a, b), as PBP's prior on the noise
      precision (Hernandez-Lobato & Adams 2015, sec. 3: a = b = 6). The
      network learns log noise_std, so the density is taken over log tau,
      which adds the Jacobian tau:
        log p(log tau) = a log tau - b tau + const.
      Its negative, scaled like the KL, is added to the loss: a MAP estimate
      of the noise under that prior instead of maximum likelihood.
    """
    with tf.name_scope(name, 'noise_log_prior', [noise_std]):
        log_tau = -2.0 * tf.log(noise_std)
        return shape * log_tau - rate * tf.exp(log_tau)


def gaussian_nll(y, mean, noise_std):
    """Per-example -log N(y; mean, noise_std^2); broadcasts over a sample axis."""
    return (0.5 * math.log(2 * math.pi) + tf.log(noise_std)
            + 0.5 * tf.square((y - mean) / noise_std))
