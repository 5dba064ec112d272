"""Per-layer instruments for the KL term: what it is, and what it does to the gradients.

Layers are found through the KL collection, with no Keras and no registry:
every tensor there is named `<layer scope>/kl_divergence`, and the layer's
posterior is the `*_loc` and `*_rho` variables directly under that scope (for
`tfbnn.custom_getter`, the variable and its `<name>_rho`).

Mathematical details:
  For a minibatch loss L = nll_term + c KL (c the scheme's KL coefficient),
  the gradient with respect to a layer's variables theta_l splits as

    dL/dtheta_l = d nll_term/dtheta_l + c dKL_l/dtheta_l,

  because the KL of a mean-field posterior is a sum of per-layer terms and
  only KL_l depends on theta_l. The instruments report the global norm of each
  part and their ratio: loss magnitudes do not matter to the optimiser, these
  gradients do. A ratio well above 1 means the prior is pulling that layer's
  posterior harder than the data are.
"""
import collections
import numbers
import warnings

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.graph_keys import GraphKeys
from tfbnn.internal.compat import require_graph_mode
from tfbnn.internal.own_variables import graph_variables
from tfbnn.internal.posterior_scale import SCALE_FLOOR, scale_from_rho
from tfbnn.internal.scopes import NOT_A_NAME_SCOPE, in_scope, relative_name, scope_pattern

__all__ = ['LayerDiagnostics', 'bayesian_layers', 'layer_diagnostics', 'format_table',
           'add_summaries', 'dominated_layers', 'kernel_posteriors', 'signal_to_noise']

LayerDiagnostics = collections.namedtuple('LayerDiagnostics', [
    'num_params', 'kl', 'kl_per_param', 'mean_sigma', 'snr_median', 'snr_p10', 'snr_p90',
    'kl_grad_norm', 'nll_grad_norm', 'kl_to_nll_grad_ratio'])
LayerDiagnostics.__doc__ = """Scalar `Tensor`s describing one Bayesian layer.

Attributes:
  num_params: number of weights with a posterior (kernel and Bayesian bias).
  kl: the layer's KL(q || p), raw.
  kl_per_param: kl / num_params.
  mean_sigma: mean posterior stddev over those weights.
  snr_median, snr_p10, snr_p90: quantiles of |mu| / sigma, by nearest rank (the sorted
    value at round(q (n - 1)), not interpolated: of an even count, one of the middle two).
  kl_grad_norm: global norm of d(c KL)/d(theta_l), c the KL coefficient, theta_l the
    layer's posterior parameters (mu and rho of each weight with a posterior; a plain
    bias is left out, so a layer reads the same built by `tfbnn.layers` or under
    `tfbnn.bayesian_scope`).
  nll_grad_norm: global norm of d(nll term)/d(theta_l).
  kl_to_nll_grad_ratio: kl_grad_norm / max(nll_grad_norm, 1e-30): a layer the data term
    does not reach (a zero NLL gradient) reads as KL-dominated, with a huge ratio.
"""


def bayesian_layers(collection=None, scope=None):
    """(layer name, KL tensor, loc variables, rho variables, the trainable
    ones of both) per layer; `scope` as for `tfbnn.losses.get_kl_losses`."""
    found = []
    for kl in tf.get_collection(collection or GraphKeys.KL_LOSSES, scope_pattern(scope)):
        name = kl.op.name
        if not name.endswith('/kl_divergence'):
            continue
        layer = name[:-len('/kl_divergence')]
        getter_made = [v for v in tf.get_collection(GraphKeys.GETTER_POSTERIORS)
                       if v.op.name == layer]
        if getter_made:  # `tfbnn.custom_getter`: the variable itself and <name>_rho
            locs = getter_made
            rhos = [v for v in graph_variables() if v.op.name == layer + '_rho']
            found.append((layer, kl, locs, rhos, [v for v in locs + rhos if v.trainable]))
            continue
        variables = [v for v in graph_variables() if v.op.name.startswith(layer + '/')
                     and '/' not in v.op.name[len(layer) + 1:]]  # not a layer nested in it
        locs = sorted((v for v in variables if v.op.name.endswith('_loc')), key=lambda v: v.op.name)
        rhos = sorted((v for v in variables if v.op.name.endswith('_rho')), key=lambda v: v.op.name)
        found.append((layer, kl, locs, rhos, [v for v in locs + rhos if v.trainable]))
    return found


