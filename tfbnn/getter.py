"""Make an existing model Bayesian without rewriting it: a custom variable getter.

Code that builds its weights with `tf.get_variable` (plain graphs, `tf.nn`
ops, `tf.nn.rnn_cell` cells, `tf.layers`) becomes Bayes by Backprop by
opening its variable scope with this getter. Each weight it selects becomes
a mean-field Normal posterior q(w) = N(mu, sigma^2), sigma = softplus(rho) +
1e-6, and `tf.get_variable` returns a reparameterised draw mu + sigma * eps
(or mu itself) instead of the variable; its KL(q || p) goes to the KL
collection once, when the variables are created, as the layers' do.

Naming (so a deterministic checkpoint fits): the posterior mean keeps the
variable's own name (`rnn/lstm_cell/kernel`), and rho is that name plus
`_rho` (`rnn/lstm_cell/kernel_rho`); the KL tensor is
`<name>/kl_divergence`. A deterministic model's weights therefore restore as
the posterior means by name (`tfbnn.moped.init_from_checkpoint` also sets the
scales).

One draw per build: the draw is made where the variable is asked for, outside
any `tf.while_loop` or `tf.cond` (v1 control flow, or TF 2.x's, whose bodies
are function graphs inside the `tf.Graph`; under `tf.init_scope()`), so an
RNN cell built inside `tf.nn.dynamic_rnn` uses one weight sample for every
time step of a pass (Fortunato et al. 2017). A `reuse=True` build asks again
and gets a fresh draw; it adds no KL. A model that asks for the same weight
twice in one pass (Siamese branches, an RNN unrolled by hand, a layer applied
twice) would so get independent draws of one weight, and the likelihood would
see the average of their noise: for k independent draws averaged, a trained
sigma about sqrt(k) times too wide. `share_draws=True` gives every request of
a variable through one getter (one `bayesian_scope` block) the same draw.

Half precision: a weight that reaches the getter as float16 or bfloat16 (a
float16 variable, or the float16 cast an enclosing mixed-precision getter
returns for a variable it stores in float32) is drawn in that dtype, but its
KL is computed in float32, from the float32 variable itself when the value
is only a cast of it: in float16 the KL of a 784 x 400 kernel (~1e6)
overflows to inf and NaN, and its gradients (~1e-6 after the 1 / N) are
subnormal. (`tfbnn.layers` take float32 or float64 inputs only.)

What is left as it is: non-trainable and non-floating variables, those
`include` leaves out, and the variables tfbnn makes for a posterior (a
`tfbnn.layers` layer's `kernel_loc` and `kernel_rho`, or those of a nested
`bayesian_scope`, whose innermost getter makes the posterior). A regulariser
given to `tf.get_variable` applies to the mean, once; `tf.layers`'
`kernel_regularizer=` sees only the draw, and `bayesian_scope` warns of it.
A constraint given to `tf.get_variable` (`tf.layers`' `kernel_constraint=`)
applies to the mean only: the optimizer projects the mean after each step,
and rho stays free (a clip to [-1, 1] applied to rho would move sigma from
0.01 to 0.31 in one step).

References:
  Blundell et al. (2015), Weight Uncertainty in Neural Networks, sec. 3.2.
  Fortunato, Blundell, Vinyals (2017), Bayesian Recurrent Neural Networks,
    sec. 3 (one sample per sequence).
"""
import contextlib
import re
import warnings

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.graph_keys import GraphKeys
from tfbnn.internal import kl_record
from tfbnn.internal.compat import require_graph_mode
from tfbnn.internal.own_variables import is_making_posterior, making_posterior
from tfbnn.internal.posterior_scale import mark_rho, rho_initializer, scale_from_rho
from tfbnn.internal.pruned_kl import layer_kl
from tfbnn.internal.random_normal import standard_normal
from tfbnn.internal.weight_options import check_common

__all__ = ['custom_getter', 'bayesian_scope', 'default_include']


def default_include(name, shape, dtype):
    """Kernels and weight matrices: floating variables of rank >= 2 (biases,
    normalisation parameters and scalars stay deterministic)."""
    return tf.as_dtype(dtype).is_floating and len(shape) >= 2


def _include_fn(include):
    if include is None:
        return default_include
    if isinstance(include, str):
        try:
            pattern = re.compile(include)
        except re.error as err:
            raise ConfigError('custom_getter: include=%r is not a valid regular expression (%s)'
                              % (include, err))
        return lambda name, shape, dtype: bool(pattern.search(name))
    if callable(include):
        return include
    raise ConfigError('custom_getter: include must be None, a regular expression or a callable '
                      '(name, shape, dtype) -> bool, got %r' % (include,))


