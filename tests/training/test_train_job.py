"""The training job end to end, on tiny fixtures of every dataset format."""
import errno
import gzip
import json
import os
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn.cli.train import main
from tfbnn.internal import compat
from tfbnn.training import lifecycle

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLASSIFICATION_KEYS = {'test_error', 'test_nll', 'ece', 'brier', 'mean_entropy',
                       'mean_mutual_information', 'mean_weights_test_error',
                       'examples_per_second', 'epochs', 'steps'}
QUICK = ['--epochs', '2', '--hidden', '16', '--eval-samples', '4', '--progress', 'never']
# For the models of fixed layers, which refuse --hidden.
QUICK_FIXED = [f for f in QUICK if f not in ('--hidden', '16')]


def run(tmp_path, *flags, name='run'):
    out = str(tmp_path / name)
    code = main(['--output-dir', out] + list(flags))
    return code, out


def read(out, name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)


def write_idx(path, array, magic):
    header = struct.pack('>i', magic) + b''.join(struct.pack('>i', d) for d in array.shape)
    with gzip.open(path, 'wb') as f:
        f.write(header + array.astype(np.uint8).tobytes())


def mnist_fixture(folder, n_train=40, n_test=20, seed=0):
    rng = np.random.RandomState(seed)
    os.makedirs(folder, exist_ok=True)
    for prefix, n in (('train', n_train), ('t10k', n_test)):
        labels = rng.randint(0, 10, size=n)
        images = rng.randint(0, 50, size=(n, 28, 28))
        for i, lab in enumerate(labels):  # a learnable bright square per class
            images[i, 2 * lab:2 * lab + 6, 4:10] = 255
        write_idx(os.path.join(folder, '%s-images-idx3-ubyte.gz' % prefix), images, 2051)
        write_idx(os.path.join(folder, '%s-labels-idx1-ubyte.gz' % prefix), labels, 2049)
    return str(folder)


def uci_fixture(folder, rows=60, seed=0):
    rng = np.random.RandomState(seed)
    os.makedirs(folder, exist_ok=True)
    x = rng.randn(rows, 3)
    y = 2.0 * x[:, 0] - x[:, 1] + 0.1 * rng.randn(rows) + 10.0
    np.savetxt(os.path.join(folder, 'data.txt'), np.column_stack([x, y]))
    np.savetxt(os.path.join(folder, 'index_features.txt'), [0, 1, 2], fmt='%d')
    np.savetxt(os.path.join(folder, 'index_target.txt'), [3], fmt='%d')
    perm = rng.permutation(rows)
    np.savetxt(os.path.join(folder, 'index_train_0.txt'), perm[:48], fmt='%d')
    np.savetxt(os.path.join(folder, 'index_test_0.txt'), perm[48:], fmt='%d')
    return str(folder)


