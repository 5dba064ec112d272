"""tfbnn.internal.scopes: a `scope=` selects a variable scope, matched at a '/'."""
import re

import pytest

from tfbnn.errors import ConfigError
from tfbnn.internal.scopes import in_scope, relative_name, scope_pattern

NAMES = ['net', 'net/fc1/kernel', 'net/fc1/kl_divergence:0', 'net_1/fc1/kernel', 'network/w',
         'tower_0/w', 'tower_1/w', 'tower_2/w']


@pytest.mark.parametrize('scope,selected', [
    (None, NAMES),
    ('', NAMES),
    ('net', ['net', 'net/fc1/kernel', 'net/fc1/kl_divergence:0']),
    ('net/', ['net/fc1/kernel', 'net/fc1/kl_divergence:0']),
    ('net_1', ['net_1/fc1/kernel']),
    ('net/fc', []),  # 'net/fc1' is another scope
    ('net/fc1', ['net/fc1/kernel', 'net/fc1/kl_divergence:0']),
    ('tower_[01]', ['tower_0/w', 'tower_1/w']),  # a regular expression still
    ('net.*', ['net', 'net/fc1/kernel', 'net/fc1/kl_divergence:0', 'net_1/fc1/kernel',
               'network/w']),
    ('net|network', ['net', 'net/fc1/kernel', 'net/fc1/kl_divergence:0', 'network/w']),
])
def test_a_scope_ends_at_a_slash_and_is_a_regular_expression_otherwise(scope, selected):
    assert [n for n in NAMES if in_scope(n, scope)] == selected


def test_the_pattern_of_no_scope_is_none_as_tf_get_collection_takes_it():
    assert scope_pattern(None) is None and scope_pattern('') is None
    assert scope_pattern('net/') == 'net/'


@pytest.mark.parametrize('scope', [1, ['net'], b'net'])
def test_a_scope_that_is_no_str_is_refused_in_one_line(scope):
    with pytest.raises(ConfigError, match=r'^scope must be a variable scope name \(a str\) or '
                                          r'None, got %s$' % re.escape(repr(scope))):
        scope_pattern(scope)


@pytest.mark.parametrize('name,scope,relative', [
    ('net/fc1', 'net', 'fc1'), ('net/fc1', 'net/', 'fc1'), ('net/fc1', None, 'net/fc1'),
    ('net', 'net', ''), ('tower_1/fc', 'tower_[01]', 'fc'), ('net_1/fc1', 'net', 'net_1/fc1'),
])
def test_a_name_relative_to_its_scope(name, scope, relative):
    assert relative_name(name, scope) == relative
