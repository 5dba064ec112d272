"""The training job's validation split: --validation-size, --validate-every
(early stopping on validation), --no-test-eval and --pixel-scale."""
import os

import numpy as np
import pytest

from tests.training.test_train_job import QUICK, mnist_fixture, read, run, write_idx
from tfbnn.data import read_idx
from tfbnn.run_config import RunConfig


def _val_errors(out):
    history = read(out, 'history.json')
    return [(e, v) for e, v in zip(history['epoch'], history['val_error']) if v is not None]


def test_validate_every_keeps_and_evaluates_the_best_epoch(tmp_path):
    code, out = run(tmp_path, '--epochs', '4', '--hidden', '16', '--eval-samples', '20',
                    '--progress', 'never', '--validation-size', '0.2', '--validate-every', '1',
                    '--learning-rate', '0.003')
    assert code == 0
    scored = _val_errors(out)
    assert [e for e, _ in scored] == [1, 2, 3, 4]
    history = read(out, 'history.json')
    assert all(v is not None for k in ('val_ece', 'val_confidence') for v in history[k])
    best_epoch, best = min(scored, key=lambda p: (p[1], p[0]))
    metrics = read(out, 'metrics.json')
    assert metrics['selected_epoch'] == best_epoch and metrics['selected_on'] == 'val_error'
    # The evaluation used the restored best weights: the same validation
    # error up to the predictive's Monte Carlo noise (20 fresh draws; 287
    # examples, a few of which sit near the decision boundary).
    assert metrics['val_error'] == pytest.approx(best, abs=0.03)
    record = read(os.path.join(out, 'best'), 'best.json')
    assert record['epoch'] == best_epoch and os.path.exists(
        os.path.join(out, record['checkpoint'] + '.index'))
    assert 'test_error' in metrics
    dataset = read(out, 'dataset.json')
    assert 'validation: the last 287 of the 1437 training examples' in dataset['description']


def test_patience_stops_after_validations_without_improvement(tmp_path, capsys):
    # A step size this small and posterior scales this narrow leave the
    # validation error where it is (no Monte Carlo noise to 'improve' it), so
    # epoch 1 stays the best and two stale validations stop the run.
    code, out = run(tmp_path, '--epochs', '10', '--hidden', '16', '--eval-samples', '2',
                    '--progress', 'never', '--validation-size', '0.2', '--validate-every', '1',
                    '--patience', '2', '--learning-rate', '1e-7',
                    '--posterior-init-scale', '1e-4')
    assert code == 0
    metrics = read(out, 'metrics.json')
    scored = _val_errors(out)
    assert len(scored) == 3 and scored[0][1] <= min(v for _, v in scored)
    assert metrics['stopped_early'] and not metrics['completed']
    assert metrics['epochs'] == 3.0 and metrics['selected_epoch'] == 1
    assert 'early stopping at epoch 3: no better val_error in the last 2 validations' in \
        capsys.readouterr().out


def test_no_test_eval_reports_validation_only(tmp_path):
    code, out = run(tmp_path, *QUICK, '--validation-size', '100', '--no-test-eval')
    assert code == 0
    metrics = read(out, 'metrics.json')
    assert 'val_error' in metrics and 'val_nll' in metrics
    # ECE = sum_b n_b / n |acc_b - conf_b| >= |accuracy - mean confidence|.
    assert 0.0 < metrics['val_confidence'] <= 1.0
    assert abs(1.0 - metrics['val_error'] - metrics['val_confidence']) <= \
        metrics['val_ece'] + 1e-9
    assert not any(k.startswith('test_') for k in metrics)


def test_no_test_eval_scores_an_ood_folder_against_the_validation_images(tmp_path):
    """--ood-data-dir with --no-test-eval: val_ood_auroc_* of the folder's
    images against the validation split. A folder holding the validation
    images themselves is the same distribution: AUROC near 1/2 (100 against
    100, one standard error about 0.04)."""
    mnist = mnist_fixture(tmp_path / 'mnist', n_train=300)
    images = read_idx(os.path.join(mnist, 'train-images-idx3-ubyte.gz'))
    os.makedirs(str(tmp_path / 'same'))
    write_idx(str(tmp_path / 'same' / 't10k-images-idx3-ubyte.gz'), images[-100:], 2051)
    code, out = run(tmp_path, '--dataset', 'mnist', '--data-dir', mnist, '--ood-data-dir',
                    str(tmp_path / 'same'), '--validation-size', '100', '--no-test-eval',
                    '--batch-size', '32', *QUICK)
    assert code == 0
    metrics = read(out, 'metrics.json')
    assert not any(k.startswith('test_') or k.startswith('ood_') for k in metrics)
    for key in ('val_ood_auroc_mi', 'val_ood_auroc_entropy'):
        assert abs(metrics[key] - 0.5) < 0.2, metrics


