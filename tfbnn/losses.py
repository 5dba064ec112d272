"""The KL collection and the scaled evidence lower bound (ELBO) built from it.

Mathematical details:
  With N training examples, per-example negative log-likelihoods nll_n(w) and
  a posterior q over the weights, the quantity to minimise is

    -ELBO = sum_{n=1..N} E_q[nll_n(w)] + KL(q || p).

  A minibatch of B examples gives an unbiased estimate of it as soon as the KL
  is split over the minibatches of an epoch. The schemes below are such
  splits, differing only by a constant factor or by how the KL is spread:

  per_example (the TFP example):   L = (1/B) sum_b nll_b + KL / N
  per_batch (Blundell eq. 8):      L = sum_b nll_b + KL / M,  M = ceil(N / B)
  blundell (Blundell eq. 9):       L = sum_b nll_b + pi_i KL,
                                   pi_i = 2^(M-i) / (2^M - 1), i = 1..M

  When B divides N, M = N / B and KL / M = B KL / N, so
      L_per_batch = B * L_per_example
  exactly: the same objective, the same minimiser, gradients a factor B apart
  (Adam is invariant to that factor; with plain SGD divide the learning rate
  by B). Summed over one epoch's M minibatches, per_batch gives -ELBO and
  per_example gives -ELBO / B. The pi_i also sum to 1 over an epoch, so
  'blundell' is another unbiased split, front-loading the KL on the first
  minibatches of each epoch. When B does not divide N, per_batch weighs the
  KL by N / (M B) < 1 relative to per_example (the last batch is short).

  kl_weight (beta) multiplies the KL in every scheme: beta < 1 is a tempered
  ("cold") posterior, beta = 1 is Bayes; warmup_steps ramps beta linearly from
  0 over the first steps (Sonderby et al. 2016).

References:
  Blundell et al. (2015). Weight Uncertainty in Neural Networks. Eq. 8, 9.
  Graves (2011). Practical Variational Inference for Neural Networks.
  Wenzel et al. (2020). How Good is the Bayes Posterior in Deep Neural
    Networks Really? (cold posteriors)
"""
import collections
import math
import numbers
import warnings

import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.graph_keys import GraphKeys
from tfbnn.internal.arg_checks import check_integer_scalar
from tfbnn.internal.compat import require_graph_mode
from tfbnn.internal.nll_axes import check_sample_axis, with_batch_check
from tfbnn.internal.scopes import NOT_A_NAME_SCOPE, scope_pattern

__all__ = ['SCHEMES', 'Elbo', 'get_kl_losses', 'kl_divergence', 'kl_coefficient',
           'blundell_pi', 'elbo']

SCHEMES = ('per_example', 'per_batch', 'blundell')


Elbo = collections.namedtuple('Elbo', ['loss', 'nll_term', 'kl', 'kl_coefficient', 'scaled_kl'])
Elbo.__doc__ = """The scaled negative ELBO and its parts, all scalar `Tensor`s.

Attributes:
  loss: nll_term + scaled_kl, the quantity to minimise.
  nll_term: mean (per_example) or sum (per_batch, blundell) of the NLL.
  kl: the raw KL, sum of the collection.
  kl_coefficient: what multiplies the KL (scheme factor x kl_weight x warm-up).
  scaled_kl: kl_coefficient * kl.

All are in the NLL's dtype, except for a float16 or bfloat16 NLL: then only
`nll_term` is, and `loss`, `kl`, `kl_coefficient` and `scaled_kl` are in the
KL's dtype (float32), where a scaled KL of 1e5 does not overflow.
"""


def get_kl_losses(scope=None, collection=None):
    """The KL tensors in `collection` (default `GraphKeys.KL_LOSSES`).

    Args:
      scope: optional variable scope (of the layers or getter weights, by
        the KL tensors' names), matched at a '/': 'net' selects 'net/...',
        not 'net_1/...'. A scope ending in '/' is taken as it is; otherwise
        it is a regular expression, as in `tf.get_collection`. Not a
        `tf.name_scope`: a tower's name scope does not rename the variables.
      collection: collection name; default `tfbnn.GraphKeys.KL_LOSSES`.

    Returns:
      A list of scalar `Tensor`s, one per Bayesian layer.

    Raises:
      ConfigError: in eager mode, which has no graph collections.
    """
    require_graph_mode('tfbnn.losses.get_kl_losses')
    return tf.get_collection(collection or GraphKeys.KL_LOSSES, scope_pattern(scope))


