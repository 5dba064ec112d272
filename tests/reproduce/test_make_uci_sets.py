"""benchmarks/make_uci_sets.py: the sets it writes load as UCI splits."""
import importlib.util
import os

import numpy as np
import pytest

from tfbnn.data.uci import in_sorted_order, load_uci
from tfbnn.reproduce import uci_sets

_SCRIPT = os.path.join(os.path.dirname(__file__), '..', '..', 'benchmarks', 'make_uci_sets.py')


@pytest.fixture(scope='module')
def make_sets():
    spec = importlib.util.spec_from_file_location('make_uci_sets', _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table(rows=57, inputs=3, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(rows, inputs) * [1.0, 100.0, 0.01]
    return x, x[:, 0] + 0.5 * x[:, 1] / 100.0 + 0.1 * rng.randn(rows)


def _lines(path):
    with open(path) as f:
        return [int(line) for line in f]


def test_a_written_set_is_a_complete_set_of_random_90_10_splits(make_sets, tmp_path):
    x, y = _table()
    folder = str(tmp_path / 'toy')
    assert make_sets.write_set(folder, x, y, seed=3) == (57, 3)
    assert uci_sets.count_splits(folder) == 20
    assert uci_sets.hidden_units(folder) == 50
    assert uci_sets.check_splits(folder, 20) == []  # no split in sorted order
    tests = []
    for k in range(20):
        train = _lines(os.path.join(folder, 'index_train_%d.txt' % k))
        test = _lines(os.path.join(folder, 'index_test_%d.txt' % k))
        assert len(test) == 6 and sorted(train + test) == list(range(57))
        assert not in_sorted_order(train)
        tests.append(tuple(test))
        d = load_uci(folder, k)
        assert d.x_train.shape == (51, 3) and d.x_test.shape == (6, 3)
        # The targets in original units are the table's, to the 10 digits written.
        np.testing.assert_allclose(d.y_test * d.target_std + d.target_mean, y[test], rtol=1e-6)
    assert len(set(tests)) == 20  # every split draws its own test rows


def test_the_splits_follow_the_seed(make_sets, tmp_path):
    x, y = _table()
    for name, seed in (('a', 1), ('b', 1), ('c', 2)):
        make_sets.write_set(str(tmp_path / name), x, y, seed=seed)
    first = _lines(str(tmp_path / 'a' / 'index_test_4.txt'))
    assert first == _lines(str(tmp_path / 'b' / 'index_test_4.txt'))
    assert first != _lines(str(tmp_path / 'c' / 'index_test_4.txt'))


def test_missing_values_are_refused_before_anything_is_written(make_sets, tmp_path):
    x, y = _table()
    x[5, 1] = np.nan
    with pytest.raises(SystemExit, match='missing values'):
        make_sets.write_set(str(tmp_path / 'toy'), x, y, seed=0)
    assert not os.path.exists(str(tmp_path / 'toy'))


def test_an_unknown_set_name_is_a_usage_error(make_sets, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        make_sets.main(['--out', str(tmp_path), '--sets', 'autoMPG,nosuch'])
    assert stop.value.code == 2
    assert 'unknown set(s) nosuch' in capsys.readouterr().err
    assert os.listdir(str(tmp_path)) == []
