"""The layers' shared keywords as one immutable object (tfbnn/layers/_options.py)."""
import dataclasses
import inspect
import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import layers
from tfbnn.internal import weight_options
from tfbnn.layers import _bayesian, _options

# kind -> (builder, input shape without a sample axis, its own positional arguments)
BUILDERS = {
    'dense': (layers.dense, [3, 4], (2,)),
    'conv1d': (layers.conv1d, [1, 5, 2], (2, 3)),
    'conv2d': (layers.conv2d, [1, 5, 5, 2], (2, 3)),
    'conv3d': (layers.conv3d, [1, 5, 5, 5, 2], (2, 3)),
    'conv2d_transpose': (layers.conv2d_transpose, [1, 5, 5, 2], (2, 3)),
    'conv3d_transpose': (layers.conv3d_transpose, [1, 5, 5, 5, 2], (2, 3)),
}
# Keywords a builder checks itself: its inputs and its geometry.
OWN_KEYWORDS = {'inputs', 'units', 'filters', 'kernel_size', 'strides', 'padding',
                'dilation_rate', 'data_format'}
FIELDS = [f.name for f in dataclasses.fields(_options.LayerOptions)]


def options(kind='dense', **overrides):
    """Checked options with every builder default, as `tfbnn.layers.dense` has them."""
    defaults = {name: p.default for name, p in
                inspect.signature(layers.dense).parameters.items() if name not in OWN_KEYWORDS}
    return _options.layer_options(kind, **dict(defaults, **overrides))


def test_options_are_immutable():
    opts = options(estimator='flipout')
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.estimator = 'reparameterization'
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.seed = 1  # no new fields either
    changed = dataclasses.replace(opts, estimator='local_reparameterization')
    assert opts.estimator == 'flipout' and changed.estimator == 'local_reparameterization'


def test_options_cannot_be_unpacked_by_position():
    """The point of the object: nothing depends on the order of its fields."""
    with pytest.raises(TypeError):
        tuple(options())


@pytest.mark.parametrize('kind', sorted(BUILDERS))
def test_options_carry_exactly_the_shared_keywords_of_every_builder(kind):
    """A keyword added to a builder without a field (or the reverse) fails here."""
    builder = BUILDERS[kind][0]
    keywords = set(inspect.signature(builder).parameters) - OWN_KEYWORDS
    assert keywords == set(FIELDS) - {'kind'}


def test_a_missing_or_unknown_keyword_is_a_type_error():
    """A builder that forgets to pass a field on fails at once, not silently."""
    keywords = {f: None for f in FIELDS if f not in ('kind', 'trainable')}
    with pytest.raises(TypeError):
        _options.layer_options('dense', **keywords)
    with pytest.raises(TypeError):
        options(seed=1)


def _non_default_keywords():
    """A value differing from the default for every field but `kind`."""
    return dict(
        activation=tf.nn.relu, use_bias=False, estimator='flipout',
        prior=tfbnn.priors.scale_mixture(0.5, 1.0, 0.01), sample=False, kl_collection='my_kls',
        num_samples=2, shared_inputs=True, bayesian_bias=False,
        kernel_loc_initializer=tf.ones_initializer(),
        bias_loc_initializer=tf.constant_initializer(0.3), posterior_init_scale=(0.02, 0.05),
        trainable=False, name='layer', reuse=tf.AUTO_REUSE)


@pytest.mark.parametrize('kind', sorted(BUILDERS))
def test_every_keyword_reaches_build_layer(monkeypatch, kind):
    builder, shape, own = BUILDERS[kind]
    keywords = _non_default_keywords()
    assert set(keywords) == set(FIELDS) - {'kind'}  # a new field needs a value here
    seen = []

    def spy(inputs, kernel_shape, linear, sign_shape, opts):
        seen.append((kernel_shape, opts))
        return inputs

    monkeypatch.setattr(_bayesian, 'build_layer', spy)
    builder(tf.zeros(shape), *own, **keywords)
    (kernel_shape, got), = seen
    assert isinstance(got, _options.LayerOptions) and got.kind == kind
    for name, value in keywords.items():
        assert getattr(got, name) == value, name
    assert kernel_shape[-2:] == [shape[-1], 2]
    assert got.label == "%s 'layer'" % kind and got.default_name == 'bayesian_' + kind


def test_defaults_are_resolved_and_values_normalised():
    opts = options(num_samples=np.int64(3), sample=np.bool_(True), shared_inputs=np.bool_(True),
                   posterior_init_scale=[0.01, 0.02])
    assert hasattr(opts.prior, 'kl_divergence')
    assert opts.kl_collection == tfbnn.GraphKeys.KL_LOSSES
    assert type(opts.num_samples) is int and opts.num_samples == 3
    assert opts.sample is True and opts.shared_inputs is True
    assert opts.posterior_init_scale == (0.01, 0.02)
    assert options(name=None).label == "dense 'bayesian_dense'"