def kl_divergence(scope=None, collection=None, name=None):
    """Sum of the KL collection: KL(q || p) of all Bayesian layers (in scope).

    Args:
      scope: optional variable scope, as for `get_kl_losses` ('net' is not
        'net_1').
      collection: collection name; default `tfbnn.GraphKeys.KL_LOSSES`.
      name: op name.

    Returns:
      A scalar `Tensor`: float64 if any term is, else the terms' dtype. A
      float32 zero, with a `UserWarning`, when the collection is empty
      (usually a sign that the layers were built in another graph or scope).

    Raises:
      ConfigError: in eager mode, which has no graph collections.
    """
    require_graph_mode('tfbnn.losses.kl_divergence')
    losses = get_kl_losses(scope, collection)
    with tf.name_scope(name, 'kl_divergence', losses):
        if not losses:
            warnings.warn("tfbnn.losses.kl_divergence: the collection %r has no KL terms%s; "
                          "the KL is 0" % (collection or GraphKeys.KL_LOSSES, '' if scope is None
                                           else ' in scope %r' % scope + NOT_A_NAME_SCOPE),
                          UserWarning, stacklevel=2)
            return tf.zeros([], tf.float32)
        dtype = _sum_dtype(losses)
        return tf.add_n([tf.cast(l, dtype) for l in losses])


def blundell_pi(step, num_batches, dtype=tf.float32, name=None):
    """pi_i = 2^(M-i) / (2^M - 1) of Blundell et al. (2015), eq. 9.

    i = (step mod M) + 1 is the 1-based index of the minibatch in its epoch.
    Computed as exp(-i log 2 - log1p(-2^-M)), so for M in the thousands it
    underflows gracefully to 0 for late minibatches instead of giving inf/inf.

    Args:
      step: integer scalar `Tensor`, the global step (0-based).
      num_batches: positive Python int M.
      dtype: float dtype of the result.
      name: op name.

    Returns:
      A scalar `Tensor` in (0, 1]; sums to 1 over any M consecutive steps
      starting at a multiple of M.
    """
    _check_int('blundell_pi', 'num_batches', num_batches, minimum=1)
    _check_step('blundell_pi', step)
    with tf.name_scope(name, 'blundell_pi', [step]):
        i = tf.cast(tf.mod(tf.cast(step, tf.int64), num_batches) + 1, tf.float64)
        log_norm = math.log1p(-2.0 ** -num_batches)  # 2^-M underflows to 0: fine
        return tf.cast(tf.exp(-i * math.log(2.0) - log_norm), dtype)


def kl_coefficient(num_examples, batch_size=None, scheme='per_example', kl_weight=1.0,
                   warmup_steps=0, step=None, dtype=tf.float32, name=None):
    """The factor that multiplies the KL under `scheme`; see the module docstring.

    Args: as for `elbo`; `batch_size` must be a Python int for per_batch and
      blundell. `dtype` is the result's dtype.

    Returns:
      A scalar `Tensor`.

    Raises:
      ConfigError (a ValueError): for invalid arguments.
    """
    return _coefficient('kl_coefficient', num_examples, batch_size, scheme, kl_weight,
                        warmup_steps, step, dtype, name)


