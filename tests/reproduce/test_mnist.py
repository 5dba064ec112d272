"""tfbnn/reproduce/mnist.py: the candidate grid, the schedule, and the runs."""
import math
import os

import pytest

from tfbnn.errors import ConfigError
from tfbnn.internal.jsonio import read_json, write_json
from tfbnn.reproduce import mnist, runner


def test_candidates_cross_the_papers_prior_grid_with_the_initial_scale():
    for pi, a, b in mnist.PRIOR_CANDIDATES:
        assert pi in (0.25, 0.5, 0.75) and a in (0, 1, 2) and b in (6, 7, 8)
    candidates = mnist._candidates('scale_mixture', False)
    names = [n for n, _ in candidates]
    assert len(set(names)) == len(mnist.PRIOR_CANDIDATES) * len(mnist.INIT_SCALES)
    assert names[0] == 'mixture_pi0.5_s1e-0_s2e-7_init0.02'
    assert dict(candidates)[names[0]] == dict(prior='scale_mixture', prior_pi=0.5,
                                              prior_sigma1=1.0, prior_sigma2=math.exp(-7),
                                              posterior_init_scale=0.02)
    options = dict(mnist._candidates('normal', False))['gaussian_s1_init0.05']
    assert options == dict(prior='normal', prior_sigma=1.0, posterior_init_scale=0.05)
    base = mnist.base_options('d', 'o')
    assert (base['pixel_scale'], base['validation_size'], base['batch_size'],
            base['optimizer'], base['learning_rate']) == (126.0, 10000, 128, 'sgd', 0.1)


@pytest.mark.parametrize('epochs,decay', [(240, 180), (20, 15), (2, 1), (3, 2)])
def test_the_schedule_decays_once_at_three_quarters_and_before_the_end(epochs, decay):
    options = mnist.schedule_options(epochs)
    assert options['lr_decay_epochs'] == [decay] and options['lr_decay_factor'] == 0.1
    assert options['lr_schedule'] == 'step' and options['epochs'] == epochs


def test_run_with_reuse_skips_a_finished_run_and_resumes_an_unfinished_one(tmp_path):
    config = dict(dataset='digits', hidden=[8], epochs=3, eval_samples=2, seed=0,
                  output_dir=str(tmp_path / 'r'))
    # An interrupted run: one epoch on disk, no record of completion.
    runner.run(dict(config, epochs=1))
    first = runner.run(config, reuse=True)
    assert first['resumed_from_step'] == 12 and first['completed']
    again = runner.run(config, reuse=True)  # nothing trains: the same metrics
    assert again == first
    # A record from before an option existed (here: without lr_schedule) is
    # the same run when the call leaves that option at its default.
    done_path = os.path.join(config['output_dir'], runner.DONE_FILE)
    done = read_json(done_path)
    del done['options']['lr_schedule']
    write_json(done_path, done)
    assert runner.run(config, reuse=True) == first
    assert runner.run(dict(config, eval_samples=3), reuse=True)['resumed_from_step'] == 36
    seconds = runner.history_seconds(config['output_dir'])
    assert 0 < seconds < first['wall_seconds'] + 60


def test_run_with_reuse_refuses_a_run_started_under_another_schedule(tmp_path):
    """A smoke run of 2 epochs (x0.1 at epoch 2) left in the folder that a
    4-epoch run (x0.1 at 3) is asked of: resumed, it would go on with its
    rate back at 0.1 after the decay and be recorded as the 4-epoch run."""
    config = dict(dataset='digits', hidden=[8], eval_samples=2, seed=0, optimizer='sgd',
                  learning_rate=0.1, lr_schedule='step', output_dir=str(tmp_path / 'r'))
    first = runner.run(dict(config, epochs=2, lr_decay_epochs=[2]), reuse=True)
    with pytest.raises(ConfigError) as caught:
        runner.run(dict(config, epochs=4, lr_decay_epochs=[3]), reuse=True)
    assert str(caught.value) == (
        'cannot reuse the run in %s: it was started with other options (epochs 4 vs 2; '
        'lr_decay_epochs [3.0] vs [2.0]; asked vs saved), and would go on under these as if '
        'it had started so; remove that folder to train it again, or give another --out'
        % config['output_dir'])
    # Where and how fast it runs may change: the finished run serves as it is.
    assert runner.run(dict(config, epochs=2, lr_decay_epochs=[2], threads=1,
                           max_seconds=999), reuse=True) == first