def test_check_common_gives_the_getter_what_the_options_hold():
    opts = options(num_samples=np.int64(3), posterior_init_scale=[0.01, 0.02])
    checked = weight_options.check_common('custom_getter', 'reparameterization', opts.prior, True,
                                             np.int64(3), [0.01, 0.02], None)
    assert checked == ('reparameterization', opts.prior, True, 3, (0.01, 0.02),
                       tfbnn.GraphKeys.KL_LOSSES)


# keyword -> (bad value, the message after "<kind> '<name>': ")
class _DistributionLike(object):
    """A prior as TensorFlow Probability's distributions are: its KL takes
    another distribution."""

    def kl_divergence(self, other, name='kl_divergence'):
        raise AssertionError('never called')

    def __repr__(self):
        return 'a distribution'


BAD_KEYWORDS = [
    (dict(estimator='flip'),
     "estimator must be one of ('reparameterization', 'flipout', 'local_reparameterization'), "
     "got 'flip'"),
    (dict(prior=1.0), 'prior must be an object with a kl_divergence(loc, scale, samples) '
                      'method, such as tfbnn.priors.normal() or scale_mixture(); got 1.0'),
    (dict(prior=tfbnn.priors.NormalPrior),
     "prior must be an object with a kl_divergence(loc, scale, samples) method, such as "
     "tfbnn.priors.normal() or scale_mixture(); got <class 'tfbnn.priors.NormalPrior'> (a "
     "class: call it to make the prior)"),
    (dict(prior=_DistributionLike()),
     'prior must be an object with a kl_divergence(loc, scale, samples) method, such as '
     'tfbnn.priors.normal() or scale_mixture(); got a distribution'),
    (dict(sample='yes'), "sample must be a Python bool or a scalar bool Tensor, got 'yes'"),
    (dict(num_samples=0), 'num_samples must be a positive integer, got 0'),
    (dict(posterior_init_scale=0.0),
     'posterior_init_scale must be a finite number above 1e-06 or a pair (low, high) of them '
     'with low <= high, got 0.0'),
    (dict(kl_collection=''), "kl_collection must be a non-empty string, got ''"),
    (dict(shared_inputs=1), 'shared_inputs must be a Python bool, got 1'),
    (dict(shared_inputs=True),
     'shared_inputs=True needs num_samples (the K slices that share the inputs)'),
    (dict(activation='relu'), "activation must be callable or None, got 'relu'"),
    (dict(kernel_loc_initializer=0.0),
     'kernel_loc_initializer must be an initializer (e.g. tf.zeros_initializer() or '
     'tf.random_uniform_initializer(-0.03, 0.03)) or None, got 0.0'),
    (dict(bias_loc_initializer='zeros'),
     "bias_loc_initializer must be an initializer (e.g. tf.zeros_initializer() or "
     "tf.random_uniform_initializer(-0.03, 0.03)) or None, got 'zeros'"),
    (dict(use_bias='no'), "use_bias must be a Python bool, got 'no'"),
    (dict(bayesian_bias=0), 'bayesian_bias must be a Python bool, got 0'),
    (dict(trainable='no'), "trainable must be a Python bool, got 'no'"),
    (dict(reuse='yes'), "reuse must be None, True, False or tf.AUTO_REUSE, got 'yes'"),
]


@pytest.mark.parametrize('kind', sorted(BUILDERS))
def test_a_name_that_is_not_a_string_is_one_line(kind):
    builder, shape, own = BUILDERS[kind]
    with pytest.raises(tfbnn.errors.ConfigError, match="name must be a string or None, got 3$"):
        builder(tf.zeros(shape), *own, name=3)


@pytest.mark.parametrize('kind', sorted(BUILDERS))
@pytest.mark.parametrize('name', ['c', None])
@pytest.mark.parametrize('bad,message', BAD_KEYWORDS)
def test_invalid_keywords_raise_the_same_message_from_every_builder(kind, name, bad, message):
    builder, shape, own = BUILDERS[kind]
    label = "%s '%s'" % (kind, name or 'bayesian_' + kind)
    with pytest.raises(tfbnn.errors.ConfigError, match='^%s$' % re.escape(label + ': ' + message)):
        builder(tf.zeros(shape), *own, name=name, **bad)
    assert not tf.global_variables()  # checked before any variable is made


@pytest.mark.parametrize('kind', sorted(BUILDERS))
def test_own_keywords_are_checked_first_then_shared_ones_then_the_inputs(kind):
    builder, shape, own = BUILDERS[kind]
    with pytest.raises(ValueError, match='must be a positive integer, got 0'):
        builder(tf.zeros(shape), 0, *own[1:], estimator='flip', name='c')
    with pytest.raises(ValueError, match='estimator must be one of'):
        builder(tf.zeros(shape[:-1]), *own, estimator='flip', prior=1.0, name='c')
    with pytest.raises(ValueError, match='inputs must have rank'):
        builder(tf.zeros(shape[:-1]), *own, name='c')