def test_digits_default_job_writes_everything(tmp_path):
    code, out = run(tmp_path, *QUICK)
    assert code == 0
    metrics = read(out, 'metrics.json')
    assert CLASSIFICATION_KEYS <= set(metrics)
    assert metrics['steps'] == 2 * 12 and metrics['epochs'] == 2.0  # ceil(1437 / 128) = 12
    assert 0 <= metrics['test_error'] < 0.9 and 0 <= metrics['ece'] <= 1
    assert metrics['mean_mutual_information'] <= metrics['mean_entropy']
    config = read(out, 'config.json')
    assert config['hidden'] == [16] and config['config_format'] == 1
    history = read(out, 'history.json')
    assert history['epoch'] == [1, 2] and len(history['kl']) == 2
    for png in ('learning_curves.png', 'reliability.png', 'snr.png'):
        with open(os.path.join(out, png), 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert tf.train.latest_checkpoint(out).endswith('model.ckpt-24')
    assert any(name.startswith('events.out.tfevents') for name in os.listdir(out))
    log = open(os.path.join(out, 'train.log')).read()
    assert 'epoch 2/2 step 24 | nll term' in log and 'scaled kl' in log


def test_examples_per_second_counts_from_the_first_step_s_end(tmp_path, monkeypatch):
    """As the cluster's chief does: the first step's one-time set-up is no
    throughput. A clock that moves 10 s a reading (one reading a step): 1,437
    digits in batches of 128, one epoch, 12 steps; the last 11 carry 1,309
    examples in 110 s."""
    from tfbnn.training import loop

    class Clock:
        now = 0.0

        def time(self):
            Clock.now += 10.0
            return Clock.now
    monkeypatch.setattr(loop, 'time', Clock())
    code, out = run(tmp_path, '--epochs', '1', '--hidden', '8', '--eval-samples', '2',
                    '--progress', 'never', '--ood-set', 'none')
    assert code == 0
    metrics = read(out, 'metrics.json')
    assert metrics['steps'] == 12
    assert metrics['examples_per_second'] == pytest.approx(1309 / 110.0)


@pytest.mark.parametrize('extra', [[], ['--train-samples', '3', '--estimator', 'reparameterization',
                                       '--eval-estimator', 'flipout']])
def test_same_seed_same_result_on_cpu(tmp_path, extra):
    """Also through the in-graph loop over weight samples (train and predictive)."""
    flags = QUICK + ['--device', 'cpu', '--seed', '7', '--epochs', '1'] + extra
    assert run(tmp_path, *flags, name='a')[0] == 0
    assert run(tmp_path, *flags, name='b')[0] == 0
    a, b = read(str(tmp_path / 'a'), 'history.json'), read(str(tmp_path / 'b'), 'history.json')
    assert a['loss'] == b['loss'] and a['kl'] == b['kl']
    ma, mb = read(str(tmp_path / 'a'), 'metrics.json'), read(str(tmp_path / 'b'), 'metrics.json')
    assert ma['test_nll'] == mb['test_nll']


def test_mnist_idx_with_lenet5_and_ood(tmp_path):
    mnist = mnist_fixture(tmp_path / 'mnist')
    ood = mnist_fixture(tmp_path / 'other', seed=1)
    for name in os.listdir(ood):  # an OOD folder needs its test images only
        if not name.startswith('t10k-images'):
            os.remove(os.path.join(ood, name))
    code, out = run(tmp_path, '--dataset', 'mnist', '--data-dir', mnist, '--model', 'lenet5',
                    '--ood-data-dir', ood, '--batch-size', '16', *QUICK_FIXED)
    assert code == 0
    metrics = read(out, 'metrics.json')
    assert 0 <= metrics['ood_auroc_entropy'] <= 1 and 0 <= metrics['ood_auroc_mi'] <= 1
    assert metrics['steps'] == 2 * 3
    assert os.path.exists(os.path.join(out, 'ood_entropy.png'))


def _npz_with_ood(tmp_path, ood_scale):
    rng = np.random.RandomState(0)
    np.savez(str(tmp_path / 'train.npz'), x_train=rng.rand(40, 6, 5), y_train=np.arange(40) % 3,
             x_test=rng.rand(12, 6, 5), y_test=np.arange(12) % 3)
    np.savez(str(tmp_path / 'ood.npz'), x_test=(rng.rand(10, 6, 5) * ood_scale).astype('f4'))
    return ['--dataset', 'npz', '--data-dir', str(tmp_path / 'train.npz'), '--ood-data-dir',
            str(tmp_path / 'ood.npz')]


def test_an_ood_set_far_outside_the_training_range_is_said_and_keeps_the_metrics(
        tmp_path, capsys):
    """Inputs of 1e20 overflow the predictive: the run warns when it starts,
    then reports its test metrics without an OOD AUROC instead of failing."""
    code, out = run(tmp_path, *_npz_with_ood(tmp_path, 1e20), *QUICK)
    said = capsys.readouterr().out
    assert code == 0
    assert ('tfbnn: warning: the out-of-distribution inputs span [' in said
            and 'the training data [' in said)
    assert ('out-of-distribution examples is not finite (their inputs reach |x| = ' in said
            and 'no ood_auroc_* is reported' in said)
    metrics = read(out, 'metrics.json')
    assert 'test_error' in metrics and not any(k.startswith('ood_') for k in metrics)
    assert not os.path.exists(os.path.join(out, 'ood_entropy.png'))
    # The same on the validation split alone (--no-test-eval).
    code, out = run(tmp_path, *_npz_with_ood(tmp_path, 1e20), *QUICK, '--no-test-eval',
                    '--validation-size', '10', name='validation')
    assert code == 0 and 'no ood_auroc_* is reported' in capsys.readouterr().out
    metrics = read(out, 'metrics.json')
    assert 'val_error' in metrics and not any('ood' in k for k in metrics)


def test_ood_set_none_on_resume_drops_the_folder_and_its_old_plot(tmp_path, capsys):
    flags = _npz_with_ood(tmp_path, 1.0)
    code, out = run(tmp_path, *flags, *QUICK)
    assert code == 0 and 'ood_auroc_mi' in read(out, 'metrics.json')
    assert os.path.exists(os.path.join(out, 'ood_entropy.png'))
    assert 'the out-of-distribution inputs span' not in capsys.readouterr().out
    # auto keeps the folder (and scores no built-in kind beside it).
    code, _ = run(tmp_path, '--resume', '--ood-set', 'auto', '--epochs', '3')
    assert code == 0 and read(out, 'config.json')['ood_data_dir'] == str(tmp_path / 'ood.npz')
    assert 'ood_auroc_mi' in read(out, 'metrics.json')
    assert not any(k.startswith('ood_auroc_mi_') for k in read(out, 'metrics.json'))
    os.remove(str(tmp_path / 'ood.npz'))  # gone: the resume must not read it
    code, _ = run(tmp_path, '--resume', '--ood-set', 'none', '--epochs', '4')
    assert code == 0
    assert ("--resume: --ood-set none leaves out the saved run's --ood-data-dir %s"
            % (tmp_path / 'ood.npz')) in capsys.readouterr().out
    assert not any(k.startswith('ood_') for k in read(out, 'metrics.json'))
    assert not os.path.exists(os.path.join(out, 'ood_entropy.png'))
    assert read(out, 'config.json')['ood_data_dir'] is None


def test_uci_regression_reports_original_units(tmp_path):
    uci = uci_fixture(tmp_path / 'uci')
    code, out = run(tmp_path, '--dataset', 'uci', '--data-dir', uci, '--split', '0',
                    '--batch-size', '16', '--learning-rate', '0.01', *QUICK)
    assert code == 0
    metrics = read(out, 'metrics.json')
    assert {'rmse', 'test_ll', 'examples_per_second', 'epochs', 'steps'} <= set(metrics)
    # Targets have std ~2.2; an untrained predictor's RMSE is about that, in original units.
    assert 0 < metrics['rmse'] < 10 and np.isfinite(metrics['test_ll'])


def test_toy_regression_plots_the_band(tmp_path):
    code, out = run(tmp_path, '--dataset', 'toy_regression', '--batch-size', '32', *QUICK)
    assert code == 0
    assert os.path.getsize(os.path.join(out, 'predictive_band.png')) > 1000


def test_volumes3d_with_conv3d(tmp_path):
    code, out = run(tmp_path, '--dataset', 'volumes3d', '--model', 'conv3d', '--epochs', '1',
                    '--eval-samples', '2', '--batch-size', '64', '--progress', 'never')
    assert code == 0
    assert read(out, 'metrics.json')['steps'] == 10  # ceil(600 / 64)


@pytest.mark.parametrize('task', ['classification', 'regression'])
def test_npz_files(tmp_path, task):
    rng = np.random.RandomState(0)
    x = rng.randn(50, 4).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) if task == 'classification' else x[:, 0] * 3.0
    path = str(tmp_path / 'data.npz')
    np.savez(path, x_train=x[:40], y_train=y[:40], x_test=x[40:], y_test=y[40:])
    code, out = run(tmp_path, '--dataset', 'npz', '--data-dir', path, '--batch-size', '8', *QUICK)
    assert code == 0
    assert ('test_error' if task == 'classification' else 'rmse') in read(out, 'metrics.json')