def _static_shape(shape, initializer):
    """The variable's shape as a list of ints, from `shape` or else from a
    constant `initializer` (a numpy array or a Tensor); None if unknown."""
    if shape is None and initializer is not None and not callable(initializer):
        shape = (initializer.shape if isinstance(initializer, (tf.Tensor, np.ndarray))
                 else np.shape(initializer))
    if shape is None or not tf.TensorShape(shape).is_fully_defined():
        return None
    return tf.TensorShape(shape).as_list()


def _posterior_spec(name, shape, dtype, initializer, selected, include_given, partitioned):
    """(shape, dtype) of the posterior that variable `name` becomes, or None
    when it stays plain: not floating, or with no static shape, or left out
    by `selected` (the `include` rule).

    Raises:
      ConfigError: a variable an explicit `include` selects that is not
        floating; a selected one with no static shape, or partitioned.
    """
    dtype = _constant_dtype(initializer) or dtype  # a constant makes the variable its dtype
    if not tf.as_dtype(dtype or tf.float32).is_floating:
        if include_given and selected(name, tf.TensorShape(shape).as_list()
                                      if shape is not None else None, dtype):
            raise ConfigError('custom_getter: include selects %s, a %s variable; only '
                              'floating variables can be Bayesian'
                              % (name, tf.as_dtype(dtype).name))
        return None
    static = _static_shape(shape, initializer)
    if static is None:
        if selected(name, [None, None], dtype):
            raise ConfigError('custom_getter: %s has no static shape; a posterior needs one '
                              '(pass shape= to tf.get_variable)' % name)
        return None
    if not selected(name, static, dtype):
        return None
    if partitioned:
        raise ConfigError('custom_getter: %s is partitioned (partitioner=); a posterior of '
                          'a partitioned variable is not supported: build it without one, '
                          'or leave it out with include=' % name)
    return static, dtype


def _constant_dtype(initializer):
    """The dtype of the variable a constant `initializer` makes (numpy's own,
    a Tensor's, or TensorFlow's for Python numbers: float32, int32); None
    for an initializer function."""
    if initializer is None or callable(initializer):
        return None
    if isinstance(initializer, (tf.Tensor, np.ndarray, np.generic)):
        return tf.as_dtype(initializer.dtype)
    kind = np.asarray(initializer).dtype.kind
    return {'f': tf.float32, 'i': tf.int32, 'u': tf.int32, 'b': tf.bool}.get(kind)


def _variable(name, returned):
    """The variable called `name`: what the getter chain returned, unless an
    enclosing custom getter returned a tensor made from it."""
    for key in (tf.GraphKeys.GLOBAL_VARIABLES, tf.GraphKeys.TRAINABLE_VARIABLES,
                tf.GraphKeys.LOCAL_VARIABLES):
        for v in tf.get_collection(key):
            if v.op.name == name:
                return v
    return returned


def _creating(name, prior):
    """Whether this build creates the posterior of the variable `name`; a
    reuse must ask for the prior it was made with (or the default)."""
    if not any(v.op.name == name for v in tf.get_collection(GraphKeys.GETTER_POSTERIORS)):
        return True
    kl_record.check_same_prior(name, prior, "bayesian_scope/custom_getter (variable '%s')"
                               % name, 'the posterior')
    return False


def _kl(prior, name, loc, rho, scale, draw, centre):
    """The KL of variable `name`'s posterior (loc, rho, its scale, a draw of
    it), against `prior` shifted by `centre` (0.0 or a `Tensor`), in at
    least float32 (see `_at_least_float32`)."""
    kl_loc, kl_rho = _at_least_float32(name, loc), _at_least_float32(name + '_rho', rho)
    if kl_rho is not rho:
        scale = scale_from_rho(kl_rho, name='kl_scale')
    if isinstance(centre, (tf.Tensor, tf.Variable)):
        centre = _at_least_float32(name + '_prior_mean', centre)
    samples = None
    if getattr(prior, 'requires_samples', False):
        if draw.dtype.base_dtype != kl_loc.dtype.base_dtype:
            draw = tf.cast(draw, kl_loc.dtype.base_dtype)
        samples = draw[None] - centre
    return tf.identity(layer_kl(prior, kl_loc - centre, scale, kl_rho, samples), name='kl')


def _at_least_float32(name, value):
    """What the KL of variable `name` is computed from: `value`, what the
    getter chain returned, if it has 32 bits or more. A float16 or bfloat16
    one (an enclosing mixed-precision getter's cast of a variable it stores
    in float32, or a float16 variable) would overflow: the KL of a 784 x 400
    kernel is ~1e6, float16's largest number 65504. Then the variable itself
    if `value` only casts or reads it and it has 32 bits or more (the KL and
    its gradient are exact), else `value` cast to float32."""
    if value.dtype.base_dtype.size >= 4:
        return value
    source = value
    for _ in range(4):  # Cast <- Identity (a ref variable's read) or ReadVariableOp <- variable
        if source.op.type not in ('Cast', 'Identity', 'ReadVariableOp'):
            break
        source = source.op.inputs[0]
    variable = _variable(name, value)
    if (source.op.name == name and source.op.type in ('VariableV2', 'VarHandleOp')
            and variable is not value and variable.dtype.base_dtype.size >= 4):
        return tf.convert_to_tensor(variable)
    return tf.cast(value, tf.float32)