def kernel_posteriors(scope=None):
    """The kernel posterior variables of every Bayesian layer, by layer name.

    Found by their names (`<layer>/kernel_loc` beside `<layer>/kernel_rho`;
    for `tfbnn.custom_getter` posteriors, a variable of the
    GETTER_POSTERIORS collection beside `<name>_rho`, under its own name),
    not through the KL collection, so graphs that registered no KL (a
    predictive built on its own, a restored inference graph) are covered.

    Args:
      scope: optional variable scope, matched at a '/' as in
        `tfbnn.losses.get_kl_losses` ('net' is not 'net_1'); layer names
        are then relative to it.

    Returns:
      `collections.OrderedDict` layer -> (kernel_loc, kernel_rho), in the
      order the layers were built.
    """
    require_graph_mode('tfbnn.diagnostics.kernel_posteriors')
    out = collections.OrderedDict()
    variables = [v for v in graph_variables() if in_scope(v.name, scope)]
    by_name = {v.op.name: v for v in variables}
    getter_made = set(v.op.name for v in tf.get_collection(GraphKeys.GETTER_POSTERIORS))
    for v in variables:
        name = v.op.name
        if name.endswith('/kernel_loc') and name[:-len('_loc')] + '_rho' in by_name:
            layer, rho = name[:-len('/kernel_loc')], by_name[name[:-len('_loc')] + '_rho']
        elif name in getter_made and name + '_rho' in by_name:
            layer, rho = name, by_name[name + '_rho']  # `tfbnn.custom_getter`
        else:
            continue
        out[relative_name(layer, scope)] = (v, rho)
    return out


def signal_to_noise(loc, rho):
    """|mu| / sigma of numpy posterior parameters, sigma = softplus(rho) + floor.

    A pruned weight (rho = -inf, mu = 0: sigma = 0, see `tfbnn.pruning`) has
    ratio 0."""
    loc, rho = np.asarray(loc), np.asarray(rho)
    pruned = np.isneginf(rho)
    scale = np.logaddexp(0.0, rho) + np.where(pruned, 0.0, SCALE_FLOOR)
    return np.where(pruned, 0.0, np.abs(loc) / np.where(pruned, 1.0, scale))


def _quantile(x, q):
    """The q-quantile of a 1-D tensor (nearest rank)."""
    n = tf.size(x)
    k = tf.cast(tf.round(q * tf.cast(n - 1, tf.float32)), tf.int32)
    return tf.gather(tf.sort(x), k)


def _norm(grads):
    grads = [g for g in grads if g is not None]
    return tf.global_norm(grads) if grads else tf.constant(0.0)


def _described(value):
    """`value` for a one-line message: an array by its dtype and shape (its
    repr spans lines), anything else by a repr of at most 80 characters."""
    if isinstance(value, np.ndarray):
        return 'an array of %s, shape %s' % (value.dtype, value.shape)
    text = repr(value)
    return text if len(text) <= 80 and '\n' not in text else text.replace('\n', ' ')[:77] + '...'


def _checked_terms(nll_term, kl_coefficient):
    """(nll_term, kl_coefficient) as tensors; ConfigError for what cannot be
    one: not a float, not a scalar, a negative or non-finite Python number."""
    where = 'tfbnn.diagnostics.layer_diagnostics'
    if isinstance(kl_coefficient, numbers.Real) and not isinstance(kl_coefficient, bool):
        if not 0 <= kl_coefficient < np.inf:
            raise ConfigError('%s: kl_coefficient must be a finite number >= 0, got %r'
                              % (where, kl_coefficient))
    checked = []
    for what, value in (('nll_term', nll_term), ('kl_coefficient', kl_coefficient)):
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = float(value)  # 1 is a coefficient, not an int32 Tensor
        try:
            tensor = tf.convert_to_tensor(value)
        except (TypeError, ValueError):
            tensor = None
        if tensor is None or not tensor.dtype.is_floating or isinstance(value, bool):
            raise ConfigError('%s: %s must be a float scalar (a Tensor or a number), got %s'
                              % (where, what, _described(value)))
        if tensor.shape.ndims not in (None, 0):
            raise ConfigError('%s: %s must be a scalar, got shape %s (reduce it first: '
                              'Elbo.nll_term is one)' % (where, what, tensor.shape))
        checked.append(tensor)
    return checked


