"""tfbnn/reproduce/runner.py: runs through the job, choice on validation only."""
import pytest

from tfbnn.errors import ConfigError
from tfbnn.reproduce import runner

TINY = dict(dataset='digits', hidden=[8], epochs=2, eval_samples=2, validation_size=0.2,
            evaluate_test=False)


def test_select_ranks_on_validation_and_never_sees_test(tmp_path):
    lines = []
    candidates = [('slow', dict(learning_rate=1e-5)), ('fast', dict(learning_rate=3e-2))]
    chosen, records = runner.select(candidates, TINY, str(tmp_path), lines.append)
    scores = {r['name']: r['score'] for r in records}
    assert chosen == min(scores, key=scores.get) == 'fast'
    assert all(r['score_key'] == 'val_error' for r in records)
    assert len(lines) == 2 and 'best so far fast' in lines[1]
    metrics = runner.run(dict(TINY, output_dir=str(tmp_path / 'again')))
    assert not any(k.startswith('test_') for k in metrics)
    assert metrics['wall_seconds'] > 0


def test_select_refuses_a_base_without_validation(tmp_path):
    with pytest.raises(ValueError, match='candidates are ranked on validation data, never on '
                                         'the test set'):
        runner.select([('a', {})], dict(TINY, validation_size=0), str(tmp_path), print)


def test_select_refuses_repeated_names(tmp_path):
    with pytest.raises(ValueError, match="candidate names repeat"):
        runner.select([('a', {}), ('a', {})], TINY, str(tmp_path), print)


def test_select_ranks_a_regression_npz_set_on_validation_log_likelihood(tmp_path):
    # The task comes from what the runs measured, not from the dataset's name:
    # an npz archive with real-valued targets is ranked on val_ll.
    import numpy as np
    rng = np.random.RandomState(0)
    x = rng.randn(60, 3).astype(np.float32)
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.randn(60)
    path = str(tmp_path / 'reg.npz')
    np.savez(path, x_train=x[:50], y_train=y[:50], x_test=x[50:], y_test=y[50:])
    base = dict(TINY, dataset='npz', data_dir=path, batch_size=8)
    chosen, records = runner.select([('a', dict(learning_rate=1e-2)),
                                     ('b', dict(learning_rate=1e-5))],
                                    base, str(tmp_path / 'runs'), lambda line: None)
    assert [r['score_key'] for r in records] == ['val_ll', 'val_ll']
    scores = {r['name']: r['score'] for r in records}
    assert chosen == max(scores, key=scores.get)


def test_a_run_scored_on_test_serves_a_validation_only_request_but_not_the_reverse(tmp_path):
    out = str(tmp_path / 'run')
    first = runner.run(dict(TINY, output_dir=out), reuse=True)
    assert 'test_error' not in first
    # Validation only, then asked with the test set: resumed (no step left) and scored on test.
    tested = runner.run(dict(TINY, output_dir=out, evaluate_test=True), reuse=True)
    assert 'test_error' in tested and tested['steps'] == first['steps']
    # Asked again for validation only: the tested run is returned as it is.
    again = runner.run(dict(TINY, output_dir=out), reuse=True)
    assert again == tested
    # Another option is another run: resumed, so the tested metrics do not serve it.
    other = runner.run(dict(TINY, output_dir=out, eval_samples=3), reuse=True)
    assert 'test_error' not in other


def test_a_reused_run_waits_while_another_holder_has_its_lock(tmp_path):
    import threading
    import time
    from tfbnn.internal.file_lock import exclusive_lock
    held, release = threading.Event(), threading.Event()

    def hold():  # as a process training the same run would
        with exclusive_lock(str(tmp_path / '.run.lock')):
            held.set()
            release.wait(60)
    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(60)
    threading.Timer(1.5, release.set).start()
    begin = time.time()
    metrics = runner.run(dict(TINY, output_dir=str(tmp_path / 'run')), reuse=True)
    assert time.time() - begin - metrics['wall_seconds'] > 1.0  # it waited for the holder
    assert release.is_set() and metrics['epochs'] == 2
    holder.join(60)
    # Unlocked again: the next call returns the recorded run at once.
    assert runner.run(dict(TINY, output_dir=str(tmp_path / 'run')), reuse=True) == metrics


def test_a_run_on_changed_data_is_not_reused_nor_resumed(tmp_path):
    """The options hold --data-dir's path only: a run whose files changed
    since it started is refused in one line, finished or not."""
    import numpy as np
    rng = np.random.RandomState(0)
    path = str(tmp_path / 'set.npz')

    def write(scale):
        x = rng.randn(60, 3).astype(np.float32)
        np.savez(path, x_train=x[:40], y_train=scale * x[:40, 0], x_test=x[40:],
                 y_test=scale * x[40:, 0])
    write(1.0)
    options = dict(TINY, dataset='npz', data_dir=path, output_dir=str(tmp_path / 'run'))
    first = runner.run(options, reuse=True)
    assert runner.run(options, reuse=True) == first  # the same files: reused
    write(100.0)
    with pytest.raises(ConfigError, match=r'cannot reuse the run in .*run: the data read from '
                                          r'--data-dir .*set.npz changed since it started; '
                                          'remove that folder'):
        runner.run(options, reuse=True)
    # A new folder trains on the data as it is now.
    assert runner.run(dict(options, output_dir=str(tmp_path / 'new')), reuse=True) != first


def test_a_run_another_tensorflow_made_is_not_reused(tmp_path):
    import tensorflow.compat.v1 as tf
    from tfbnn.internal.jsonio import write_json
    out = tmp_path / 'run'
    out.mkdir()
    write_json(str(out / runner.DATA_FILE), dict(sha256='', tensorflow='0.1.0'))
    with pytest.raises(ConfigError, match="it was made with TensorFlow 0.1.0, this is %s; "
                                          "choose another folder for this stack's runs"
                                          % tf.__version__):
        runner.run(dict(TINY, output_dir=str(out)), reuse=True)
