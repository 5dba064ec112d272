"""tfbnn/reproduce/ood.py: a tiny MNIST-format set, its built-in OOD kinds and a folder."""
import os
import re

import numpy as np
import pytest

from tfbnn import data
from tfbnn.data import glyphs
from tfbnn.errors import ConfigError, DataError
from tfbnn.internal.jsonio import read_json
from tfbnn.reproduce import ood
from tests.training.test_train_job import mnist_fixture, write_idx


def test_scores_every_builtin_kind_and_the_folders_given(tmp_path):
    mnist_fixture(str(tmp_path / 'mnist'))
    mnist_fixture(str(tmp_path / 'other'), seed=1)
    lines = []
    record = ood.reproduce_ood(str(tmp_path / 'mnist'), str(tmp_path / 'out'), lines.append,
                               ood_dirs=[str(tmp_path / 'other')], epochs=1)
    assert sorted(record['sets']) == ['inverted', 'letters', 'noise', 'other', 'permuted', 'photos']
    for scores in record['sets'].values():
        assert 0.0 <= scores['auroc_mi'] <= 1.0 and scores['examples'] == 20
    assert record['protocol']['hidden'] == [400, 400] and record['metrics']['epochs'] == 1
    assert read_json(str(tmp_path / 'out' / 'ood.json'))['sets'] == record['sets']
    assert os.path.getsize(str(tmp_path / 'out' / ood.FIGURE)) > 1000
    assert len(lines) == 7
    by_letter = record['sets']['letters']['by_letter']
    assert set(by_letter) <= set('ABCDEFGHIJ')
    assert sum(r['examples'] for r in by_letter.values()) == 20


def test_letter_scores_by_hand():
    inside = dict(entropy=np.array([0.1, 0.2, 0.3, 0.4]),
                  mutual_information=np.array([0.0, 0.1, 0.2, 0.3]))
    outside = dict(entropy=np.array([0.5, 0.15, 0.6, 0.05, 0.9]),
                   mutual_information=np.array([0.35, 0.05, 0.25, 0.01, 0.4]),
                   mean_probs=np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4],
                                        [0.2, 0.8]]))
    labels = np.array([0, 1, 0, 1, 0])  # A, B, A, B, A; no C
    scores = ood.letter_scores(inside, outside, labels, letters='ABC')
    assert sorted(scores) == ['A', 'B']
    # A: entropies 0.5, 0.6, 0.9 above all four inside: AUROC 1. MI 0.35, 0.25, 0.4 beat
    # 4, 3 and 4 of the inside values: 11 / 12.
    assert scores['A']['auroc_entropy'] == pytest.approx(1.0)
    assert scores['A']['auroc_mi'] == pytest.approx(11.0 / 12.0)
    assert (scores['A']['taken_for'], scores['A']['share'], scores['A']['examples']) == (1, 1.0, 3)
    # B: entropies 0.15, 0.05 beat 1 and 0 of four: 1 / 8; MI 0.05, 0.01 beat 1 and 1: 2 / 8.
    assert scores['B']['auroc_entropy'] == pytest.approx(1.0 / 8.0)
    assert scores['B']['auroc_mi'] == pytest.approx(2.0 / 8.0)
    assert (scores['B']['taken_for'], scores['B']['share']) == (0, 1.0)


@pytest.mark.parametrize('folder,error,message', [
    ('missing', DataError, "{}: no such directory (--ood-data-dir, dataset 'mnist')"),
    ('small', ConfigError, "{}: examples of shape (27, 28, 1), MNIST's are (28, 28, 1)"),
])
def test_a_bad_folder_is_refused_before_any_training(tmp_path, folder, error, message):
    mnist_fixture(str(tmp_path / 'mnist'))
    mnist_fixture(str(tmp_path / 'other'), seed=1)  # a good folder first
    os.mkdir(str(tmp_path / 'small'))
    write_idx(str(tmp_path / 'small' / 't10k-images-idx3-ubyte.gz'), np.zeros((3, 27, 28)), 2051)
    lines, path = [], str(tmp_path / folder)
    with pytest.raises(error, match='^%s$' % re.escape(message.format(path))):
        ood.reproduce_ood(str(tmp_path / 'mnist'), str(tmp_path / 'out'), lines.append,
                          ood_dirs=[str(tmp_path / 'other'), path], epochs=1)
    assert lines == [] and not os.path.exists(str(tmp_path / 'out' / 'run'))


def test_folders_named_like_a_builtin_kind_or_each_other_keep_every_set(tmp_path, monkeypatch):
    mnist_fixture(str(tmp_path / 'mnist'))
    mnist_fixture(str(tmp_path / 'letters'), seed=1)
    monkeypatch.chdir(str(tmp_path))
    record = ood.reproduce_ood('mnist', 'out', lambda line: None,
                               ood_dirs=['letters', './letters'], epochs=1)
    assert 'by_letter' in record['sets']['letters']  # the built-in set, not the folder
    here = str(tmp_path / 'letters')
    assert record['sets'][here]['examples'] == record['sets'][here + ' #2']['examples'] == 20
    assert len(record['sets']) == len(data.ALL_KINDS) + 2
    assert record['sets']['letters']['faces'] == list(glyphs.FONT_FILES)


