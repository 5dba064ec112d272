"""--warm-start and --prune-fraction: a new run from another run's weights, pruned or not."""
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn import layers
from tfbnn.cli.train import main
from tfbnn.errors import CheckpointError
from tfbnn.internal import checkpoint_reader
from tfbnn.training import warm_start
from tests.training.test_train_job import QUICK, read

KERNELS = ('model/fc1', 'model/output')  # QUICK's --hidden 16


def _train(tmp_path, name, *flags):
    out = str(tmp_path / name)
    return main(['--output-dir', out] + QUICK + list(flags)), out


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A finished 2-epoch digits run (the start of every warm start here)."""
    tmp = tmp_path_factory.mktemp('warm')
    code, out = _train(tmp, 'base', '--validation-size', '0.2', '--validate-every', '1')
    assert code == 0
    return out


def _kernels(checkpoint):
    reader = checkpoint_reader.reader(checkpoint)
    return {k: (reader.get_tensor(k + '/kernel_loc'), reader.get_tensor(k + '/kernel_rho'))
            for k in KERNELS}


def test_resolve_takes_the_best_checkpoint_of_a_run_dir_or_a_checkpoint_as_given(trained,
                                                                               tmp_path):
    best = warm_start.resolve(trained)
    assert os.path.dirname(best) == os.path.join(trained, 'best')
    latest = tf.train.latest_checkpoint(trained)
    assert warm_start.resolve(latest) == latest
    with pytest.raises(CheckpointError, match='--warm-start: cannot read checkpoint'):
        warm_start.resolve(str(tmp_path / 'nothing.ckpt'))
    os.makedirs(str(tmp_path / 'empty'))
    with pytest.raises(CheckpointError, match='no checkpoint in'):
        warm_start.resolve(str(tmp_path / 'empty'))


def test_model_variables_leave_out_the_optimizer_slots(fresh_graph):
    with tf.variable_scope('model'):
        out = layers.dense(tf.zeros([2, 3]), 2, name='fc')
    with tf.variable_scope('model_ema'):  # another scope, not the model's
        layers.dense(tf.zeros([2, 3]), 2, name='fc')
    tf.train.MomentumOptimizer(0.1, 0.9).minimize(tf.reduce_sum(out))
    names = [v.op.name for v in warm_start.model_variables('model')]
    assert names == ['model/fc/kernel_loc', 'model/fc/kernel_rho', 'model/fc/bias_loc',
                     'model/fc/bias_rho']
    assert any('Momentum' in v.op.name for v in tf.global_variables('model'))


def test_a_warm_start_begins_at_the_run_s_weights_with_a_fresh_step(trained, tmp_path):
    code, out = _train(tmp_path, 'ws', '--warm-start', trained, '--epochs', '1',
                       '--learning-rate', '1e-12')
    assert code == 0
    metrics = read(out, 'metrics.json')
    assert metrics['steps'] == 12 and metrics['pruned_fraction'] == 0.0
    with open(os.path.join(out, 'train.log')) as f:
        assert 'warm start from %s' % warm_start.resolve(trained) in f.read()
    before = _kernels(warm_start.resolve(trained))
    after = _kernels(tf.train.latest_checkpoint(out))
    for k in KERNELS:  # a vanishing rate: the weights are the start's
        np.testing.assert_allclose(after[k][0], before[k][0], atol=1e-6)


def test_pruned_weights_stay_removed_through_training_and_resume(trained, tmp_path):
    code, out = _train(tmp_path, 'pruned', '--warm-start', trained, '--prune-fraction', '0.9',
                       '--optimizer', 'momentum', '--learning-rate', '0.05')
    assert code == 0
    fraction = read(out, 'metrics.json')['pruned_fraction']
    start = _kernels(warm_start.resolve(trained))
    end = _kernels(tf.train.latest_checkpoint(out))
    total = sum(loc.size for loc, _ in start.values())
    pruned = sum(int(np.isneginf(rho).sum()) for _, rho in end.values())
    assert pruned == int(round(fraction * total))
    assert fraction == pytest.approx(0.9, abs=1.0 / total)  # the quantile's cut, give or take one
    for k in KERNELS:
        loc, rho = end[k]
        gone = np.isneginf(rho)
        assert np.all(loc[gone] == 0.0)
        moved = np.abs(loc[~gone] - start[k][0][~gone]).max()
        assert moved > 1e-4  # the kept weights trained
    # A resume continues the run: nothing is pruned again, nothing comes back.
    code, _ = _train(tmp_path, 'pruned', '--warm-start', trained, '--prune-fraction', '0.9',
                     '--optimizer', 'momentum', '--learning-rate', '0.05', '--resume',
                     '--epochs', '3')
    assert code == 0
    metrics = read(out, 'metrics.json')
    assert metrics['resumed_from_step'] == 24 and metrics['pruned_fraction'] == fraction
    with open(os.path.join(out, 'train.log')) as f:
        assert f.read().count('tfbnn: pruned ') == 1


@pytest.mark.parametrize('flags,message', [
    (['--prune-fraction', '0.5'], '--prune-fraction 0.5 needs --warm-start'),
    (['--warm-start', 'x', '--prune-fraction', '1'],
     '--prune-fraction must be a number in [0, 1), got 1.0'),
    (['--warm-start', 'x', '--init-from', 'y'], '--warm-start and --init-from: choose one'),
    (['--warm-start', '/nonexistent/run'], '--warm-start: cannot read checkpoint '
                                           '/nonexistent/run: no such file or folder (give a '
                                           'checkpoint prefix such as run/model.ckpt-100, whose '
                                           '.index file exists; or a run directory)'),
])
def test_warm_start_user_errors_exit_2_with_one_line(tmp_path, capsys, flags, message):
    code, _ = _train(tmp_path, 'bad', *flags)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith('tfbnn-train: error: ') and message in err
    assert err.count('\n') == 1 and 'Traceback' not in err


def test_a_run_of_another_model_is_refused_naming_the_variable(trained, tmp_path, capsys):
    code, _ = _train(tmp_path, 'wide', '--warm-start', trained, '--hidden', '8')
    err = capsys.readouterr().err
    assert code == 2
    assert 'model/fc1/kernel_loc has shape [64, 16] in' in err and 'the model needs [64, 8]' \
        in err
    code, _ = _train(tmp_path, 'deep', '--warm-start', trained, '--hidden', '16,16')
    err = capsys.readouterr().err
    assert code == 2 and 'has no variable model/fc2/kernel_loc' in err
    # The other way round: a deeper run's checkpoint would lose its second layer.
    deep = _train(tmp_path, 'deep_source', '--hidden', '16,16')[1]
    capsys.readouterr()
    code, _ = _train(tmp_path, 'shallow', '--warm-start', deep)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert ('holds model/fc2/bias_loc (and 3 more), which this model has not: it was written by '
            'another model' in err[0]), err


def test_a_latest_checkpoint_without_its_index_is_passed_over_aloud(tmp_path, capsys):
    """The state names model.ckpt-N, whose .index is gone: the warm start
    takes the newest complete one and says which it passed over."""
    import glob
    code, source = _train(tmp_path, 'source', '--checkpoint-every', '23')
    assert code == 0
    newest = sorted(glob.glob(os.path.join(source, 'model.ckpt-*.index')),
                    key=lambda p: int(p.split('-')[-1].split('.')[0]))
    assert len(newest) >= 2
    os.remove(newest[-1])
    capsys.readouterr()
    code, _ = _train(tmp_path, 'warm', '--warm-start', source)
    out = capsys.readouterr().out
    assert code == 0
    dropped, taken = (os.path.basename(p)[:-len('.index')] for p in newest[-1:-3:-1])
    assert ('tfbnn: --warm-start: %s, which the checkpoint state names, has no .index file '
            '(incomplete or deleted): the newest complete one, %s, is taken' % (dropped, taken)
            in out), out
