"""What differs between the two stacks: TF 1.15 and TF 2.x through tf.compat.v1.

tfbnn builds graphs. On TF 2.x that works in two ways: after
`tf.compat.v1.disable_v2_behavior()` (graph mode everywhere, as on TF 1.15),
or without it inside `with tf.Graph().as_default():`. What cannot work is
building in eager mode, TF 2.x's default outside such a block; the builders
call `require_graph_mode` so that case ends in one clear line.
"""
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError

__all__ = ['TF2', 'STACK_VENVS', 'require_graph_mode', 'script_setup', 'stack_name',
           'strip_default_attrs', 'nested_graph']

TF2 = int(tf.__version__.split('.')[0]) >= 2
# Each stack's virtual environment in the repository, as scripts/run.sh builds it.
STACK_VENVS = {'tf1': '.venv', 'tf2': '.venv-tf2'}


def stack_name():
    """'tf1' or 'tf2', the stack this interpreter runs."""
    return 'tf2' if TF2 else 'tf1'


def require_graph_mode(what):
    """Raises ConfigError when TensorFlow is executing eagerly.

    Args:
      what: the caller's name for the message, e.g. "tfbnn.layers.dense 'fc1'".

    Raises:
      ConfigError: in eager mode, saying how to get graph mode.
    """
    # A tf.function traced from eager code builds a function graph, but its
    # variables and draws would be made eagerly (tf.init_scope): refused too.
    outside = getattr(tf, 'executing_eagerly_outside_functions', tf.executing_eagerly)
    if tf.executing_eagerly() or outside():
        raise ConfigError(
            '%s builds a graph but TensorFlow %s is executing eagerly%s: call '
            'tf.compat.v1.disable_v2_behavior() (or disable_eager_execution()) at the start of '
            'the program, or build inside `with tf.Graph().as_default():`'
            % (what, tf.__version__, '' if tf.executing_eagerly() else
               ' (outside the tf.function being traced)'))


def nested_graph():
    """What the default graph is built inside, as words for a message, or
    None: a function graph (tf.function, and TF 2.x's tf.cond / tf.while_loop
    branches) or a TF 1.x control-flow context (tf.cond, tf.while_loop).
    Tensors made there cannot be fetched from the graph around them."""
    graph = tf.get_default_graph()
    if getattr(graph, 'outer_graph', None) is not None:
        return 'a tf.function, tf.cond or tf.while_loop (a function graph)'
    if graph._get_control_flow_context() is not None:  # pylint: disable=protected-access
        return 'tf.cond or tf.while_loop'
    return None


def script_setup():
    """For the command-line programs: graph mode as on TF 1.15, quiet logging.

    A no-op on TF 1.15 apart from the logging level; on TF 2.x it turns off
    eager execution, resource variables by default and v2 control flow, so the
    programs build the same graphs on both stacks.
    """
    tf.logging.set_verbosity(tf.logging.ERROR)
    if TF2:
        tf.disable_v2_behavior()


def _op_def(op_type):
    from tensorflow.python.framework import op_def_registry  # pylint: disable=g-import-not-at-top
    if hasattr(op_def_registry, 'get'):  # TF 2.x
        return op_def_registry.get(op_type)
    return op_def_registry.get_registered_ops().get(op_type)  # TF 1.15


def strip_default_attrs(graph_def):
    """Removes every node attribute that holds its op's default value, in place.

    TF 2.x writes attributes TF 1.15 does not know (MatMul's `grad_a` and
    `grad_b`, say) even at their defaults; a consumer on an older TensorFlow
    rejects such a node. Without them it fills the defaults itself, so the
    graph means the same to both. Returns `graph_def`.
    """
    for node in graph_def.node:
        op_def = _op_def(node.op)
        if op_def is None:
            continue
        for attr in op_def.attr:
            if attr.HasField('default_value') and attr.name in node.attr \
                    and node.attr[attr.name] == attr.default_value:
                del node.attr[attr.name]
    return graph_def
