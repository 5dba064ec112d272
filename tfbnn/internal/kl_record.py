"""Internal: which posteriors have their KL in the graph, and the prior it was made with.

A `tfbnn.layers` layer adds its KL once, on the call that creates it, and a
`tfbnn.custom_getter` posterior once, on the build that creates its variable;
later calls reuse it. "Creates" cannot be read off a layer's variables: a
first call that failed after making them (a kernel larger than its input)
left the layer without a KL, and the retry must make it. So each KL made is
recorded in a graph collection of strings, the layer's scope (or the
variable's name) and its prior's repr, which a saved MetaGraph keeps; a
reuse asking for another prior is refused.
"""
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.priors import normal

__all__ = ['record', 'kl_made', 'check_same_prior']

_KL_MADE_WITH = 'tfbnn_layer_kl_made_with'
_SEP = '\x00'


def _prior_text(prior):
    """The prior's repr, or '' for one without a repr of its own (a user's
    class), whose default repr names its address, not its parameters."""
    return repr(prior) if type(prior).__repr__ is not object.__repr__ else ''


def record(scope, prior):
    """Records that the layer `scope` made its KL with `prior` (in the graph,
    also from inside a function)."""
    with tf.init_scope():
        tf.add_to_collection(_KL_MADE_WITH, _SEP.join((scope, _prior_text(prior))))


def _made_with(scope):
    """The priors' texts recorded for the layer `scope` (bytes after a MetaGraph
    was imported)."""
    with tf.init_scope():
        made = [tf.compat.as_text(r).split(_SEP) for r in tf.get_collection(_KL_MADE_WITH)]
    return [prior for name, prior in made if name == scope]


def kl_made(scope):
    """Whether the layer `scope` has its KL: recorded, or (a graph saved by a
    tfbnn that kept no record) its KL op exists."""
    if _made_with(scope):
        return True
    with tf.init_scope():
        try:
            tf.get_default_graph().get_operation_by_name(scope + '/kl_divergence')
        except KeyError:
            return False
    return True


def check_same_prior(scope, prior, label, what='the layer'):
    """Refuses a reuse that asks for another prior than the call that made
    the layer (or posterior) `scope`: the KL is made once, by that call. (The
    default prior means "as made". A reuse adds no KL, so its kl_collection
    is not compared: the export's sampling loop gives its own.)

    Args:
      scope: the name the KL was recorded under (`record`).
      prior: the reusing call's prior.
      label: how the error names the caller, e.g. "dense layer 'net/d1'".
      what: what is reused, as the error names it.

    Raises:
      ConfigError: `prior` is neither the default nor the recorded one.
    """
    made = _made_with(scope)
    mine = _prior_text(prior)
    if made and made[0] and mine and mine not in (made[0], repr(normal())):
        raise ConfigError('%s: this call reuses %s with prior=%s, but its KL was made, '
                          'once, by the call that created it, with prior=%s: give the prior to '
                          'that call' % (label, what, mine, made[0]))