def test_a_batch_larger_than_the_training_set_is_said(tmp_path, capsys):
    """It trains (one step per epoch of all 40 examples: M = 1), and the
    header says so instead of '1 steps of 64' alone."""
    x = np.random.RandomState(0).randn(50, 4).astype(np.float32)
    path = str(tmp_path / 'data.npz')
    np.savez(path, x_train=x[:40], y_train=(x[:40, 0] > 0).astype(np.int64), x_test=x[40:],
             y_test=(x[40:, 0] > 0).astype(np.int64))
    code, out = run(tmp_path, '--dataset', 'npz', '--data-dir', path, '--batch-size', '64',
                    *QUICK)
    assert code == 0 and read(out, 'metrics.json')['steps'] == 2
    assert ('2 steps of 64 (a batch larger than the training set: each step takes all 40) '
            '(2 epochs)' in capsys.readouterr().out)


@pytest.mark.parametrize('flags,message', [
    (['--dataset', 'cifar'], "--dataset must be one of digits, mnist, uci, toy_regression, "
                             "volumes3d, npz, got 'cifar'"),
    (['--dataset', 'mnist'], "dataset 'mnist' needs --data-dir"),
    (['--dataset', 'mnist', '--data-dir', '/nonexistent/mnist'], '/nonexistent/mnist'),
    (['--epochs', '0'], '--epochs must be a positive integer, got 0'),
    (['--estimator', 'flip'], '--estimator must be one of reparameterization, flipout, '
                              'local_reparameterization'),
    (['--prior-sigma', '-1'], '--prior-sigma must be a positive number'),
    (['--kl-scheme', 'per_sample'], '--kl-scheme must be one of per_example, per_batch, blundell'),
    (['--dataset', 'toy_regression', '--model', 'lenet5'], 'only --model mlp applies'),
    (['--model', 'lstm', '--norm', 'group'], "--model lstm takes no --norm, got 'group'"),
    (['--optimizer', 'rmsprop'], '--optimizer must be one of adam, sgd, momentum'),
    (['--optimizer', 'momentum', '--momentum', '1'], '--momentum must be in [0, 1), got 1.0'),
    (['--scale-lr-multiplier', '10'], '--scale-lr-multiplier changes nothing under Adam'),
    (['--scale-optimizer', 'adam'], '--scale-optimizer adam needs --optimizer sgd or momentum'),
    (['--optimizer', 'sgd', '--scale-optimizer', 'adam', '--scale-lr-multiplier', '3'],
     '--scale-lr-multiplier and --scale-optimizer adam both set the step of the scales; '
     'choose one'),
    (['--optimizer', 'sgd', '--scale-optimizer', 'adam', '--scale-learning-rate', '0'],
     '--scale-learning-rate must be a positive number, got 0.0'),
    (['--scale-optimizer', 'rmsprop'], '--scale-optimizer must be one of same, adam'),
    (['--optimizer', 'sgd', '--scale-lr-multiplier', '0'],
     '--scale-lr-multiplier must be a positive number, got 0.0'),
    (['--model', 'conv3d'], 'model conv3d needs volume [depth, height, width, channels] (or '
                            '[depth, height, width]) inputs'),
    # Flags the run would ignore (the epochs bound a run that took them).
    (['--model', 'lenet5', '--hidden', '400,400', '--epochs', '1'],
     'the layers of --model lenet5 are fixed'),
    (['--data-dir', '/data/digits', '--epochs', '1'], "dataset 'digits' is built in"),
    (['--ood-set', '', '--epochs', '1'], '--ood-set must be auto, none (off) or a '
                                         'comma-separated list of'),
    (['--seed', str(2 ** 40)], '--seed must be an integer in [0, 4294967295], got 1099511627776'),
])
def test_user_errors_exit_2_with_one_line(tmp_path, capsys, flags, message):
    code, _ = run(tmp_path, *(flags + ['--progress', 'never']))
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith('tfbnn-train: error: ') and message in err
    assert err.count('\n') == 1 and 'Traceback' not in err


