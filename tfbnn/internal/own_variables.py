"""Marks the variables tfbnn makes for a posterior, so that a custom getter
of tfbnn passes them through; and the variables to search for posteriors
(`graph_variables`).

A `tfbnn.layers` layer built inside `tfbnn.bayesian_scope` creates its
`kernel_loc` and `kernel_rho` with `tf.get_variable`, which calls the
scope's getter; so does a getter whose scope is nested in another
`bayesian_scope`, for the mean, rho and prior mean it makes. Without a mark
the getter would take these for the user's weights and give each a
posterior of its own: a KL of rho as if rho were a weight, or a name
clash (`w_rho` made twice). The mark is kept in a graph collection while the
variables are made, and the collection is removed afterwards, so nothing of
it is saved with the graph.
"""
import contextlib

import tensorflow.compat.v1 as tf

__all__ = ['making_posterior', 'is_making_posterior', 'graph_variables']

_KEY = 'tfbnn_making_posterior'


@contextlib.contextmanager
def making_posterior():
    """Within it, `tf.get_variable` makes a posterior's own variable."""
    graph = tf.get_default_graph()
    marks = graph.get_collection_ref(_KEY)
    marks.append(True)
    try:
        yield
    finally:
        marks.pop()
        if not marks:
            graph.clear_collection(_KEY)


def is_making_posterior():
    """True while tfbnn makes a posterior's own variable (`making_posterior`)."""
    return bool(tf.get_default_graph().get_collection(_KEY))


def graph_variables():
    """The default graph's global variables, then its local ones that are
    not global: a posterior made with a `collections=` that leaves out
    GLOBAL_VARIABLES (the getter passes it through) is still found by name
    by the diagnostics, pruning and MOPED."""
    found = tf.global_variables()
    seen = set(id(v) for v in found)
    return found + [v for v in tf.local_variables() if id(v) not in seen]
