"""tfbnn/data/load.py: dispatch by name and the argument checks."""
import os

import numpy as np
import pytest

import tfbnn.data
from tfbnn.data import DATASETS, load_dataset
from tfbnn.errors import ConfigError, DataError


def test_package_exports():
    for name in ('Dataset', 'load_dataset', 'DATASETS', 'load_digits', 'load_mnist',
                 'load_uci', 'load_toy_regression', 'load_volumes3d', 'load_npz'):
        assert name in tfbnn.data.__all__ and hasattr(tfbnn.data, name)


def test_names():
    assert DATASETS == ('digits', 'mnist', 'uci', 'toy_regression', 'volumes3d', 'npz')


def test_unknown_name():
    with pytest.raises(ConfigError) as info:
        load_dataset('foo')
    assert str(info.value) == ("unknown dataset 'foo': choose one of digits, mnist, uci, "
                               "toy_regression, volumes3d, npz")


@pytest.mark.parametrize('name,what', [
    ('mnist', 'the folder with the four IDX files'),
    ('uci', 'a folder in the Hernandez-Lobato & Adams format'),
    ('npz', 'a .npz file, or a folder with data.npz'),
])
def test_file_datasets_need_data_dir(name, what):
    with pytest.raises(ConfigError, match="^dataset '%s' needs --data-dir \\(%s" % (name, what)):
        load_dataset(name)


@pytest.mark.parametrize('kwargs,match', [
    (dict(split=1.0), 'load_dataset: split must be an integer, got 1.0'),
    (dict(seed='1'), "load_dataset: seed must be an integer, got '1'"),
    (dict(seed=-1), 'load_dataset: seed must be at least 0'),
])
def test_bad_split_or_seed(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_dataset('toy_regression', **kwargs)


@pytest.mark.parametrize('name', ['toy_regression', 'volumes3d'])
def test_seed_reaches_generated_sets(name):
    a, b = load_dataset(name, seed=3), load_dataset(name, seed=4)
    assert a.name == name
    assert not np.array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.x_train, load_dataset(name, seed=3).x_train)


def test_digits_ignores_seed_and_data_dir():
    a = load_dataset('digits', seed=0)
    b = load_dataset('digits', data_dir='/ignored', seed=7)
    np.testing.assert_array_equal(a.y_train, b.y_train)


def test_uci_split_and_data_dir_reach_the_loader(tmp_path):
    data = np.arange(12.0).reshape(6, 2) ** 2 % 7
    np.savetxt(str(tmp_path / 'data.txt'), data)
    (tmp_path / 'index_features.txt').write_text('0\n')
    (tmp_path / 'index_target.txt').write_text('1\n')
    for k, (train, test) in enumerate([('0\n1\n2\n3\n', '4\n5\n'), ('2\n3\n4\n5\n', '0\n1\n')]):
        (tmp_path / ('index_train_%d.txt' % k)).write_text(train)
        (tmp_path / ('index_test_%d.txt' % k)).write_text(test)
    d = load_dataset('uci', str(tmp_path), split=1)
    np.testing.assert_allclose(d.y_test * d.target_std + d.target_mean, data[[0, 1], 1],
                               rtol=1e-6)
    with pytest.raises(DataError, match='index_train_2.txt: no such file'):
        load_dataset('uci', str(tmp_path), split=2)
    with pytest.raises(DataError, match='split -1 is out of range'):
        load_dataset('uci', str(tmp_path), split=-1)


def test_npz_and_mnist_read_data_dir(tmp_path):
    np.savez(str(tmp_path / 'data.npz'), x_train=np.zeros((2, 1)), y_train=[0, 1],
             x_test=np.ones((1, 1)), y_test=[1])
    assert load_dataset('npz', str(tmp_path)).num_classes == 2
    with pytest.raises(DataError, match="no such directory \\(dataset 'mnist'\\)"):
        load_dataset('mnist', os.path.join(str(tmp_path), 'missing'))