def test_corrupt_and_bad_npz_files(tmp_path, capsys):
    bad = tmp_path / 'bad.npz'
    bad.write_bytes(b'not a zip file at all')
    assert run(tmp_path, '--dataset', 'npz', '--data-dir', str(bad), name='r1')[0] == 2
    x = np.zeros((10, 3), np.float32)
    np.savez(str(tmp_path / 'neg.npz'), x_train=x, y_train=-np.ones(10, np.int64), x_test=x,
             y_test=np.zeros(10, np.int64))
    assert run(tmp_path, '--dataset', 'npz', '--data-dir', str(tmp_path / 'neg.npz'),
               name='r2')[0] == 2
    err = capsys.readouterr().err
    assert err.count('tfbnn-train: error:') == 2 and 'Traceback' not in err


@pytest.mark.parametrize('then,message', [
    (dict(y_train=np.arange(40) % 3, y_test=np.arange(10) % 3),
     'the number of classes 3, the saved run was trained on 2'),
    (dict(y_train=np.arange(40.0), y_test=np.arange(10.0)), 'the task regression'),
    (dict(x_train=np.zeros((40, 5), np.float32), x_test=np.zeros((10, 5), np.float32)),
     'the example shape 5, the saved run was trained on 4')])
def test_a_resume_on_changed_data_is_refused_before_anything_is_written(tmp_path, capsys, then,
                                                                        message):
    path = str(tmp_path / 'data.npz')
    first = dict(x_train=np.random.RandomState(0).rand(40, 4).astype(np.float32),
                 y_train=np.arange(40) % 2, x_test=np.zeros((10, 4), np.float32),
                 y_test=np.arange(10) % 2)
    np.savez(path, **first)
    assert run(tmp_path, '--dataset', 'npz', '--data-dir', path, *QUICK)[0] == 0
    out = str(tmp_path / 'run')
    records = {name: open(os.path.join(out, name)).read()
               for name in ('config.json', 'dataset.json', 'metrics.json')}
    np.savez(path, **dict(first, **then))
    code, _ = run(tmp_path, '--dataset', 'npz', '--data-dir', path, '--resume', *QUICK)
    err = capsys.readouterr().err
    assert code == 2 and 'cannot resume: the data (%s) give %s' % (path, message) in err, err
    assert err.count('\n') == 1
    assert {name: open(os.path.join(out, name)).read() for name in records} == records


def test_an_old_regression_run_with_a_validation_split_is_not_resumed_on_other_inputs(
        tmp_path, capsys):
    """tfbnn once standardised npz inputs under --validation-size; its
    checkpoints learnt from those, and this tfbnn would feed them raw."""
    path = str(tmp_path / 'data.npz')
    x = np.random.RandomState(0).rand(40, 2).astype(np.float32) * 100.0
    np.savez(path, x_train=x, y_train=x[:, 0], x_test=x[:5], y_test=x[:5, 0])
    flags = ['--dataset', 'npz', '--data-dir', path, '--validation-size', '0.25'] + QUICK
    assert run(tmp_path, *flags)[0] == 0
    out = str(tmp_path / 'run')
    meta = read(out, 'dataset.json')
    assert meta['input_mean'] is None  # used as stored
    del meta['input_mean'], meta['input_std']  # as the earlier tfbnn wrote it
    json.dump(meta, open(os.path.join(out, 'dataset.json'), 'w'))
    code, _ = run(tmp_path, *(flags + ['--resume']))
    assert code == 2 and ('cannot resume: this run was started by an earlier tfbnn, which '
                          'standardised the npz inputs under --validation-size') in \
        capsys.readouterr().err


