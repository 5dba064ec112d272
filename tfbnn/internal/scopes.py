"""What a `scope=` argument selects: a variable scope, matched at a '/' boundary.

Every tfbnn function with a `scope=` argument (`tfbnn.losses`, `diagnostics`,
`pruning`, `moped`, the training job's warm start) selects names through
`scope_pattern`, so they all agree on what is in a scope.

`tf.get_collection(key, scope)` matches `scope` as a bare prefix
(`re.match`): 'net' also takes the second model's 'net_1/...', whose KL would
then be counted in the first's ELBO, and whose weights pruned or initialised
with the first's. Here a scope ends at a '/': 'net' selects the name 'net'
itself and every name under 'net/', never 'net_1/...'. A scope that already
ends in '/' is used as it is, and any other scope keeps its meaning as a
regular expression ('tower_[01]' selects 'tower_0/...' and 'tower_1/...').

The names matched are those of variables and of the KL tensors, that is
variable scopes: a `tf.name_scope` (a tower's) does not rename variables made
with `tf.get_variable`, so it is not a scope here.
"""
import re

from tfbnn.errors import ConfigError

__all__ = ['scope_pattern', 'in_scope', 'relative_name', 'NOT_A_NAME_SCOPE']

# Said beside a scope= that matched nothing.
NOT_A_NAME_SCOPE = (" (scope= is a variable scope, matched at a '/'; a tf.name_scope, a "
                    "tower's, renames neither the variables nor their KL)")


def scope_pattern(scope):
    """The regular expression for `tf.get_collection` that selects `scope`.

    Args:
      scope: None, or a str: a variable scope or a regular expression.

    Returns:
      None for None or '' (everything, as `tf.get_collection` takes it);
      `scope` itself when it ends in '/'; otherwise `scope` followed by a
      '/', the ':' of a tensor's name, or the end of the name.

    Raises:
      ConfigError: `scope` is neither None nor a str.
    """
    if scope is not None and not isinstance(scope, str):
        raise ConfigError('scope must be a variable scope name (a str) or None, got %r'
                          % (scope,))
    if not scope:
        return None
    if scope.endswith('/'):
        return scope
    return '(?:%s)(?=/|:|$)' % scope


def in_scope(name, scope):
    """Whether the variable, op or tensor name `name` is in `scope` (see
    `scope_pattern`); every name is in a scope of None."""
    pattern = scope_pattern(scope)
    return pattern is None or re.match(pattern, name) is not None


def relative_name(name, scope):
    """`name` without the part `scope` matched and the '/' after it
    ('net/fc1' in 'net' -> 'fc1'); `name` itself for a scope of None, or
    when `scope` does not match it."""
    pattern = scope_pattern(scope)
    found = re.match(pattern, name) if pattern is not None else None
    return name[found.end():].lstrip('/') if found else name