def test_resume_keeps_the_best_record_of_the_earlier_epochs(tmp_path):
    flags = ['--hidden', '16', '--eval-samples', '4', '--progress', 'never',
             '--validation-size', '0.2', '--validate-every', '1']
    assert run(tmp_path, *flags, '--epochs', '2')[0] == 0
    code, out = run(tmp_path, *flags, '--epochs', '4', '--resume')
    assert code == 0
    scored = _val_errors(out)
    assert [e for e, _ in scored] == [1, 2, 3, 4]
    assert read(out, 'metrics.json')['selected_epoch'] == min(
        scored, key=lambda p: (p[1], p[0]))[0]


def test_a_resume_without_its_best_record_counts_no_stale_validation(tmp_path, capsys):
    """best/ moved aside (the advice for a damaged one): the history's
    validations are not counted against --patience, and the next validation
    is the best, instead of a stop that named no best epoch (a TypeError)."""
    import shutil
    flags = ['--hidden', '16', '--eval-samples', '2', '--progress', 'never',
             '--validation-size', '0.2', '--validate-every', '2', '--patience', '5']
    code, out = run(tmp_path, *flags, '--epochs', '4')
    assert code == 0
    shutil.move(os.path.join(out, 'best'), str(tmp_path / 'best-aside'))
    code, out = run(tmp_path, '--resume', '--epochs', '6', '--patience', '1')
    assert code == 0, capsys.readouterr().err
    assert read(out, 'metrics.json')['selected_epoch'] == 6
    assert read(os.path.join(out, 'best'), 'best.json')['epoch'] == 6


def test_best_folder_keeps_only_the_recorded_checkpoint_across_resumes(tmp_path):
    # The saver deletes only the checkpoints it wrote itself: the best
    # weights left by an earlier process must go once they are superseded.
    import shutil
    flags = ['--hidden', '16', '--eval-samples', '4', '--progress', 'never',
             '--validation-size', '0.2', '--validate-every', '1']
    assert run(tmp_path, *flags, '--epochs', '2')[0] == 0
    best = tmp_path / 'run' / 'best'
    record = read(str(best), 'best.json')
    for path in best.glob(os.path.basename(record['checkpoint']) + '.*'):
        shutil.copy(str(path), str(path).replace('model.ckpt-', 'model.ckpt-1'))  # a leftover
    code, out = run(tmp_path, *flags, '--epochs', '4', '--resume')
    assert code == 0
    record = read(str(best), 'best.json')
    kept = {p.name for p in best.iterdir()} - {'best.json', 'checkpoint'}
    assert kept and {name.split('.')[1] for name in kept} == {
        os.path.basename(record['checkpoint']).split('.')[1]}
    assert read(out, 'metrics.json')['selected_epoch'] == record['epoch']


def test_a_best_record_from_a_replayed_future_is_dropped_with_its_files(tmp_path):
    from tfbnn.training import early_stopping
    flags = ['--hidden', '16', '--eval-samples', '4', '--progress', 'never',
             '--validation-size', '0.2', '--validate-every', '1']
    assert run(tmp_path, *flags, '--epochs', '2')[0] == 0
    best = str(tmp_path / 'run' / 'best')
    record = read(best, 'best.json')
    graph = type('G', (), dict(best_saver=None, total_steps=100))()
    dataset = type('D', (), dict(task='classification'))()
    config = RunConfig(output_dir=str(tmp_path / 'run'), validation_size=0.2, validate_every=1)
    keeper = early_stopping.BestCheckpoint(graph, dataset, config, record['step'] - 1, {})
    assert keeper.record is None
    assert os.listdir(best) == []  # the state file went with the checkpoints it listed