def _outer_graph():
    """The graph draws are made in (`tf.init_scope`: outside control flow and
    function graphs)."""
    with tf.init_scope():
        return tf.get_default_graph()


def _check(prior, sample, posterior_init_scale, kl_collection):
    """The keywords, checked and normalised as the layers' are."""
    _, prior, sample, _, scale, kl_collection = check_common(
        'custom_getter', 'reparameterization', prior, sample, None,
        0.01 if posterior_init_scale is None else posterior_init_scale, kl_collection)
    return prior, sample, scale, kl_collection


def custom_getter(prior=None, sample=True, include=None, posterior_init_scale=None,
                  kl_collection=None, centred_prior=False, share_draws=False):
    """A custom getter that turns selected `tf.get_variable` weights into posteriors.

    Use it as `tf.variable_scope(name, custom_getter=tfbnn.custom_getter())`.

    Args:
      prior: a `tfbnn.priors` prior (default `tfbnn.priors.normal(1.0)`).
      sample: Python bool or scalar bool `Tensor`: a reparameterised draw
        (True) or the posterior mean (False, deterministic), chosen at run
        time for a tensor.
      include: which variables become Bayesian: None (`default_include`:
        floating, rank >= 2), a regular expression searched in the full
        variable name, or a callable `(name, shape, dtype) -> bool`.
        Non-trainable variables never are; a non-floating one that `include`
        selects is an error.
      posterior_init_scale: initial sigma (default 0.01), or (low, high)
        (see `tfbnn.layers.dense`).
      kl_collection: where the KLs go (default `tfbnn.GraphKeys.KL_LOSSES`).
      centred_prior: Python bool. True gives each posterior a non-trainable
        `<name>_prior_mean` (zeros unless set, e.g. to a trained model's
        weights by `tfbnn.moped.init_from_checkpoint(..., centre_prior=True)`)
        and the prior is shifted by it: p(w - m). The KL of a shifted prior is
        the prior's KL of the shifted posterior, KL(q(w) || p(w - m)) =
        KL(q(w + m) || p(w)), so it holds for any prior tfbnn has.
      share_draws: Python bool. False (default): every request of a weight
        is a fresh draw (K builds under `reuse=True` are a K-sample
        predictive). True: every request of a weight through this getter
        returns the value of the first, one draw per weight per getter, for
        models that use a weight twice in one pass (weight tying); build
        each further pass in a `bayesian_scope` (or getter) of its own.

    Returns:
      A callable with the custom-getter signature. Its attributes:
      `converted`, the names of the variables it made Bayesian so far;
      `drawn`, the name of each tensor it returned -> its variable's name;
      `kl_collection`, where its KLs go.

    Raises:
      ConfigError: an invalid argument, naming it and what is allowed; a
        selected variable with no static shape (neither `shape=` nor a
        constant initializer gives one), of a non-floating dtype, or
        partitioned.
    """
    prior, sample, scale, kl_collection = _check(prior, sample, posterior_init_scale,
                                                 kl_collection)
    if not isinstance(share_draws, bool):
        raise ConfigError('custom_getter: share_draws must be True or False, got %r'
                          % (share_draws,))
    if not isinstance(centred_prior, bool):
        raise ConfigError('custom_getter: centred_prior must be True or False, got %r'
                          % (centred_prior,))
    selected = _include_fn(include)
    converted = []
    drawn = {}  # the name of each value returned -> its variable's name
    shared = {}  # with share_draws: variable name -> the value returned first

    def getter(getter, name, shape=None, dtype=tf.float32, initializer=None, trainable=True,
               regularizer=None, *args, **kwargs):
        require_graph_mode("tfbnn.custom_getter (variable '%s')" % name)
        # A non-trainable or non-float variable, one `include` leaves out, or
        # one tfbnn makes for a posterior (a tfbnn.layers layer's, or an inner
        # bayesian_scope's) is created exactly as without this getter.
        plain = dict(shape=shape, dtype=dtype, initializer=initializer, trainable=trainable,
                     regularizer=regularizer)
        spec = None if not trainable or is_making_posterior() else _posterior_spec(
            name, shape, dtype, initializer, selected, include is not None,
            kwargs.get('partitioner') is not None)
        if spec is None:
            return getter(name, *args, **dict(kwargs, **plain))
        shape, dtype = spec
        creating = _creating(name, prior)
        with making_posterior():
            loc = getter(name, *args, **dict(kwargs, **plain))
            # The user's regulariser (an L2 on the kernel) and constraint apply
            # to the mean only: the KL is the posterior's regulariser.
            rho = mark_rho(getter(name + '_rho', *args, **dict(
                kwargs, shape=shape, dtype=dtype, trainable=True, regularizer=None,
                constraint=None, initializer=rho_initializer(scale))))
        first = shared.get(name)
        if first is not None and not creating and first.graph is _outer_graph():
            return first
        dtype_ = loc.dtype.base_dtype
        # Outside any while loop or function graph (one draw for every time
        # step); named by the variable, whatever an enclosing getter returned.
        with tf.init_scope(), tf.name_scope(name + '_draw/'):
            post_scale = scale_from_rho(rho, name='scale')
            draw = tf.add(loc, post_scale * standard_normal(shape, dtype_), name='sample')
            if sample is True:
                value = draw
            elif sample is False:
                value = tf.identity(loc, name='mean')
            else:
                value = tf.where_v2(sample, draw, tf.broadcast_to(loc, shape), name='value')
            if creating:
                centre = 0.0
                if centred_prior:
                    with tf.name_scope(None), making_posterior():
                        centre = getter(name + '_prior_mean', *args, **dict(
                            kwargs, shape=shape, dtype=dtype, trainable=False,
                            regularizer=None, constraint=None,
                            initializer=tf.zeros_initializer()))
                kl = _kl(prior, name, loc, rho, post_scale, draw, centre)
        if sample is not False:
            drawn[value.name] = name
        if creating:
            with tf.init_scope(), tf.name_scope(None):
                kl = tf.identity(kl, name=name + '/kl_divergence')
                tf.add_to_collection(kl_collection, kl)  # the graph's, not a tf.function's
                tf.add_to_collection(GraphKeys.GETTER_POSTERIORS, _variable(name, loc))
                kl_record.record(name, prior)
            converted.append(name)
        if share_draws:
            shared[name] = value
        return value

    getter.converted = converted
    getter.drawn = drawn
    getter.kl_collection = kl_collection
    return getter


