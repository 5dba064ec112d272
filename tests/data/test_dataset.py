"""tfbnn/data/dataset.py: the Dataset record and make_dataset's checks."""
import numpy as np
import pytest

from tfbnn.data.dataset import Dataset, make_dataset
from tfbnn.errors import ConfigError, DataError


def parts(**overrides):
    rng = np.random.RandomState(0)
    kwargs = dict(name='demo', task='classification', description='demo set',
                  x_train=rng.rand(6, 2, 3), y_train=np.array([0, 1, 2, 0, 1, 2]),
                  x_test=rng.rand(4, 2, 3), y_test=np.array([2, 1, 0, 0]),
                  num_classes=3, source='/data/demo.npz')
    kwargs.update(overrides)
    return kwargs


def test_fields():
    assert Dataset._fields == ('name', 'task', 'description', 'x_train', 'y_train',
                               'x_test', 'y_test', 'input_shape', 'num_classes',
                               'target_mean', 'target_std', 'x_val', 'y_val', 'input_mean',
                               'input_std')
    # Only hold_out_validation fills the validation split.
    d = make_dataset(**parts())
    assert d.x_val is None and d.y_val is None


def test_classification_casts():
    kwargs = parts()
    d = make_dataset(**kwargs)
    assert d.x_train.dtype == d.x_test.dtype == np.float32
    assert d.y_train.dtype == d.y_test.dtype == np.int64
    np.testing.assert_array_equal(d.x_train, kwargs['x_train'].astype(np.float32))
    np.testing.assert_array_equal(d.y_test, [2, 1, 0, 0])
    assert d.input_shape == (2, 3) and d.num_classes == 3
    assert (d.target_mean, d.target_std) == (0.0, 1.0)
    assert d.name == 'demo' and d.task == 'classification'


def test_classification_accepts_whole_float_labels():
    d = make_dataset(**parts(y_train=np.array([0., 1., 2., 0., 1., 2.])))
    np.testing.assert_array_equal(d.y_train, [0, 1, 2, 0, 1, 2])


def test_input_statistics_are_kept_as_float64_arrays():
    d = make_dataset(**parts(input_mean=np.full((2, 3), 2.0, np.float32),
                             input_std=[[1.0, 2.0, 3.0]] * 2))
    assert d.input_mean.dtype == d.input_std.dtype == np.float64
    np.testing.assert_array_equal(d.input_std, [[1.0, 2.0, 3.0]] * 2)
    assert make_dataset(**parts()).input_mean is None


def test_regression():
    d = make_dataset(**parts(task='regression', num_classes=None, y_train=np.arange(6.0),
                             y_test=np.arange(4.0), target_mean=2.5, target_std=0.5))
    assert d.y_train.dtype == np.float32 and d.num_classes is None
    assert (d.target_mean, d.target_std) == (2.5, 0.5)


@pytest.mark.parametrize('overrides,match', [
    (dict(task='ranking'), "dataset 'demo': task must be one of"),
    (dict(num_classes=None), "dataset 'demo': num_classes must be an integer"),
    (dict(num_classes=1), 'num_classes must be at least 2'),
    (dict(target_std=2.0), 'a classification set has target_mean 0.0 and target_std 1.0'),
    (dict(task='regression', num_classes=3), 'num_classes must be None for regression'),
    (dict(task='regression', num_classes=None, target_std=0.0), 'target_std positive'),
    (dict(input_mean=np.zeros((2, 3))), "dataset 'demo': input_mean and input_std go together"),
    (dict(input_mean=np.zeros(6), input_std=np.ones(6)),
     r'input_mean and input_std must have the example shape \[2, 3\], got \[6\] and \[6\]'),
    (dict(input_mean=np.zeros((2, 3)), input_std=np.zeros((2, 3))),
     'input_mean must be finite and input_std positive'),
])
def test_config_errors(overrides, match):
    with pytest.raises(ConfigError, match=match):
        make_dataset(**parts(**overrides))


@pytest.mark.parametrize('overrides,match', [
    (dict(x_train=np.zeros((0, 2, 3)), y_train=np.zeros(0, int)),
     r'/data/demo.npz: x_train is empty \(training set with no examples\)'),
    (dict(x_test=np.zeros((0, 2, 3)), y_test=np.zeros(0, int)),
     r'/data/demo.npz: x_test is empty \(test set with no examples\)'),
    (dict(y_train=np.zeros((6, 2), int)), r'y_train must have shape \[N\], got \[6, 2\]'),
    (dict(x_test=np.float64(1.0)), r'x_test is a scalar; expected shape \[N, ...\]'),
    (dict(y_test=np.array([0, 1, 2])), 'x_test has 4 examples but y_test has 3'),
    (dict(x_test=np.zeros((4, 3, 2))),
     r'examples of x_train have shape \[2, 3\] but those of x_test \[3, 2\]'),
    (dict(x_train=np.array(['a'] * 6)), 'x_train must hold real numbers, got dtype <U1'),
    (dict(x_train=np.where(np.arange(36).reshape(6, 2, 3) == 20, np.nan, 0.0)),
     r'x_train has 1 non-finite values \(NaN or inf\), the first in example 3'),
    # float64 beyond float32's range would be inf once cast: named before.
    (dict(x_test=np.full((4, 2, 3), 1e300)),
     r'x_test holds values up to 1e\+300, beyond float32 \(3.4e\+38\): rescale them'),
    (dict(x_train=np.zeros((6, 0)), x_test=np.zeros((4, 0))),
     r'examples of x_train have shape \[0\]: no input values'),
    (dict(y_test=np.array([2, 1, 3, 0])), r'y_test\[2\] = 3 is not a class label in 0..2'),
    (dict(y_train=np.array([0, -1, 2, 0, 1, 2])), r'y_train\[1\] = -1 is not a class label'),
    (dict(y_train=np.array([0, 1.5, 2, 0, 1, 2])), r'y_train\[1\] = 1.5 is not a class label'),
    (dict(y_train=np.array([0, np.inf, 2, 0, 1, 2])), 'y_train has 1 non-finite values'),
])
def test_data_errors(overrides, match):
    with pytest.raises(DataError, match=match):
        make_dataset(**parts(**overrides))


def test_source_defaults_to_name():
    with pytest.raises(DataError, match='^demo: x_test has 4 examples'):
        make_dataset(**parts(source=None, y_test=np.array([0, 1, 2])))