def test_existing_run_needs_resume_and_compatible_flags(tmp_path, capsys):
    assert run(tmp_path, *QUICK)[0] == 0
    code, _ = run(tmp_path, *QUICK)
    assert code == 2 and 'already holds a run; pass --resume' in capsys.readouterr().err
    code, _ = run(tmp_path, *(QUICK + ['--resume', '--hidden', '32']))
    assert code == 2 and "cannot resume: --hidden was [16] in the saved run, now [32]" in \
        capsys.readouterr().err
    code, out = run(tmp_path, *(QUICK + ['--resume', '--epochs', '1']))
    assert code == 2 and ('cannot resume: the saved run has trained 2 epochs, more than '
                          '--epochs 1; give --epochs 2 or more') in capsys.readouterr().err
    assert read(out, 'config.json')['epochs'] == 2  # not rewritten
    # Extending a finished run by an epoch continues from its last step.
    code, out = run(tmp_path, *(QUICK + ['--resume', '--epochs', '3']))
    assert code == 0
    metrics = read(out, 'metrics.json')
    assert metrics['resumed_from_step'] == 24 and metrics['steps'] == 36
    assert read(out, 'history.json')['epoch'] == [1, 2, 3]


def test_a_resume_without_metrics_json_counts_the_epochs_of_its_checkpoint(tmp_path, capsys):
    assert run(tmp_path, *QUICK)[0] == 0
    out = str(tmp_path / 'run')
    os.remove(os.path.join(out, 'metrics.json'))  # lost: the checkpoint still says step 24
    code, _ = run(tmp_path, *(QUICK + ['--resume', '--epochs', '1']))
    assert code == 2 and ('cannot resume: the saved run has trained 2 epochs, more than '
                          '--epochs 1; give --epochs 2 or more') in capsys.readouterr().err
    assert read(out, 'config.json')['epochs'] == 2  # not rewritten
    # A plain --resume re-evaluates the run as it was started.
    assert run(tmp_path, '--resume', '--progress', 'never')[0] == 0
    assert read(out, 'config.json')['epochs'] == 2
    assert (read(out, 'metrics.json')['epochs'], read(out, 'metrics.json')['steps']) == (2, 24)
    # A metrics.json older than the checkpoint: a resumed run that stopped before writing its own.
    metrics = dict(read(out, 'metrics.json'), epochs=1, steps=12)
    with open(os.path.join(out, 'metrics.json'), 'w') as f:
        json.dump(metrics, f)
    code, _ = run(tmp_path, *(QUICK + ['--resume', '--epochs', '1']))
    assert code == 2 and 'has trained 2 epochs, more than --epochs 1' in capsys.readouterr().err


def test_a_resume_with_its_runs_own_flags_passes_the_given_flag_checks(tmp_path):
    """A run of fixed layers started with --hidden (before it was refused) resumes
    with the same command; the check is for new runs."""
    flags = QUICK_FIXED + ['--model', 'lenet5']
    assert run(tmp_path, *flags)[0] == 0
    assert run(tmp_path, *(flags + ['--hidden', '100,100', '--resume']))[0] == 0
    assert run(tmp_path, *(flags + ['--hidden', '100,100']), name='new')[0] == 2


def test_a_run_that_failed_before_its_first_checkpoint_can_be_started_again(tmp_path, capsys):
    # The warm start's run is missing: the job has written config.json when it finds out.
    code, out = run(tmp_path, *(QUICK + ['--warm-start', str(tmp_path / 'missing')]))
    assert code == 2 and 'Traceback' not in capsys.readouterr().err
    assert os.path.exists(os.path.join(out, 'config.json'))
    assert tf.train.latest_checkpoint(out) is None
    stale = os.path.join(out, 'events.out.tfevents.1.failed-start')  # such a start's records
    open(stale, 'w').close()
    code, out = run(tmp_path, *QUICK)  # the same folder, no --resume, other flags
    assert code == 0
    assert 'holds only the records of a run that stopped before its first checkpoint: ' \
        'starting a new run' in capsys.readouterr().out
    assert read(out, 'config.json')['warm_start'] in ('', None)
    assert read(out, 'metrics.json')['steps'] == 24 and not os.path.exists(stale)
    # Once it has saved a checkpoint or results, the folder is a run again.
    for name in ('history.json', 'metrics.json'):
        os.remove(os.path.join(out, name))
    code, _ = run(tmp_path, *QUICK)
    assert code == 2 and 'already holds a run; pass --resume' in capsys.readouterr().err
    for name in os.listdir(out):  # ... and so is one with early stopping's best/ alone
        if name.startswith('model.ckpt') or name == 'checkpoint':
            os.remove(os.path.join(out, name))
    os.makedirs(os.path.join(out, 'best'))
    code, _ = run(tmp_path, *QUICK)
    assert code == 2 and 'already holds a run; pass --resume' in capsys.readouterr().err


def test_a_folder_that_a_running_job_writes_is_refused(tmp_path, capsys):
    from tfbnn.training import rundir
    out = str(tmp_path / 'run')
    with rundir.claim(out):  # as a job in its first epoch holds it
        code, _ = run(tmp_path, *QUICK)
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1
    assert '--output-dir %s is being written by another running job' % out in err
    assert not os.path.exists(os.path.join(out, 'config.json'))
    assert run(tmp_path, *QUICK)[0] == 0  # free once that job has ended