def test_uci_validation_scores_log_likelihood(tmp_path):
    from tests.training.test_train_job import uci_fixture
    folder = uci_fixture(str(tmp_path / 'uci'))
    code, out = run(tmp_path, '--dataset', 'uci', '--data-dir', folder, *QUICK,
                    '--validation-size', '0.25', '--validate-every', '1')
    assert code == 0
    metrics = read(out, 'metrics.json')
    assert metrics['selected_on'] == 'val_ll' and np.isfinite(metrics['val_ll'])
    assert metrics['val_rmse'] > 0 and 'rmse' in metrics


def test_pixel_scale_divides_mnist_bytes(tmp_path):
    folder = mnist_fixture(str(tmp_path / 'mnist'))
    code, out = run(tmp_path, '--dataset', 'mnist', '--data-dir', folder, *QUICK,
                    '--pixel-scale', '126')
    assert code == 0
    assert read(out, 'dataset.json')['description'].endswith('28x28 pixels / 126')


def _sort_by_class(folder):
    """Rewrites the training IDX files of `folder` in class order (a stable sort)."""
    images, labels = (read_idx(os.path.join(folder, 'train-%s-idx%d-ubyte.gz' % kind))
                      for kind in (('images', 3), ('labels', 1)))
    order = np.argsort(labels, kind='stable')
    write_idx(os.path.join(folder, 'train-images-idx3-ubyte.gz'), images[order], 2051)
    write_idx(os.path.join(folder, 'train-labels-idx1-ubyte.gz'), labels[order], 2049)
    return np.sort(labels)


def test_a_validation_split_lacking_classes_is_warned_of(tmp_path, capsys):
    """A training file sorted by class leaves its last classes to the validation
    split: the job says so in one line (the split stays as it is)."""
    folder = mnist_fixture(str(tmp_path / 'mnist'), n_train=60)
    labels = _sort_by_class(folder)
    assert labels[50:].tolist() == [8] * 4 + [9] * 6 and set(labels[:50]) == set(range(9))
    assert np.sum(read_idx(os.path.join(folder, 't10k-labels-idx1-ubyte.gz')) == 9) == 1
    code, out = run(tmp_path, '--dataset', 'mnist', '--data-dir', folder, *QUICK,
                    '--validation-size', '10')
    assert code == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if 'warning' in line]
    assert warnings == [
        'tfbnn: warning: no training example for 1 of the 10 classes (class 9; 6 examples in '
        'the validation split; 1 example in the test split), so the network never learns '
        'them and counts each of their examples as an error: class 9 only in the validation '
        'split (the last training examples, in file order): shuffle the training file',
        'tfbnn: warning: the validation split (the last 10 training examples, in file order) '
        'has examples of 1 of the 9 classes of the 50 examples left to train on (none of '
        'class 0, 1, 2, 3, 4, 5, 6, 7): early stopping and model choice judge on a skewed '
        'set; shuffle the training file']
    with open(os.path.join(out, 'train.log')) as f:
        assert set(warnings) <= set(f.read().splitlines())
    np.testing.assert_array_equal(read(out, 'metrics.json')['epochs'], 2.0)


def test_a_shuffled_set_gets_no_class_warning(tmp_path, capsys):
    code, _ = run(tmp_path, *QUICK, '--validation-size', '0.2')  # digits: 287 mixed examples
    assert code == 0 and 'warning' not in capsys.readouterr().out


@pytest.mark.parametrize('flags,message', [
    (['--validate-every', '2'], '--validate-every needs a validation split'),
    (['--patience', '3'], '--patience counts validations: it needs --validate-every'),
    (['--no-test-eval'], '--no-test-eval needs a validation split'),
    (['--pixel-scale', '126'], "--pixel-scale applies to --dataset mnist only, got dataset "
                               "'digits'"),
    (['--validation-size', '-1'], '--validation-size must be 0 \\(none\\)'),
    (['--validation-size', '2.5'], 'whole number of examples'),
    (['--validation-size', '1437'], 'asks for 1437 of the 1437 training examples'),
])
def test_bad_validation_flags_exit_2(tmp_path, capsys, flags, message):
    code, _ = run(tmp_path, *QUICK, *flags)
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('tfbnn-train: error: ')
    assert __import__('re').search(message, err[0]), err[0]