def _coefficient(owner, num_examples, batch_size, scheme, kl_weight, warmup_steps, step, dtype,
                 name):
    """`kl_coefficient`, its errors starting with `owner` (the public caller)."""
    if scheme not in SCHEMES:
        raise ConfigError('%s: scheme must be one of %s, got %r' % (owner, SCHEMES, scheme))
    _check_int(owner, 'num_examples', num_examples, minimum=1)
    _check_int(owner, 'warmup_steps', warmup_steps, minimum=0)
    if isinstance(kl_weight, (tf.Tensor, tf.Variable)):
        if kl_weight.shape.ndims not in (None, 0):
            raise ConfigError('%s: kl_weight must be a scalar, got shape %s'
                              % (owner, kl_weight.shape))
        known = tf.get_static_value(kl_weight) if isinstance(kl_weight, tf.Tensor) else None
        if known is not None and not 0 <= float(known) < float('inf'):
            raise ConfigError('%s: kl_weight must be a finite number >= 0, got a constant '
                              'Tensor of %r' % (owner, float(known)))
    elif (isinstance(kl_weight, bool) or not isinstance(kl_weight, numbers.Real)
          or not 0 <= kl_weight < float('inf')):
        raise ConfigError('%s: kl_weight must be a finite number >= 0 or a scalar Tensor, '
                          'got %r' % (owner, kl_weight))
    if scheme != 'per_example':
        _check_int(owner, 'batch_size', batch_size, minimum=1,
                   hint=" (scheme %r needs the nominal minibatch size B to get M = ceil(N/B))"
                   % scheme)
    if step is None and (scheme == 'blundell' or warmup_steps > 0):
        step = tf.train.get_global_step()
        if step is None:
            raise ConfigError("%s: scheme 'blundell' and warmup_steps > 0 need step= or a "
                              "global step (tf.train.get_or_create_global_step())" % owner)
    if step is not None and (scheme == 'blundell' or warmup_steps > 0):
        _check_step(owner, step)
    with tf.name_scope(name, 'kl_coefficient', [kl_weight]):
        if scheme == 'per_example':
            coef = tf.constant(1.0 / num_examples, dtype)
        else:
            num_batches = -(-num_examples // batch_size)
            coef = (tf.constant(1.0 / num_batches, dtype) if scheme == 'per_batch'
                    else blundell_pi(step, num_batches, dtype))
        if isinstance(kl_weight, (tf.Tensor, tf.Variable)):
            checks = [tf.debugging.assert_greater_equal(
                kl_weight, tf.zeros([], kl_weight.dtype.base_dtype),
                message='%s: kl_weight must be >= 0 (a negative one rewards a larger KL)'
                % owner)]
            if kl_weight.shape.ndims is None:  # a vector would make the loss one
                checks.append(tf.debugging.assert_rank(
                    kl_weight, 0, message='%s: kl_weight must be a scalar' % owner))
            with tf.control_dependencies(checks):
                coef *= tf.cast(kl_weight, dtype)
        else:
            coef *= tf.constant(kl_weight, dtype)
        if warmup_steps > 0:
            ramp = tf.cast(step, tf.float64) / float(warmup_steps)
            coef *= tf.cast(tf.minimum(ramp, 1.0), dtype)
        return coef


def elbo(nll, num_examples, batch_size=None, scheme='per_example', kl_weight=1.0,
         warmup_steps=0, step=None, scope=None, collection=None, name=None):
    """The scaled negative ELBO of a minibatch, from the KL collection.

    per_example and per_batch are the same objective up to the factor B (when
    B divides N); see the module docstring for the derivation and for pi_i.

    Args:
      nll: float `Tensor` of per-example negative log-likelihoods, shape
        `[batch]`, or `[num_samples, batch]` for several weight samples (the
        sample axis, of static size, is averaged). One value per example: sum
        a per-pixel, per-voxel or per-timestep NLL over its positions first
        (a mean over them weakens the likelihood against the KL by the
        number of positions). A rank-2 NLL whose first axis has no static
        size, or whose first axis is `batch_size` and second is not, is
        refused as a per-position NLL (so is `[num_samples, batch]` whose
        number of samples equals `batch_size` while its static batch does not,
        and, when it runs, one with more examples than `batch_size` on its
        second axis). A float16 or bfloat16 NLL gets its KL, coefficient,
        scaled KL and loss in the KL's dtype (float32: in float16 a KL of
        1e5 overflows, and so does a scaled KL early in 'blundell' or with a
        small N); its nll_term stays in the NLL's dtype.
      num_examples: positive Python int N, the training-set size.
      batch_size: positive Python int B, the nominal minibatch size. Needed
        for 'per_batch' and 'blundell'; taken from `nll`'s static shape when
        None and known (then a `[B, 1]` nll, B > 1, is refused as ambiguous).
      scheme: 'per_example', 'per_batch' or 'blundell'.
      kl_weight: float >= 0 or scalar `Tensor` beta multiplying the KL. A
        constant `Tensor` is checked when built (ConfigError); any other one
        fails when run if negative or NaN, or if it is not a scalar (a
        vector fed to a placeholder of unknown shape).
      warmup_steps: int >= 0; beta ramps as min(1, step / warmup_steps).
      step: integer scalar `Tensor`; default the global step. Needed by
        'blundell' and warm-up.
      scope: optional variable scope of the KL terms, as for
        `get_kl_losses` ('net' selects 'net/...', not 'net_1/...').
      collection: KL collection name (default `tfbnn.GraphKeys.KL_LOSSES`).
      name: op name.

    Returns:
      An `Elbo` namedtuple (loss, nll_term, kl, kl_coefficient, scaled_kl).

    Raises:
      ConfigError (a ValueError): for invalid arguments, with what is allowed.
    """
    def nll_term(nll):
        if scheme == 'per_example':
            return tf.reduce_mean(nll)
        return tf.reduce_mean(tf.reduce_sum(nll, axis=-1))

    return _assemble_elbo('tfbnn.losses.elbo', nll, nll_term, num_examples, batch_size, scheme,
                          kl_weight, warmup_steps, step, scope, collection, name)


def _assemble_elbo(api, nll, nll_term_fn, num_examples, batch_size, scheme, kl_weight,
                   warmup_steps, step, scope, collection, name, values=(), nll_batch=None):
    """Checks `nll` and builds `Elbo(nll_term_fn(nll) + kl_coefficient * KL)`.

    The one place that checks the NLL and assembles an `Elbo`, for `elbo` and
    `tfbnn.replica_losses.replica_elbo`; the two differ only in the NLL term
    and in the batch size that sets the KL coefficient.

    Args:
      api: the caller's full name, e.g. 'tfbnn.losses.elbo'; its last part
        starts the error messages and is the default name scope.
      nll: float `Tensor` (or convertible) of shape `[batch]` or
        `[num_samples, batch]`.
      nll_term_fn: callable taking the checked `nll` `Tensor` and returning
        the scalar NLL term, built inside the name scope.
      num_examples, scheme, kl_weight, warmup_steps, step: as for `elbo`.
      batch_size: the B of the KL coefficient; when None, and the scheme needs
        it, `nll`'s static last dimension.
      scope, collection: the KL collection filter.
      name: op name.
      values: further `Tensor`s the ops depend on, for the name scope.
      nll_batch: the nominal batch size of `nll` itself, when it is not
        `batch_size` (a replica's share of the global batch), for the check
        of a rank-2 `nll`; None: `batch_size`.

    Returns:
      An `Elbo`.

    Raises:
      ConfigError (a ValueError): in eager mode, or for invalid arguments.
    """
    require_graph_mode(api)
    owner = api.rsplit('.', 1)[-1]
    nll = tf.convert_to_tensor(nll)
    if not nll.dtype.is_floating:
        raise ConfigError('%s: nll must be a float Tensor, got %s' % (owner, nll.dtype.name))
    if nll.shape.ndims not in (1, 2):
        raise ConfigError('%s: nll must have shape [batch] or [num_samples, batch] (one value '
                          'per example; sum any per-pixel terms first), got shape %s'
                          % (owner, nll.shape))
    nominal = batch_size if nll_batch is None else nll_batch
    if nominal is not None:
        _check_int(owner, 'batch_size', nominal, minimum=1)
    if nll.shape.ndims == 2:
        check_sample_axis(owner, nll.shape, nominal, scheme != 'per_example')
    if scheme != 'per_example' and batch_size is None:
        batch_size = tf.dimension_value(nll.shape[-1])
    with tf.name_scope(name, owner, [nll] + list(values)):
        if (nll.shape.ndims == 2 and nominal is not None
                and tf.dimension_value(nll.shape[1]) is None):
            nll = with_batch_check(owner, nll, nominal)
        dtype = _term_dtype(nll.dtype.base_dtype, _sum_dtype(get_kl_losses(scope, collection)))
        coef = _coefficient(owner, num_examples, batch_size, scheme, kl_weight, warmup_steps,
                            step, dtype, None)
        nll_term = nll_term_fn(nll)
        kl = tf.cast(kl_divergence(scope, collection), dtype)
        scaled_kl = coef * kl
        loss = tf.cast(nll_term, dtype) + scaled_kl
        return Elbo(tf.identity(loss, 'loss'), tf.identity(nll_term, 'nll_term'),
                    tf.identity(kl, 'kl'), tf.identity(coef, 'kl_coefficient'),
                    tf.identity(scaled_kl, 'scaled_kl'))


def _sum_dtype(terms):
    """The dtype of the sum of the KL `terms`: float64 if any term is, else
    the terms' (float32 for none); `kl_divergence`'s, known before it is built."""
    if any(t.dtype.base_dtype == tf.float64 for t in terms):
        return tf.float64
    return terms[0].dtype.base_dtype if terms else tf.float32


def _term_dtype(nll_dtype, kl_dtype):
    """The dtype of the KL and its coefficient: the NLL's, unless it has
    fewer than 32 bits (float16, bfloat16), where a KL of 1e5 overflows and a
    coefficient of 1 / 60000 underflows: then the KL's."""
    return nll_dtype if nll_dtype.size >= 4 else kl_dtype


def _check_step(owner, step):
    """ConfigError unless `step` is an integer scalar (a Tensor, Variable or
    Python int >= 0): a vector would make the loss one, a float step is cut.
    Builds no op."""
    if isinstance(step, (tf.Tensor, tf.Variable)):
        check_integer_scalar(owner, 'step', step, 'an integer scalar (the global step)')
    else:
        _check_int(owner, 'step', step, minimum=0, hint=' (or an integer scalar Tensor)')


def _check_int(owner, what, value, minimum, hint=''):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError('%s: %s must be an integer >= %d%s, got %r'
                          % (owner, what, minimum, hint, value))