def test_the_default_folder_sets_an_earlier_run_aside(tmp_path, capsys, monkeypatch):
    from tfbnn.training import rundir
    monkeypatch.chdir(tmp_path)  # the default --output-dir is runs/latest
    assert main(QUICK) == 0
    first = read('runs/latest', 'metrics.json')
    os.utime('runs/latest/config.json', (0, 1e9))  # written 2001-09-09 01:46:40 UTC
    monkeypatch.setenv('TZ', 'UTC')
    time.tzset()
    try:
        os.makedirs('runs/run-20010909-014640')  # a name taken: the next one is used
        capsys.readouterr()
        assert main(QUICK) == 0  # the README's command, again
        moved = os.path.join('runs', 'run-20010909-014640-2')
        assert 'runs/latest held an earlier run: moved it to %s' % moved in capsys.readouterr().out
        assert read(moved, 'metrics.json') == first and tf.train.latest_checkpoint(moved)
        assert read('runs/latest', 'metrics.json')['steps'] == 24
        assert main(QUICK + ['--resume', '--output-dir', moved, '--epochs', '3']) == 0
        assert read(moved, 'metrics.json')['resumed_from_step'] == 24
        with rundir.claim('runs/latest'):  # a job still writing it is not moved
            assert main(QUICK) == 2
        assert 'is being written by another running job' in capsys.readouterr().err
        assert sorted(os.listdir('runs')) == ['latest', 'run-20010909-014640',
                                              os.path.basename(moved)]
        # --resume continues the run in runs/latest instead of moving it.
        assert main(QUICK + ['--resume', '--epochs', '3']) == 0
        assert read('runs/latest', 'metrics.json')['resumed_from_step'] == 24
        # A run that reads from runs/latest keeps it where it is: refused as before.
        capsys.readouterr()
        assert main(QUICK + ['--warm-start', 'runs/latest']) == 2
        assert 'already holds a run; pass --resume' in capsys.readouterr().err
        # Without locks nothing tells whether a job still writes it: not moved either.
        real_flock = rundir.fcntl.flock

        def no_locks(handle, operation):
            raise OSError(errno.ENOLCK, 'No locks available')
        monkeypatch.setattr(rundir.fcntl, 'flock', no_locks)
        assert main(QUICK) == 2
        assert 'already holds a run; pass --resume' in capsys.readouterr().err
        monkeypatch.setattr(rundir.fcntl, 'flock', real_flock)
        # The move is reported at once, even when the new run then fails.
        assert main(QUICK + ['--warm-start', 'runs/nowhere']) == 2
        out = capsys.readouterr().out
        assert 'runs/latest held an earlier run: moved it to runs/run-' in out
        assert len(os.listdir('runs')) == 4 and os.path.exists('runs/latest/config.json')
    finally:
        monkeypatch.delenv('TZ')
        time.tzset()


def test_gpu_request_without_gpu_is_a_user_error(tmp_path, capsys):
    code, _ = run(tmp_path, '--device', 'gpu', *QUICK)
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1
    assert '--device gpu: TensorFlow %s sees no GPU' % tf.__version__ in err
    assert ("pip install 'tensorflow[and-cuda]'" if compat.TF2 else 'tensorflow-gpu 1.15') in err


def test_nan_guard_stops_with_the_step_and_keeps_good_checkpoints(tmp_path, capsys):
    code, out = run(tmp_path, '--learning-rate', '1e36', '--checkpoint-every', '1', *QUICK)
    err = capsys.readouterr().err
    assert code == 3, err
    assert 'became non-finite (NaN/Inf) at step' in err and 'no trainable variable was updated' in err
    latest = tf.train.latest_checkpoint(out)
    if latest is not None:  # every saved checkpoint holds finite values only
        reader = tf.train.NewCheckpointReader(latest)
        for name in reader.get_variable_to_shape_map():
            assert np.all(np.isfinite(reader.get_tensor(name))), name


def test_a_divergence_on_huge_inputs_points_at_the_data(tmp_path, capsys):
    rng = np.random.RandomState(0)
    x = rng.rand(48, 6).astype(np.float32)
    x[:, 0] *= 1e30  # raw values of another scale, not a step size to tune
    y = (x[:, 1] > 0.5).astype(np.int64)
    path = str(tmp_path / 'huge.npz')
    np.savez(path, x_train=x[:32], y_train=y[:32], x_test=x[32:], y_test=y[32:])
    code, _ = run(tmp_path, '--dataset', 'npz', '--data-dir', path, '--batch-size', '8', *QUICK)
    err = capsys.readouterr().err
    assert code == 3 and err.count('\n') == 1, err
    assert 'became non-finite (NaN/Inf) at step 1' in err
    assert ('(the training inputs reach |x| = %.3g, beyond what a network trains on: scale '
            'or standardise them first' % np.abs(x[:32]).max()) in err
    assert err.endswith('a smaller --learning-rate will not help)\n')