@contextlib.contextmanager
def bayesian_scope(name_or_scope, prior=None, sample=True, include=None,
                   posterior_init_scale=None, kl_collection=None, reuse=None,
                   centred_prior=False, share_draws=False):
    """`tf.variable_scope(name_or_scope, reuse=reuse)` with `custom_getter`:
    with `share_draws=True`, one draw of each weight for the whole block.

    Warns (UserWarning, naming the scope) when a build that created
    variables made none of them Bayesian: an `include` that matches nothing.

    Yields:
      The `tf.VariableScope`.
    """
    require_graph_mode('tfbnn.bayesian_scope')
    getter = custom_getter(prior, sample, include, posterior_init_scale, kl_collection,
                           centred_prior, share_draws)
    before = len(tf.global_variables())
    kls_before = len(tf.get_collection(getter.kl_collection))
    losses_before = len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
    with tf.variable_scope(name_or_scope, reuse=reuse, custom_getter=getter) as scope:
        yield scope
    # A KL added by another maker of posteriors inside the scope (a nested
    # bayesian_scope, a tfbnn.layers layer) counts too.
    if (len(tf.global_variables()) > before and not getter.converted
            and len(tf.get_collection(getter.kl_collection)) == kls_before):
        warnings.warn("bayesian_scope '%s': include=%r matched none of the %d variables created "
                      "here; nothing is Bayesian" % (scope.name, include,
                                                     len(tf.global_variables()) - before))
    added = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)[losses_before:]
    on_draws = sorted(set(filter(None, (_drawn_input(loss, getter.drawn) for loss in added))))
    if on_draws:
        warnings.warn("bayesian_scope '%s': a regulariser was applied to the posterior draw of "
                      "%s (tf.layers' kernel_regularizer= does that), not to its mean: its "
                      "value changes with every draw and it is added again at every reuse. "
                      "Pass regularizer= to tf.get_variable (it applies to the mean, once), "
                      "or leave the prior's KL to regularise" % (scope.name, ', '.join(on_draws)))


def _drawn_input(tensor, drawn, depth=20):
    """The variable name of a value in `drawn` (by tensor name) that `tensor`
    is computed from, looking at most `depth` operations back; None if none."""
    frontier, seen = [tensor], set()
    for _ in range(depth):
        step = []
        for t in frontier:
            if t.name in drawn:
                return drawn[t.name]
            if t.op not in seen:
                seen.add(t.op)
                step.extend(t.op.inputs)
        frontier = step
    return None