def layer_diagnostics(nll_term, kl_coefficient, collection=None, scope=None, name=None):
    """Builds the diagnostics of every Bayesian layer as graph ops.

    Cheap to keep in the graph and run every N steps: nothing runs unless
    fetched (the gradients here are a second backward pass when they are).

    Args:
      nll_term: scalar `Tensor`, the data term of the loss (`Elbo.nll_term`).
      kl_coefficient: scalar `Tensor` or float c multiplying the KL
        (`Elbo.kl_coefficient`).
      collection: KL collection (default `tfbnn.GraphKeys.KL_LOSSES`).
      scope: optional variable scope, as for `tfbnn.losses.get_kl_losses`.
      name: name scope.

    Returns:
      An `collections.OrderedDict` layer name -> `LayerDiagnostics`; empty,
      with a `UserWarning`, when no layer's KL is in the collection (under
      `scope`).
    """
    require_graph_mode('tfbnn.diagnostics.layer_diagnostics')
    nll_term, kl_coefficient = _checked_terms(nll_term, kl_coefficient)
    out = collections.OrderedDict()
    with tf.name_scope(name, 'diagnostics', [nll_term]):
        for layer, kl, locs, rhos, variables in bayesian_layers(collection, scope):
            if not locs or len(rhos) != len(locs):
                raise ConfigError(
                    "diagnostics: the KL tensor '%s' names no posterior: found %d means and %d "
                    "rhos under '%s/' (a KL is named '<the variables' scope>/kl_divergence')"
                    % (kl.op.name, len(locs), len(rhos), layer))
            dtype = tf.float32
            coef = tf.cast(kl_coefficient, dtype)
            count = sum(int(np.prod(v.shape.as_list())) for v in locs)
            sigma = tf.concat([tf.reshape(scale_from_rho(tf.cast(r, dtype)), [-1])
                               for r in rhos], axis=0)
            mu = tf.concat([tf.reshape(tf.cast(l, dtype), [-1]) for l in locs], axis=0)
            snr = tf.math.divide_no_nan(tf.abs(mu), sigma)  # 0 for pruned weights
            kl32 = tf.cast(kl, dtype)
            kl_norm = tf.abs(coef) * tf.cast(_norm(tf.gradients(kl, variables)), dtype)
            nll_norm = tf.cast(_norm(tf.gradients(nll_term, variables)), dtype)
            out[layer] = LayerDiagnostics(
                num_params=tf.constant(count, tf.int64), kl=kl32, kl_per_param=kl32 / count,
                mean_sigma=tf.reduce_mean(sigma), snr_median=_quantile(snr, 0.5),
                snr_p10=_quantile(snr, 0.1), snr_p90=_quantile(snr, 0.9),
                kl_grad_norm=tf.cast(kl_norm, dtype), nll_grad_norm=tf.cast(nll_norm, dtype),
                kl_to_nll_grad_ratio=tf.cast(kl_norm, dtype) / tf.maximum(
                    tf.cast(nll_norm, dtype), 1e-30))
    if not out:  # a typo in scope=, or layers built in another graph
        where = '' if scope is None else ' in scope %r' % scope + NOT_A_NAME_SCOPE
        warnings.warn("tfbnn.diagnostics.layer_diagnostics: the collection %r has no layer's "
                      "KL%s; nothing to diagnose" % (collection or GraphKeys.KL_LOSSES, where),
                      UserWarning, stacklevel=2)
    return out


def add_summaries(diagnostics, family='diagnostics'):
    """TensorBoard scalars `<family>/<layer>/<quantity>`; returns the merged op."""
    values = []
    for layer, d in diagnostics.items():
        for key, t in d._asdict().items():
            tag = '%s/%s/%s' % (family, layer.replace('/', '_'), key)
            values.append(tf.summary.scalar(tag, tf.cast(t, tf.float32)))
    return tf.summary.merge(values) if values else tf.no_op()


_COLUMNS = (('num_params', 'params', '%d'), ('kl', 'KL', '%.4g'),
            ('kl_per_param', 'KL/param', '%.3g'), ('mean_sigma', 'mean sigma', '%.3g'),
            ('snr_median', 'SNR med', '%.3g'), ('kl_grad_norm', '|grad cKL|', '%.3g'),
            ('nll_grad_norm', '|grad NLL|', '%.3g'), ('kl_to_nll_grad_ratio', 'KL/NLL', '%.3g'))


def format_table(values):
    """A printable table of evaluated diagnostics.

    Args:
      values: dict layer name -> `LayerDiagnostics` of numbers (the result of
        `sess.run` on `layer_diagnostics(...)`).

    Returns:
      A multi-line string, one row per layer.
    """
    width = max([len('layer')] + [len(n) for n in values])
    head = '%-*s' % (width, 'layer') + ''.join(' %11s' % title for _, title, _ in _COLUMNS)
    rows = [head]
    for layer, d in values.items():
        cells = ''.join(' %11s' % (fmt % getattr(d, key)) for key, _, fmt in _COLUMNS)
        rows.append('%-*s%s' % (width, layer, cells))
    return '\n'.join(rows)


def dominated_layers(values, threshold=1.0):
    """Names of the layers whose KL gradient norm exceeds `threshold` x the NLL's."""
    return [layer for layer, d in values.items() if d.kl_to_nll_grad_ratio > threshold]
