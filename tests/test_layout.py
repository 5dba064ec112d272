"""The package stays easy to live in: no module over 400 lines, no function
over 80 (docstrings not counted), no package importing another's private module."""
import ast
import os
import sys

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tfbnn')
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _modules():
    for folder, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith('.py'):
                yield os.path.join(folder, name)


MODULES = sorted(_modules())


def _relative(path):
    return os.path.relpath(path, os.path.dirname(PACKAGE))


def _end_line(node):
    """The last line of `node` (end_lineno is new in Python 3.8)."""
    end = getattr(node, 'end_lineno', None)
    if end is not None:
        return end
    return max(getattr(n, 'lineno', node.lineno) for n in ast.walk(node))


def _function_lines(node):
    """Lines of a function from its `def` to its last line, without the docstring."""
    lines = _end_line(node) - node.lineno + 1
    first = node.body[0]
    value = first.value if isinstance(first, ast.Expr) else None
    # A string is an ast.Constant's value since Python 3.8, an ast.Str's s on
    # 3.7 (ast.Str and .s warn from 3.12).
    text = value.s if sys.version_info < (3, 8) and hasattr(value, 's') else getattr(
        value, 'value', None)
    if isinstance(text, str):
        end = getattr(first, 'end_lineno', None)
        # Python 3.7 has no end_lineno (and puts a string's lineno at its end).
        lines -= end - first.lineno + 1 if end else text.count('\n') + 1
    return lines


def test_the_package_has_modules_to_check():
    assert len(MODULES) > 50 and any(p.endswith('losses.py') for p in MODULES)


@pytest.mark.parametrize('path', MODULES, ids=_relative)
def test_no_module_is_over_the_limit(path):
    with open(path) as f:
        lines = f.read().count('\n')
    assert lines <= MAX_MODULE_LINES, '%s has %d lines' % (_relative(path), lines)


@pytest.mark.parametrize('path', MODULES, ids=_relative)
def test_no_function_is_over_the_limit(path):
    with open(path) as f:
        tree = ast.parse(f.read())
    long = ['%s (%d lines)' % (n.name, _function_lines(n)) for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and _function_lines(n) > MAX_FUNCTION_LINES]
    assert not long, '%s: %s' % (_relative(path), ', '.join(long))


def test_the_function_length_counts_code_not_docstrings():
    tree = ast.parse('def f():\n    """One\n\n    two.\n    """\n    a = 1\n    return a\n')
    assert _function_lines(tree.body[0]) == 3


def _is_private(name):
    return name.startswith('_') and not name.startswith('__')


def _private_imports(tree):
    """(owner package, private name) for each import of a private module or name.

    `from tfbnn.layers._bayesian import x` and `from tfbnn.layers import
    _bayesian` both import the private `_bayesian` of `tfbnn.layers`.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or '').split('.')[0] == 'tfbnn':
            parts = node.module.split('.') + [a.name for a in node.names]
            for depth in range(1, len(parts)):
                if _is_private(parts[depth]):
                    yield '.'.join(parts[:depth]), parts[depth]
                    break


@pytest.mark.parametrize('path', MODULES, ids=_relative)
def test_no_package_imports_another_packages_private_module(path):
    importer = '.'.join(['tfbnn'] + [p for p in os.path.relpath(os.path.dirname(path),
                                                                  PACKAGE).split(os.sep)
                                     if p != '.'])
    with open(path) as f:
        tree = ast.parse(f.read())
    for owner, name in _private_imports(tree):
        assert importer == owner or importer.startswith(owner + '.'), (
            '%s imports %s, private to %s' % (_relative(path), name, owner))


def test_a_private_import_across_packages_is_found():
    tree = ast.parse('from tfbnn.layers._bayesian import x\nfrom tfbnn.layers import _options\n'
                     'from tfbnn import __version__\nfrom tfbnn.internal import compat\n')
    assert list(_private_imports(tree)) == [('tfbnn.layers', '_bayesian'),
                                            ('tfbnn.layers', '_options')]


# The layers of the package, lowest first: a module may import from its own
# layer and those below, never from above (docs/architecture.md draws them).
LAYERS = [
    ('errors', 'graph_keys', 'version', 'progress', 'priors', 'data', 'metrics'),
    ('internal',),
    ('layers', 'rnn_cells', 'getter', 'losses', 'replica_losses', 'diagnostics', 'moped', 'plots',
     'export_formats', 'rho_step', 'outliers', 'schedules'),
    ('recurrent', 'pruning'),
    ('models',),
    ('predictive', 'serving', 'run_setup', '_run_checks', '_resume_checks'),
    ('run_config',),
    ('training',),
    ('export', 'export_pruning'),
    ('reproduce', 'kl_study'),
    ('cli',),
]
LEVEL = {unit: level for level, units in enumerate(LAYERS) for unit in units}


def _unit(path):
    """The first component below tfbnn/: a subpackage or a top-level module."""
    return os.path.relpath(path, PACKAGE).split(os.sep)[0].replace('.py', '')


def _imported_units(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or '').split('.')[0] == 'tfbnn':
            parts = node.module.split('.')
            for name in (parts[1:2] or [a.name for a in node.names]):
                yield name
        elif isinstance(node, ast.Import):  # import tfbnn.x[.y]
            for alias in node.names:
                parts = alias.name.split('.')
                if parts[0] == 'tfbnn' and len(parts) > 1:
                    yield parts[1]


def test_every_unit_has_a_layer():
    units = {_unit(p) for p in MODULES} - {'__init__'}
    assert units == set(LEVEL), 'not in LAYERS: %s; gone: %s' % (
        sorted(units - set(LEVEL)), sorted(set(LEVEL) - units))


@pytest.mark.parametrize('path', [p for p in MODULES if _unit(p) != '__init__'], ids=_relative)
def test_imports_go_down_the_layers(path):
    own = _unit(path)
    with open(path) as f:
        tree = ast.parse(f.read())
    above = sorted({u for u in _imported_units(tree)
                    if u in LEVEL and LEVEL[u] > LEVEL[own]})
    assert not above, '%s (layer %d) imports from above: %s' % (
        _relative(path), LEVEL[own], ', '.join('%s (%d)' % (u, LEVEL[u]) for u in above))


def test_the_imported_units_are_read_from_both_import_forms():
    tree = ast.parse('from tfbnn.training import loop\nfrom tfbnn import models, errors\n'
                     'import tfbnn.export\nimport tfbnn\n'
                     'def f():\n    from tfbnn.cli.train import main\n')
    assert sorted(_imported_units(tree)) == ['cli', 'errors', 'export', 'models', 'training']
    assert LEVEL['cli'] > LEVEL['training'] > LEVEL['models'] > LEVEL['errors']
