"""tfbnn/reproduce/pruning.py: SNR pruning of a trained run, scored by the mean net."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn import export, run_config
from tfbnn.errors import CheckpointError
from tfbnn.internal.jsonio import read_json
from tfbnn.internal.posterior_scale import SCALE_FLOOR
from tfbnn.reproduce.pruning import reproduce_pruning
from tfbnn.training import train


def _trained(tmp_path, **extra):
    out = str(tmp_path / 'run')
    config = dict(dataset='digits', hidden=[16], epochs=3, eval_samples=2, progress='never',
                  learning_rate=0.01, output_dir=out)
    config.update(extra)
    train(config, stream=open(str(tmp_path / 'log.txt'), 'w'))
    return out


def test_fractions_remove_the_lowest_snr_weights(tmp_path):
    out = _trained(tmp_path, validation_size=0.2, validate_every=1)
    lines = []
    record = reproduce_pruning(out, str(tmp_path / 'p.json'), lines.append,
                               fractions=(0.0, 0.5, 0.9), plot_path=str(tmp_path / 'p.png'))
    assert read_json(str(tmp_path / 'p.json'))['rows'] == record['rows']
    rows = record['rows']
    total = 64 * 16 + 16 * 10
    assert [r['total'] for r in rows] == [total] * 3
    assert rows[0]['pruned'] == 0 and rows[0]['test_error_change'] == 0.0
    for row in rows[1:]:  # one threshold over all layers: the quantile, up to ties
        assert row['fraction'] * total - 1 <= row['pruned'] <= row['fraction'] * total + 2
    assert rows[1]['snr_threshold'] < rows[2]['snr_threshold']
    # Each layer's share kept, weighted by its size, is what the cut left overall.
    sizes = {'model/fc1': 64 * 16, 'model/output': 16 * 10}
    assert rows[0]['kept_by_layer'] == {'model/fc1': 1.0, 'model/output': 1.0}
    for row in rows:
        assert sorted(row['kept_by_layer']) == sorted(sizes)
        kept = sum(sizes[layer] * share for layer, share in row['kept_by_layer'].items())
        assert kept == pytest.approx(total - row['pruned'], abs=1e-6)
    assert all('val_error' in r for r in rows) and len(lines) == 3
    # The unpruned score is the posterior-mean network's error, independently.
    run = export.load_run(out, record['checkpoint'])
    inference = export.build_inference_graph(run, 'mean')
    data = run_config.load_data(run.config)
    with tf.Session(graph=inference.graph) as sess:
        export.restore(sess, inference, run.checkpoint)
        probs = sess.run(inference.outputs['mean_probs'], {inference.input: data.x_test})
    assert rows[0]['test_error'] == pytest.approx(
        100.0 * np.mean(probs.argmax(1) != data.y_test))
    # Each layer's sigma quantiles, before pruning, from the checkpoint's rho by hand.
    reader = tf.train.load_checkpoint(record['checkpoint'])
    assert sorted(record['sigma_quantiles']) == ['model/fc1', 'model/output']
    for layer, quantiles in record['sigma_quantiles'].items():
        sigma = np.log1p(np.exp(reader.get_tensor(layer + '/kernel_rho').astype(np.float64)))
        sigma += SCALE_FLOOR  # sigma = softplus(rho) + floor
        for q in (0.1, 0.5, 0.9):
            assert quantiles['%g' % q] == pytest.approx(np.quantile(sigma, q), rel=1e-5)
    assert record['checkpoint'].startswith(out) and '/best/' in record['checkpoint']
    assert (tmp_path / 'p.png').stat().st_size > 1000
    latest = reproduce_pruning(out, str(tmp_path / 'q.json'), print, fractions=(0.0,),
                               checkpoint='latest')
    assert latest['which'] == 'latest' and '/best/' not in latest['checkpoint']
    with pytest.raises(ValueError, match="checkpoint must be one of"):
        reproduce_pruning(out, str(tmp_path / 'q.json'), print, checkpoint='first')


def test_regression_runs_and_bad_fractions_are_refused(tmp_path):
    out = _trained(tmp_path, dataset='toy_regression', epochs=1)
    with pytest.raises(CheckpointError, match='is a regression run; pruning reproduces a '
                                              'classifier'):
        reproduce_pruning(out, str(tmp_path / 'p.json'), print)
    with pytest.raises(ValueError, match='fractions must increase within'):
        reproduce_pruning(out, str(tmp_path / 'p.json'), print, fractions=(0.5, 0.2))
    with pytest.raises(CheckpointError, match='does not exist'):
        reproduce_pruning(str(tmp_path / 'nothing'), str(tmp_path / 'p.json'), print)