def _train_cmd(out, *flags):
    return [sys.executable, os.path.join(REPO, 'scripts', 'train.py'), '--output-dir', out,
            '--hidden', '64,64', '--epochs', '6', '--eval-samples', '2', '--progress', 'never',
            '--checkpoint-every', '5', '--batch-size', '32'] + list(flags)


def test_resume_after_sigkill_ends_at_the_same_step(tmp_path):
    """SIGKILL mid-run, then --resume: same final step as an uninterrupted run,
    and at most one checkpoint interval of work lost."""
    out = str(tmp_path / 'killed')
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    proc = subprocess.Popen(_train_cmd(out), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            ckpt = tf.train.latest_checkpoint(out) if os.path.isdir(out) else None
            if ckpt and int(ckpt.rsplit('-', 1)[1]) >= 20:
                break
            if proc.poll() is not None:
                pytest.fail('the run finished before it could be killed')
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    killed_at = int(tf.train.latest_checkpoint(out).rsplit('-', 1)[1])
    assert proc.returncode == -signal.SIGKILL and killed_at < 6 * 45  # ceil(1437/32) = 45
    resumed = subprocess.run(_train_cmd(out, '--resume'), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert 'resuming from' in resumed.stdout
    metrics = read(out, 'metrics.json')
    assert metrics['steps'] == 6 * 45 and metrics['completed'] is True
    assert metrics['resumed_from_step'] % 5 == 0 and metrics['resumed_from_step'] >= killed_at


@pytest.mark.parametrize('estimator', ['reparameterization', 'flipout', 'local_reparameterization'])
def test_several_weight_samples_per_step_with_the_mixture_prior(tmp_path, estimator):
    """--train-samples K averages K weight samples per step (in-graph loop with
    gradients), the MC KL uses those draws, blundell + warm-up follow the step."""
    code, out = run(tmp_path, '--train-samples', '3', '--estimator', estimator,
                    '--prior', 'scale_mixture', '--kl-scheme', 'blundell', '--warmup-steps', '6',
                    '--epochs', '1', '--hidden', '16', '--eval-samples', '3',
                    '--progress', 'never')
    assert code == 0
    history = read(out, 'history.json')
    assert np.isfinite(history['kl'][0]) and history['kl'][0] > 0
    # pi_i over the 12 steps of the epoch, ramped up over the first 6: mean < 1/12.
    assert 0 < history['kl_coefficient'][0] < 1.0 / 12


def test_sigterm_saves_a_checkpoint_and_exits_130(tmp_path):
    out = str(tmp_path / 'term')
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    proc = subprocess.Popen(_train_cmd(out, '--epochs', '50'), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (os.path.isdir(out) and tf.train.latest_checkpoint(out)):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert 'interrupted at step' in err and 'continue with --resume' in err
    step = int(err.split('interrupted at step ')[1].split(';')[0])
    assert tf.train.latest_checkpoint(out).endswith('model.ckpt-%d' % step)


def test_diagnostics_every_logs_tables_and_names_kl_dominated_layers(tmp_path, capsys):
    code, out = run(tmp_path, '--diagnostics-every', '12', '--prior-sigma', '0.001',
                    '--epochs', '2', '--hidden', '16', '--eval-samples', '3',
                    '--progress', 'never')
    assert code == 0
    records = read(out, 'diagnostics.json')
    assert [r['step'] for r in records] == [12, 24]
    layer = records[-1]['layers']['model/fc1']
    assert layer['num_params'] == 64 * 16 + 16
    assert layer['kl_to_nll_grad_ratio'] == pytest.approx(
        layer['kl_grad_norm'] / layer['nll_grad_norm'], rel=1e-5)
    printed = capsys.readouterr().out
    assert 'diagnostics at step 24:' in printed and 'KL/NLL' in printed
    # A prior 1000x narrower than the weights: its gradient dominates (the
    # report names exactly the layers whose last ratio exceeds 1).
    dominated = read(out, 'metrics.json')['kl_dominated_layers']
    assert 'model/fc1' in dominated
    assert dominated == [name for name, d in records[-1]['layers'].items()
                         if d['kl_to_nll_grad_ratio'] > 1]
    assert 'the KL gradient outweighs the data gradient in model/fc1' in printed


def test_resume_after_a_crash_between_epoch_log_and_checkpoint(tmp_path):
    """The run logged epoch 2 but its latest checkpoint is from step 18: resuming
    replays steps 19..24 and logs epoch 2 once; --keep-checkpoints counts the
    checkpoints of before the resume too."""
    code, out = run(tmp_path, '--checkpoint-every', '6', '--keep-checkpoints', '2', *QUICK)
    assert code == 0
    for suffix in ('.index', '.data-00000-of-00001', '.meta'):
        os.remove(os.path.join(out, 'model.ckpt-24' + suffix))
    tf.train.update_checkpoint_state(out, 'model.ckpt-18', ['model.ckpt-18'])
    code, _ = run(tmp_path, '--checkpoint-every', '6', '--keep-checkpoints', '1',
                  *(QUICK + ['--resume']))
    assert code == 0
    history = read(out, 'history.json')
    assert history['epoch'] == [1, 2] and history['step'] == [12, 24]
    assert read(out, 'metrics.json')['resumed_from_step'] == 18
    kept = sorted(f for f in os.listdir(out) if f.endswith('.index'))
    assert kept == ['model.ckpt-24.index']  # 18, saved before the resume, was rotated out


def test_history_is_written_with_each_checkpoint(tmp_path, monkeypatch):
    """history.json is rewritten with each checkpoint, not each epoch: 4 epochs of 12
    steps with a checkpoint every 30 steps write it twice (steps 30 and 48), each time
    with every epoch ended so far."""
    written = []
    real = lifecycle.write_json

    def spy(path, value):
        if os.path.basename(path) == 'history.json':
            written.append(list(value['step']))
        real(path, value)

    monkeypatch.setattr(lifecycle, 'write_json', spy)
    code, out = run(tmp_path, '--checkpoint-every', '30', '--epochs', '4', *QUICK[2:])
    assert code == 0
    assert written == [[12, 24], [12, 24, 36, 48]]
    assert read(out, 'history.json')['epoch'] == [1, 2, 3, 4]


def test_a_moved_run_folder_still_resumes_and_exports(tmp_path):
    from tfbnn.cli.export import main as export_main
    code, out = run(tmp_path, *QUICK)
    assert code == 0
    moved = str(tmp_path / 'moved')
    os.rename(out, moved)
    assert export_main([moved, '--mode', 'mean', '--no-saved-model']) == 0
    assert main(['--output-dir', moved, '--resume'] + QUICK[:1] + ['3'] + QUICK[2:]) == 0
    assert read(moved, 'metrics.json')['resumed_from_step'] == 24


@pytest.mark.parametrize('flag,value', [('--batch-size', '64'), ('--seed', '3')])
def test_resume_refuses_a_different_batch_order(tmp_path, capsys, flag, value):
    assert run(tmp_path, *QUICK)[0] == 0
    code, _ = run(tmp_path, *(QUICK + ['--resume', flag, value]))
    assert code == 2 and 'cannot resume: %s was' % flag in capsys.readouterr().err


def test_the_empirical_bayes_prior_trains_with_less_kl_than_a_fixed_normal(tmp_path):
    """--prior empirical_bayes: each weight tensor's KL is the normal KL at the
    stddev that minimises it, so from the same seed its KL stays below N(0, 1)'s
    (per weight about log(s*/sigma) against log(1/sigma) + 0.5 * (mu^2 - 1))."""
    flags = ['--epochs', '1', '--hidden', '16', '--eval-samples', '3', '--progress', 'never',
             '--seed', '3']
    code, eb = run(tmp_path, '--prior', 'empirical_bayes', *flags, name='eb')
    assert code == 0
    code, normal = run(tmp_path, '--prior', 'normal', '--prior-sigma', '1', *flags, name='n')
    assert code == 0
    assert read(eb, 'config.json')['prior'] == 'empirical_bayes'
    kl_eb, kl_normal = read(eb, 'history.json')['kl'][0], read(normal, 'history.json')['kl'][0]
    assert 0 < kl_eb < 0.9 * kl_normal
    assert np.isfinite(read(eb, 'metrics.json')['test_error'])


def test_a_bare_resume_continues_the_run_as_it_was_started(tmp_path, capsys):
    """Flags not given take the saved run's values; given ones still override,
    and what a resume cannot change is refused before anything is written."""
    started = ['--optimizer', 'sgd', '--learning-rate', '0.05', '--lr-schedule', 'cosine',
               '--lr-decay-factor', '0.5', '--hidden', '16', '--eval-samples', '4',
               '--progress', 'never', '--epochs', '2', '--batch-size', '64']
    code, out = run(tmp_path, *started)
    assert code == 0
    before = read(out, 'config.json')
    capsys.readouterr()
    code, _ = run(tmp_path, '--resume')
    said = capsys.readouterr().out
    assert code == 0, said
    assert ("tfbnn: --resume keeps the saved run's --hidden 16, --epochs 2, --batch-size 64, "
            "--learning-rate 0.05, --optimizer sgd, --lr-schedule cosine, --lr-decay-factor 0.5, "
            "--eval-samples 4 (give a flag to change it)") in said  # not this process's bar
    after = read(out, 'config.json')
    process = ('resume', 'progress')  # this process's, not the run's
    assert {k: v for k, v in after.items() if k not in process} == {
        k: v for k, v in before.items() if k not in process}
    # A flag given overrides; one a resume cannot take is refused, config.json untouched.
    code, _ = run(tmp_path, '--resume', '--epochs', '4')
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1, err
    assert 'cosine over 2 in the saved run, now cosine over 4' in err
    assert read(out, 'config.json') == after
    code, _ = run(tmp_path, '--resume', '--eval-samples', '6')
    assert code == 0 and read(out, 'metrics.json')['eval_samples'] == 6
    assert read(out, 'config.json')['eval_samples'] == 6
