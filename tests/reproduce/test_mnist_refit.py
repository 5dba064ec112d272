"""tfbnn/reproduce/mnist_refit.py: the record's choice refit on its training and validation images."""
import pytest

from tfbnn.errors import ConfigError
from tfbnn.internal.jsonio import read_json, write_json
from tfbnn.reproduce.mnist_refit import refit_schedule, reproduce_mnist_refit
from tests.reproduce.test_mnist_scales import _record


@pytest.mark.parametrize('args,expected', [
    # The MNIST records: 50,000 training images of 60,000, kept epochs 225 and 215, decay at 180.
    ((225, [180], 50000, 60000), (188, [150])),  # 187.5 examples-epochs, rounded up
    ((215, [180], 50000, 60000), (180, [150])),  # 179.17
    # An exact product is not rounded up a whole epoch; a decay at or past the end is dropped.
    ((6, [3, 6], 5, 6), (5, [3])),  # 2.5: halves round up
    ((3, [2], 1150, 1437), (3, [2])),  # the digits: 2.4 and 1.6
    ((2, [1], 10, 10), (2, [1])),  # nothing held out: the record's own schedule
])
def test_the_refit_sees_as_many_examples_as_the_kept_epoch(args, expected):
    epochs, decays = refit_schedule(*args)
    assert (epochs, decays) == expected
    kept, _, n_train, n_all = args
    # Never fewer examples than the chosen run saw, and less than one epoch more.
    assert kept * n_train <= epochs * n_all < kept * n_train + n_all


@pytest.mark.parametrize('args', [(0, [], 10, 20), (3, [], 0, 20), (3, [], 30, 20)])
def test_a_refit_schedule_needs_a_kept_epoch_and_sizes(args):
    with pytest.raises(ConfigError, match='a refit needs a kept epoch >= 1'):
        refit_schedule(*args)


def _kept_record(tmp_path, selected_epoch=3, **protocol):
    _record(tmp_path)
    path = str(tmp_path / 'mnist_scale_mixture.json')
    record = read_json(path)
    record['protocol'].update(protocol)
    write_json(path, dict(record, metrics=dict(selected_epoch=selected_epoch, epochs=3.0,
                                               val_error=0.1, test_error=0.1)))


def test_the_refit_trains_on_every_training_image_and_is_scored_once(tmp_path):
    _kept_record(tmp_path)
    lines = []
    result = reproduce_mnist_refit(str(tmp_path), 10.0, lines.append)
    assert read_json(str(tmp_path / 'mnist_scale_mixture_refit.json')) == result
    run_dir = tmp_path / 'chosen_refit'
    config = read_json(str(run_dir / 'config.json'))
    # Nothing held out, nothing stopped early; the record's options and full KL kept.
    assert config['validation_size'] == 0 and config['validate_every'] == 0
    assert config['epochs'] == 3 and config['lr_decay_epochs'] == [2.0]
    assert config['prior_sigma'] == 0.5 and config['kl_weight'] == 1.0
    assert config['optimizer'] == 'sgd' and config['max_seconds'] == 600.0
    # The digits: 1437 training images, of which the record trained on 1150.
    assert (result['train_examples'], result['refit_examples']) == (1150, 1437)
    assert result['kept_epoch'] == 3 and result['base_choice'] == 'chosen'
    assert result['run_dir'] == str(run_dir) and result['train_seconds_total'] > 0
    metrics = result['metrics']
    assert 'test_error' in metrics and 'val_error' not in metrics and metrics['epochs'] == 3
    assert 'on all 1437 training images (the record trained on 1150' in lines[0]
    assert lines[-1].startswith('mnist refit (scale_mixture): test error ')
    # Safe to repeat: nothing trains again, the same record comes back.
    log = (run_dir / 'train.log').read_text()
    assert reproduce_mnist_refit(str(tmp_path), 10.0, print) == result
    assert (run_dir / 'train.log').read_text() == log


def test_a_refit_its_budget_stopped_is_not_recorded(tmp_path):
    _kept_record(tmp_path)
    with pytest.raises(ConfigError, match=r'the refit stopped at epoch [0-9.]+ of 3 \(its '
                                          r'--budget-minutes ran out\)'):
        reproduce_mnist_refit(str(tmp_path), 1e-6, print)
    assert not (tmp_path / 'mnist_scale_mixture_refit.json').exists()


@pytest.mark.parametrize('protocol,message', [
    (dict(optimizer='adam'), 'trained with Adam: the refit keeps its SGD schedule'),
    (dict(validation_size=0.0), 'held out no validation images: there is nothing to refit on'),
    (None, 'not found: run the mnist experiment first'),
])
def test_user_errors(tmp_path, protocol, message):
    if protocol is not None:
        _kept_record(tmp_path, **protocol)
    with pytest.raises(ConfigError, match=message):
        reproduce_mnist_refit(str(tmp_path), 10.0, print)
    assert not any(p.is_dir() for p in tmp_path.iterdir())
