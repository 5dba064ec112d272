"""tfbnn/reproduce/uci.py: the protocol on a tiny fixture, and the statistics."""
import json
import os

import numpy as np
import pytest

from tfbnn._jsonio import read_json
from tfbnn.errors import DataError
from tfbnn.reproduce import uci


def _fixture(folder, splits=2, rows=60, seed=0):
    rng = np.random.RandomState(seed)
    os.makedirs(folder)
    x = rng.randn(rows, 2)
    y = 3.0 * x[:, 0] + 0.2 * rng.randn(rows)
    np.savetxt(os.path.join(folder, 'data.txt'), np.column_stack([x, y]))
    np.savetxt(os.path.join(folder, 'index_features.txt'), [0, 1], fmt='%d')
    np.savetxt(os.path.join(folder, 'index_target.txt'), [2], fmt='%d')
    for k in range(splits):
        perm = rng.permutation(rows)
        np.savetxt(os.path.join(folder, 'index_train_%d.txt' % k), perm[:54], fmt='%d')
        np.savetxt(os.path.join(folder, 'index_test_%d.txt' % k), perm[54:], fmt='%d')


def test_mean_and_standard_error():
    values = [1.0, 2.0, 4.0, 7.0]
    mean, se = uci.mean_and_se(values)
    assert mean == 3.5
    assert se == pytest.approx(np.std(values, ddof=1) / 2.0)


def test_protocol_on_a_tiny_set(tmp_path):
    data = tmp_path / 'data'
    _fixture(str(data / 'toyset'))
    record = uci.reproduce_uci(str(data), str(tmp_path / 'out'), lambda line: None,
                               sets=['toyset'], select_splits=1, num_splits=2,
                               candidates=((1e-2, 16), (1e-3, 16)), max_epochs=4,
                               validate_every=2)
    assert read_json(str(tmp_path / 'out' / 'uci.json')) == json.loads(json.dumps(record))
    result = record['sets']['toyset']
    # One row per (candidate, scored epoch), each scored on the one split.
    assert sorted((r['learning_rate'], r['epochs']) for r in result['selection']) == [
        (1e-3, 2), (1e-3, 4), (1e-2, 2), (1e-2, 4)]
    best = max(result['selection'], key=lambda r: r['val_ll'])
    assert result['chosen']['choice'] == best
    assert result['epochs40']['choice']['epochs'] == 4
    chosen = result['chosen']
    assert len(chosen['splits']) == 2
    mean, se = uci.mean_and_se([s['test_ll'] for s in chosen['splits']])
    assert chosen['test_ll'] == mean and chosen['test_ll_se'] == se
    assert all(np.isfinite(s['rmse']) and s['rmse'] > 0 for s in chosen['splits'])
    # The selection runs never evaluated the test rows.
    metrics = read_json(os.path.join(str(tmp_path / 'out' / 'toyset' / 'select'),
                                     'lr0.01_b16_split0', 'metrics.json'))
    assert 'rmse' not in metrics and 'val_ll' in metrics


def test_missing_set_folder(tmp_path):
    with pytest.raises(DataError, match='no folder for yacht'):
        uci.reproduce_uci(str(tmp_path), str(tmp_path / 'out'), print, sets=['yacht'])


def test_epochs_must_be_scored(tmp_path):
    _fixture(str(tmp_path / 'd' / 's'))
    with pytest.raises(ValueError, match='multiple of validate_every'):
        uci.reproduce_uci(str(tmp_path / 'd'), str(tmp_path / 'out'), print, sets=['s'],
                          max_epochs=5, validate_every=2)