def test_run_with_reuse_goes_on_with_a_longer_constant_rate_or_a_larger_budget(tmp_path):
    config = dict(dataset='digits', hidden=[8], eval_samples=2, seed=0,
                  output_dir=str(tmp_path / 'r'))
    short = runner.run(dict(config, epochs=2), reuse=True)
    assert short['completed'] and short['epochs'] == 2
    longer = runner.run(dict(config, epochs=3), reuse=True)  # not served the 2-epoch metrics
    assert longer['epochs'] == 3 and longer['resumed_from_step'] == short['steps']
    # A run its budget cut short serves that budget again, and goes on under a larger one.
    cut = runner.run(dict(config, epochs=4, max_seconds=1e-3, output_dir=str(tmp_path / 'c')),
                     reuse=True)
    assert not cut['completed']
    assert runner.run(dict(config, epochs=4, max_seconds=1e-3,
                           output_dir=str(tmp_path / 'c')), reuse=True) == cut
    done = runner.run(dict(config, epochs=4, max_seconds=600.0, output_dir=str(tmp_path / 'c')),
                      reuse=True)
    assert done['completed'] and done['epochs'] == 4


def _fake_record(tmp_path, epochs=4):
    protocol = dict(dataset='digits', hidden=[8], eval_samples=2, validation_size=0.2,
                    validate_every=1, seed=0, optimizer='sgd', learning_rate=0.1,
                    **mnist.schedule_options(epochs))
    record = dict(protocol=protocol, chosen='chosen', chosen_options=dict(prior_sigma=0.5),
                  prior='scale_mixture')
    write_json(str(tmp_path / 'mnist_scale_mixture.json'), record)


def test_every_protocol_trains_the_full_kl_whatever_the_jobs_default():
    from tfbnn import kl_study
    from tfbnn.reproduce import uci
    assert mnist.base_options('d', 'o')['kl_weight'] == 1.0
    assert uci.base_options('d')['kl_weight'] == 1.0
    assert kl_study.PINNED['kl_weight'] == 1.0


def test_extend_trains_the_choice_on_a_longer_schedule(tmp_path):
    _fake_record(tmp_path)
    lines = []
    longer = mnist.extend_mnist(str(tmp_path), 10.0, 6, lines.append)
    assert read_json(str(tmp_path / 'mnist_scale_mixture_long.json'))['metrics'] == \
        longer['metrics']
    assert longer['metrics']['epochs'] == 6 and longer['run_dir'].endswith('chosen_long')
    config = read_json(os.path.join(longer['run_dir'], 'config.json'))
    assert config['lr_decay_epochs'] == [5.0] and config['prior_sigma'] == 0.5  # 4.5, up
    # The record (as the first ones) does not say beta: the protocol's full KL, not the job's.
    assert config['kl_weight'] == 1.0 and longer['protocol']['kl_weight'] == 1.0
    assert longer['train_seconds_total'] > 0
    assert '6-epoch schedule' in lines[0]
    with pytest.raises(ConfigError, match='already trained a 4-epoch schedule'):
        mnist.extend_mnist(str(tmp_path), 10.0, 4, print)
    os.remove(str(tmp_path / 'mnist_scale_mixture.json'))
    with pytest.raises(ConfigError, match='run the mnist experiment first'):
        mnist.extend_mnist(str(tmp_path), 10.0, 8, print)


def test_the_selection_is_announced_with_the_folders_own_split_sizes(tmp_path, monkeypatch):
    """The log line counts the folder's images (here 40, 30 held out by a
    patched protocol) instead of quoting MNIST's 50000 / 10000."""
    from tests.training.test_train_job import mnist_fixture
    folder = mnist_fixture(str(tmp_path / 'set'), n_train=40)
    protocol = mnist.base_options

    def small(data_dir, out_dir, hidden=(400, 400)):
        return dict(protocol(data_dir, out_dir, hidden), validation_size=30)

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop()

    monkeypatch.setattr(mnist, 'base_options', small)
    monkeypatch.setattr(mnist.runner, 'select', stop)
    said = []
    with pytest.raises(Stop):
        mnist.reproduce_mnist(folder, str(tmp_path / 'out'), 'normal', 1.0, 4, 2, said.append)
    assert said == ['mnist (normal): 2 candidates, the schedule compressed to 2 epochs each, on '
                    '10 train / 30 validation']


def test_the_decay_at_three_quarters_rounds_halves_up():
    # 3/4 of 6 is 4.5: Python's round gave 4 (half to even), a third of the way from 3/4.
    assert [mnist.schedule_options(e)['lr_decay_epochs'] for e in (2, 6, 10, 20, 240)] == [
        [1], [5], [8], [15], [180]]