def test_a_finished_run_is_scored_with_the_weights_its_metrics_describe(tmp_path):
    from tfbnn.cli.reproduce import main
    from tfbnn.cli.train import main as train
    mnist = mnist_fixture(str(tmp_path / 'mnist'))
    run_dir = str(tmp_path / 'run')
    # Early stopping keeps best/: its weights, not the last ones, made metrics.json.
    assert train(['--dataset', 'mnist', '--data-dir', mnist, '--epochs', '3', '--hidden', '8',
                  '--eval-samples', '2', '--progress', 'never', '--validation-size', '10',
                  '--validate-every', '1', '--output-dir', run_dir]) == 0
    best = read_json(os.path.join(run_dir, 'best', 'best.json'))['checkpoint']
    again = ood.reproduce_ood(None, str(tmp_path / 'b'), lambda line: None, run_dir=run_dir)
    assert again['checkpoint'] == os.path.basename(best)
    assert again['run_dir'] == run_dir and again['protocol']['data_dir'] == mnist  # the run's own
    assert again['metrics'] == read_json(os.path.join(run_dir, 'metrics.json'))
    assert set(again['sigma_quantiles']) == {'model/fc1', 'model/output'}
    assert sorted(again['sets']) == sorted(data.ALL_KINDS)
    assert not os.path.exists(str(tmp_path / 'b' / 'run'))  # scored, not trained again
    # The draws are seeded: the same checkpoint scored again gives the same AUROCs.
    twice = ood.reproduce_ood(None, str(tmp_path / 'b2'), lambda line: None, run_dir=run_dir)
    assert twice['sets'] == again['sets']
    # From the command line: a record of its own, named after the run, never the mnist-ood one.
    assert main(['--out', str(tmp_path / 'c'), 'mnist-ood', '--run', run_dir]) == 0
    assert read_json(str(tmp_path / 'c' / 'ood_runs' / 'run' / 'ood.json'))['sets']
    assert not os.path.exists(str(tmp_path / 'c' / 'ood'))
    # Scoring it again is fine; another run of the same name is refused, as are runs of other
    # data and bad epochs, each in one line.
    assert main(['--out', str(tmp_path / 'c'), 'mnist-ood', '--run', run_dir]) == 0
    assert train(['--dataset', 'digits', '--epochs', '1', '--hidden', '8', '--eval-samples', '2',
                  '--progress', 'never', '--output-dir', str(tmp_path / 'digits' / 'run')]) == 0
    with pytest.raises(ConfigError, match='holds the scores of another run'):
        ood.reproduce_ood(mnist, str(tmp_path / 'c' / 'ood_runs' / 'run'), print,
                          run_dir=str(tmp_path / 'digits' / 'run'))
    with pytest.raises(ConfigError, match="a run on dataset 'digits'; mnist-ood scores MNIST"):
        ood.reproduce_ood(mnist, str(tmp_path / 'd'), print,
                          run_dir=str(tmp_path / 'digits' / 'run'))
    with pytest.raises(ConfigError, match='--epochs must be >= 1, got 0'):
        ood.reproduce_ood(mnist, str(tmp_path / 'e'), print, epochs=0)
    with pytest.raises(ConfigError, match='give --data-dir'):
        ood.reproduce_ood(None, str(tmp_path / 'e'), print)


def test_a_run_with_outliers_shows_them_beside_the_sets(tmp_path, monkeypatch):
    from tfbnn.cli.train import main as train
    from tfbnn.reproduce import figures
    from tfbnn.run_config import RunConfig
    from tfbnn.training import outlier_data
    mnist = mnist_fixture(str(tmp_path / 'mnist'))
    run_dir = str(tmp_path / 'run')
    assert train(['--dataset', 'mnist', '--data-dir', mnist, '--epochs', '1', '--hidden', '8',
                  '--eval-samples', '2', '--progress', 'never', '--outlier-exposure', 'strokes',
                  '--outlier-weight', '0.5', '--output-dir', run_dir]) == 0
    shown, draw = [], figures.image_rows
    monkeypatch.setattr(figures, 'image_rows', lambda rows, path: shown.extend(rows) or draw(
        rows, path))
    record = ood.reproduce_ood(None, str(tmp_path / 'b'), lambda line: None, run_dir=run_dir)
    assert os.path.getsize(str(tmp_path / 'b' / ood.FIGURE)) > 1000
    assert record['protocol']['outlier_exposure'] == 'strokes'
    assert record['protocol']['outlier_weight'] == 0.5
    label, images = shown[-1]
    assert label == 'the outliers it trained on (--outlier-exposure strokes; not scored)'
    # The first twelve of the run's own bank.
    dataset = data.load_mnist(mnist)
    bank = outlier_data.outlier_bank(RunConfig(outlier_exposure='strokes'), dataset)
    np.testing.assert_array_equal(images, bank[:12])
    assert len(shown) == 1 + len(data.ALL_KINDS) + 1
