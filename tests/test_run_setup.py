"""tfbnn.run_setup: what a RunConfig builds (the data, the model spec, the optimiser)."""
import os
import re

import numpy as np
import pytest

from tfbnn import priors, run_setup
from tfbnn.errors import ConfigError, DataError
from tfbnn.run_config import RunConfig
from tests.data.test_mnist import idx_bytes, write, write_emnist


def test_the_model_spec_needs_only_the_task_and_the_classes():
    config = RunConfig(hidden=[8, 4], estimator='reparameterization', prior='scale_mixture',
                       posterior_init_scale=[0.01, 0.02], norm='group')
    spec = run_setup.model_spec(config, 'classification', 10)
    assert spec.hidden == (8, 4) and spec.output_units == 10 and spec.task == 'classification'
    assert spec.estimator == 'reparameterization' and spec.norm == 'group'
    assert spec.posterior_init_scale == (0.01, 0.02)
    assert isinstance(spec.prior, priors.ScaleMixturePrior)
    regression = run_setup.model_spec(RunConfig(), 'regression')
    assert regression.output_units == 1 and regression.task == 'regression'


@pytest.mark.parametrize('task,num_classes,model,error,message', [
    ('ranking', 3, 'mlp', ValueError,
     "model_spec: task must be one of classification, regression, got 'ranking'"),
    ('classification', None, 'mlp', ValueError, 'model_spec: a classification task needs '
                                                'num_classes'),
    ('regression', None, 'lenet5', ConfigError,
     "dataset 'digits' is a regression task: only --model mlp applies, got 'lenet5'"),
])
def test_model_spec_errors(task, num_classes, model, error, message):
    with pytest.raises(error, match='^%s$' % message.replace('(', r'\(').replace(')', r'\)')):
        run_setup.model_spec(RunConfig(model=model), task, num_classes)


def test_a_schedule_needs_the_step():
    config = RunConfig(lr_schedule='cosine')
    with pytest.raises(ValueError, match='--lr-schedule cosine needs the step and the steps '
                                         'per epoch'):
        run_setup.learning_rate(config)
    assert run_setup.learning_rate(RunConfig(learning_rate=0.1)) == 0.1


def test_an_npz_ood_set_needs_only_its_x_test(tmp_path):
    rng = np.random.RandomState(0)
    np.savez(str(tmp_path / 'train.npz'), x_train=rng.rand(6, 2, 3), y_train=[0, 1, 2, 0, 1, 2],
             x_test=rng.rand(3, 2, 3), y_test=[2, 1, 0])
    x_ood = rng.rand(4, 2, 3)
    np.savez(str(tmp_path / 'ood.npz'), x_test=x_ood)
    config = RunConfig(dataset='npz', data_dir=str(tmp_path / 'train.npz'),
                       ood_data_dir=str(tmp_path / 'ood.npz'))
    dataset, ood = run_setup.load_datasets(config)
    assert dataset.num_classes == 3 and ood.name == 'npz_ood'
    np.testing.assert_array_equal(ood.x_test, x_ood.astype(np.float32))


@pytest.mark.parametrize('train_shape, ood_shape', [((4, 4), (4, 4, 1)), ((4, 4, 1), (4, 4))])
def test_ood_images_with_or_without_a_channel_axis_of_one_are_the_same_images(
        tmp_path, train_shape, ood_shape):
    rng = np.random.RandomState(0)
    np.savez(str(tmp_path / 'train.npz'), x_train=rng.rand(6, *train_shape), y_train=[0, 1] * 3,
             x_test=rng.rand(2, *train_shape), y_test=[0, 1])
    x_ood = rng.rand(3, *ood_shape)
    np.savez(str(tmp_path / 'ood.npz'), x_test=x_ood)
    dataset, ood = run_setup.load_datasets(RunConfig(dataset='npz',
                                                     data_dir=str(tmp_path / 'train.npz'),
                                                     ood_data_dir=str(tmp_path / 'ood.npz')))
    assert ood.input_shape == dataset.input_shape == train_shape
    np.testing.assert_array_equal(ood.x_test, x_ood.reshape((3,) + train_shape).astype(np.float32))
    np.savez(str(tmp_path / 'ood.npz'), x_test=rng.rand(3, 4, 4, 2))  # two channels: other images
    with pytest.raises(ConfigError, match=r'examples of shape \(4, 4, 2\), the training data'):
        run_setup.load_datasets(RunConfig(dataset='npz', data_dir=str(tmp_path / 'train.npz'),
                                          ood_data_dir=str(tmp_path / 'ood.npz')))


@pytest.mark.parametrize('dataset,name,message', [
    ('mnist', 'ood.npz', "not a directory (--ood-data-dir with dataset 'mnist' needs a folder of "
                         "MNIST-format IDX files)"),
    ('mnist', 'nope', "no such directory (--ood-data-dir, dataset 'mnist')"),
    ('npz', 'nope.npz', "no such file or directory (--ood-data-dir, dataset 'npz')"),
])
def test_a_bad_ood_path_names_the_option(tmp_path, dataset, name, message):
    np.savez(str(tmp_path / 'ood.npz'), x_test=np.zeros((2, 3)))
    path = str(tmp_path / name)
    with pytest.raises(DataError, match='^%s$' % re.escape('%s: %s' % (path, message))):
        run_setup.load_data(RunConfig(dataset=dataset), path)


@pytest.mark.parametrize('dataset', ['digits', 'volumes3d'])  # regression: refused earlier
def test_a_built_in_set_refuses_an_ood_folder_instead_of_scoring_itself(tmp_path, dataset):
    with pytest.raises(ConfigError, match=re.escape(
            "--ood-data-dir reads data in the format of a dataset read from files (mnist, npz); "
            "dataset %r is built in: use --ood-set for its out-of-distribution images"
            % dataset)):
        run_setup.load_datasets(RunConfig(dataset=dataset, ood_data_dir=str(tmp_path)))


def test_emnist_letters_make_a_26_class_network_and_score_any_ood_folder(tmp_path):
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28).astype(np.uint8)
    os.mkdir(str(tmp_path / 'letters'))
    os.mkdir(str(tmp_path / 'ood'))
    letters = write_emnist(tmp_path / 'letters', 'letters', (images, [1, 26, 5]),
                           (images, [2, 3, 26]))
    write(tmp_path / 'ood' / 't10k-images.idx3-ubyte', idx_bytes(images[:2]))
    config = RunConfig(dataset='mnist', data_dir=letters, ood_data_dir=str(tmp_path / 'ood'))
    dataset, ood = run_setup.load_datasets(config)
    assert dataset.num_classes == 26 and dataset.y_train.tolist() == [0, 25, 4]
    assert run_setup.model_spec(config, dataset.task, dataset.num_classes).output_units == 26
    np.testing.assert_array_equal(ood.x_test[..., 0], (images[:2] / 255.0).astype(np.float32))
    write(tmp_path / 'ood' / 't10k-images.idx3-ubyte', idx_bytes(images[:2, :27]))
    with pytest.raises(ConfigError, match=re.escape(
            '--ood-data-dir %s: examples of shape (27, 28, 1), the training data (28, 28, 1)'
            % (tmp_path / 'ood'))):
        run_setup.load_datasets(config)
