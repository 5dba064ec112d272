"""tfbnn/reproduce/ood.py: a tiny MNIST-format set, its built-in OOD kinds and a folder."""
import pytest

from tfbnn.errors import DataError
from tfbnn.internal.jsonio import read_json
from tfbnn.reproduce import ood
from tests.training.test_train_job import mnist_fixture


def test_scores_every_builtin_kind_and_the_folders_given(tmp_path):
    mnist_fixture(str(tmp_path / 'mnist'))
    mnist_fixture(str(tmp_path / 'other'), seed=1)
    lines = []
    record = ood.reproduce_ood(str(tmp_path / 'mnist'), str(tmp_path / 'out'), lines.append,
                               ood_dirs=[str(tmp_path / 'other')], epochs=1)
    assert sorted(record['sets']) == ['inverted', 'noise', 'other', 'permuted', 'photos']
    for scores in record['sets'].values():
        assert 0.0 <= scores['auroc_mi'] <= 1.0 and scores['examples'] == 20
    assert record['protocol']['hidden'] == [400, 400] and record['metrics']['epochs'] == 1
    assert read_json(str(tmp_path / 'out' / 'ood.json'))['sets'] == record['sets']
    assert len(lines) == 6


def test_a_missing_folder_is_a_data_error_naming_it(tmp_path):
    mnist_fixture(str(tmp_path / 'mnist'))
    with pytest.raises(DataError, match='missing'):
        ood.reproduce_ood(str(tmp_path / 'mnist'), str(tmp_path / 'out'), print,
                          ood_dirs=[str(tmp_path / 'missing')], epochs=1)
